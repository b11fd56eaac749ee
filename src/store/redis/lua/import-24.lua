--[[
  Installs merged task states for folder sync (TaskStore::import_tasks), each item
  behind its compare-and-set guard, and rebuilds every index the status implies:
  the status set; pending -> the delayed zset when not_before is in the future, else
  waiting while a dependency is not completed (missing ids count: they may arrive in a
  later import), else the queue with a new sequence number; running -> the leases zset
  with a fresh token no worker holds; completed -> finished/completions and the cache
  entry. Dependents already in the store get their unmet count recomputed from their
  dependency list (not trusted as a counter, as ids may arrive in any order), and are
  queued, blocked or unblocked as the new state requires. A pending item whose
  dependencies close a cycle is installed blocked, the reason naming the cycle.

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    ARGV[1] key prefix (task:/dependents:/cache: are computed; Cluster needs a hash tag)
    ARGV[2] now (ms)
    ARGV[3] caching enabled: '1' | '0'
    ARGV[4] number of items n
    ARGV[5..] 30 fields per item:
       1 id, 2 expected status ('' = only if absent), 3 expected attempts,
       4 fresh token (for running), 5 queue, 6 priority (0..4), 7 task_type,
       8 cache_key, 9 max_attempts, 10 depends_on (space-separated),
       11 definition JSON without config, 12 config JSON, 13 status, 14 attempts,
       15 machine_id, 16 progress, 17 progress_message, 18 error,
       19 result JSON ('' = none), 20 cached '1'|'0', 21 blocked_reason,
       22 enqueued_at_ms, 23 started_at_ms, 24 finished_at_ms, 25 lease_expires_ms,
       26 not_before_ms, 27 trimmed '1'|'0', 28 wall, 29 cpu, 30 gpu seconds

  Output:
    {0, installed count}
    {5, task_id, queue}   UNKNOWN_QUEUE: nothing written
]]
-- @include codes.lua
-- @include core_keys.lua
-- @include task_keys.lua
-- @include enqueue.lua
-- @include dependents.lua

local k = core_keys(KEYS)
local prefix, now, caching, n = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1', tonumber(ARGV[4])
local F = 30
local function arg(i, f)
  return ARGV[4 + (i - 1) * F + f]
end

-- Validate the whole call before the first write: scripts do not roll back.
for i = 1, n do
  if not k.queue[arg(i, 5)] then
    return {UNKNOWN_QUEUE, arg(i, 1), arg(i, 5)}
  end
  if not k.status[arg(i, 13)] then
    return redis.error_reply('ERR import: task ' .. arg(i, 1) .. ' has unknown status ' .. arg(i, 13))
  end
end

local woken = {}

local function unmet_of(deps)
  local unmet = 0
  for dep in string.gmatch(deps, '%S+') do
    if redis.call('HGET', task_key(prefix, dep), 'status') ~= 'completed' then
      unmet = unmet + 1
    end
  end
  return unmet
end

-- A pending task with no unmet dependency: parked until not_before, else queued.
local function make_ready(tk, id, queue, prio, not_before)
  if not_before > now then
    redis.call('ZADD', k.delayed, int(not_before), id)
  else
    enqueue_quiet(k, tk, id, now, queue, prio)
  end
  woken[queue] = true
end

-- The task `id` changed status: each dependent's unmet count is recomputed, and a
-- pending one enters or leaves the queue/delayed index to match.
local function refresh_dependents(id)
  for _, d in ipairs(redis.call('SMEMBERS', dependents_key(prefix, id))) do
    local dk = task_key(prefix, d)
    local f = redis.call('HMGET', dk, 'status', 'deps', 'queue', 'prio', 'not_before_ms')
    if f[1] then
      local unmet = unmet_of(f[2] or '')
      redis.call('HSET', dk, 'unmet', unmet)
      if f[1] == 'pending' then
        local queued = redis.call('ZSCORE', k.queue[f[3]], d)
        local delayed = redis.call('ZSCORE', k.delayed, d)
        if unmet > 0 then
          redis.call('ZREM', k.queue[f[3]], d)
          redis.call('ZREM', k.delayed, d)
        elseif not queued and not delayed then
          make_ready(dk, d, f[3], f[4], tonumber(f[5] or '0'))
        end
      end
    end
  end
end

-- Lua's '<' follows the server's collation locale; the cycle's names sort bytewise,
-- as the SQLite store sorts them, so replicas write the same reason.
local function bytewise_less(a, b)
  for p = 1, math.min(#a, #b) do
    local x, y = string.byte(a, p), string.byte(b, p)
    if x ~= y then
      return x < y
    end
  end
  return #a < #b
end

local CYCLE = 'dependency cycle among '
local function is_cycle_reason(reason)
  return reason and string.sub(reason, 1, #CYCLE) == CYCLE
end

-- Merged definitions can close a dependency cycle that add never sees (docs/sync.md,
-- "Dependency cycles"). When `id` with dependencies `deps` lies on a cycle among the
-- tasks here that are not completed: the reason naming its strongly connected
-- component (sorted bytewise, the first 8 names, as sqlite_store.cpp writes it) and
-- the component. Else, when a dependency is blocked by a cycle, that reason (the
-- bytewise least) and {id}. Else nil.
local function cycle_reason(id, deps)
  local forward, stack, closes = {}, {}, false
  for dep in string.gmatch(deps, '%S+') do
    stack[#stack + 1] = dep
  end
  while #stack > 0 do
    local x = table.remove(stack)
    if x == id then
      closes = true
    elseif forward[x] == nil then
      local f = redis.call('HMGET', task_key(prefix, x), 'status', 'deps')
      forward[x] = f[1] ~= false and f[1] ~= 'completed'
      if forward[x] then
        for dep in string.gmatch(f[2] or '', '%S+') do
          stack[#stack + 1] = dep
        end
      end
    end
  end
  if not closes then
    local behind = nil
    for dep in string.gmatch(deps, '%S+') do
      local f = redis.call('HMGET', task_key(prefix, dep), 'status', 'blocked_reason')
      if f[1] == 'blocked' and is_cycle_reason(f[2]) and (not behind or bytewise_less(f[2], behind)) then
        behind = f[2]
      end
    end
    return behind, {id}
  end
  local members, seen = {id}, {[id] = true}
  stack = {id}
  while #stack > 0 do
    local x = table.remove(stack)
    for _, d in ipairs(redis.call('SMEMBERS', dependents_key(prefix, x))) do
      if forward[d] and not seen[d] then
        seen[d] = true
        members[#members + 1] = d
        stack[#stack + 1] = d
      end
    end
  end
  table.sort(members, bytewise_less)
  local shown = {}
  for j = 1, math.min(#members, 8) do
    shown[j] = members[j]
  end
  local reason = 'dependency cycle among ' .. table.concat(shown, ', ')
  if #members > 8 then
    reason = reason .. ' and ' .. (#members - 8) .. ' more'
  end
  return reason, members
end

-- The cycle's tasks and everything behind them (transitively) that is pending or
-- blocked by a smaller cycle take `reason`: a cycle that grows as tasks arrive ends
-- with one reason throughout, as if its tasks had come in one call.
local function block_cycle(members, reason)
  local seen, stack = {}, {}
  local function block(x)
    local xk = task_key(prefix, x)
    local f = redis.call('HMGET', xk, 'status', 'blocked_reason', 'queue')
    if f[1] == 'pending' then
      redis.call('ZREM', k.queue[f[3]], x)
      redis.call('ZREM', k.delayed, x)
      redis.call('SMOVE', k.status.pending, k.status.blocked, x)
      redis.call('HSET', xk, 'status', 'blocked', 'blocked_reason', reason)
      return true
    elseif f[1] == 'blocked' and is_cycle_reason(f[2]) then
      redis.call('HSET', xk, 'blocked_reason', reason)
      return true
    end
    return false
  end
  for _, m in ipairs(members) do
    seen[m] = true
    block(m)
    stack[#stack + 1] = m
  end
  while #stack > 0 do
    local x = table.remove(stack)
    for _, d in ipairs(redis.call('SMEMBERS', dependents_key(prefix, x))) do
      if not seen[d] then
        seen[d] = true
        if block(d) then
          stack[#stack + 1] = d
        end
      end
    end
  end
end

local function install(i)
  local id = arg(i, 1)
  local tk = task_key(prefix, id)
  local exists = redis.call('EXISTS', tk) == 1
  local old = redis.call('HMGET', tk, 'status', 'attempts', 'queue', 'deps', 'order')
  local expected = arg(i, 2)
  if expected == '' then
    if exists then
      return false
    end
  elseif not exists or old[1] ~= expected or tonumber(old[2] or '0') ~= tonumber(arg(i, 3)) then
    return false
  end

  -- Take the old state out of every index; the hash is rewritten whole.
  local order = old[5]
  if exists then
    if old[1] and k.status[old[1]] then
      redis.call('SREM', k.status[old[1]], id)
    end
    if old[3] and k.queue[old[3]] then
      redis.call('ZREM', k.queue[old[3]], id)
    end
    redis.call('ZREM', k.delayed, id)
    redis.call('ZREM', k.leases, id)
    redis.call('ZREM', k.finished, id)
    redis.call('ZREM', k.completions, id)
    for dep in string.gmatch(old[4] or '', '%S+') do
      redis.call('SREM', dependents_key(prefix, dep), id)
    end
    redis.call('DEL', tk)
  end
  if not order then
    order = redis.call('HINCRBY', k.stats, 'added', 1)
    redis.call('ZADD', k.tasks, order, id)
  end

  local queue, prio, deps, status = arg(i, 5), arg(i, 6), arg(i, 10), arg(i, 13)
  local trimmed = arg(i, 27) == '1'
  local unmet = unmet_of(deps)
  for dep in string.gmatch(deps, '%S+') do
    redis.call('SADD', dependents_key(prefix, dep), id)
  end
  local blocked_reason, cycle = arg(i, 21), nil
  if status == 'pending' then
    local reason, members = cycle_reason(id, deps)
    if reason then
      status, blocked_reason, cycle = 'blocked', reason, members
    end
  end
  local token = status == 'running' and arg(i, 4) or ''
  local fields = {'def', arg(i, 11), 'queue', queue, 'prio', prio, 'type', arg(i, 7), 'ck', arg(i, 8),
                  'max_attempts', arg(i, 9), 'deps', deps, 'order', order, 'unmet', unmet, 'token', token,
                  'status', status, 'attempts', arg(i, 14), 'machine_id', arg(i, 15), 'progress', arg(i, 16),
                  'progress_message', arg(i, 17), 'error', arg(i, 18), 'cached', arg(i, 20),
                  'blocked_reason', blocked_reason, 'enqueued_at_ms', arg(i, 22), 'started_at_ms', arg(i, 23),
                  'finished_at_ms', arg(i, 24), 'lease_expires_ms', arg(i, 25), 'not_before_ms', arg(i, 26),
                  'trimmed', arg(i, 27), 'wall_seconds', arg(i, 28), 'cpu_seconds', arg(i, 29),
                  'gpu_seconds', arg(i, 30)}
  if not trimmed then
    table.insert(fields, 'config')
    table.insert(fields, arg(i, 12))
    if arg(i, 19) ~= '' then
      table.insert(fields, 'result')
      table.insert(fields, arg(i, 19))
    end
  end
  redis.call('HSET', tk, unpack(fields))
  redis.call('SADD', k.status[status], id)

  local finished_at = tonumber(arg(i, 24))
  if status == 'pending' then
    if unmet == 0 then
      make_ready(tk, id, queue, prio, tonumber(arg(i, 26)))
    end
  elseif status == 'running' then
    redis.call('ZADD', k.leases, arg(i, 25), id)
  elseif status == 'completed' or status == 'failed' or status == 'cancelled' then
    if not trimmed then
      redis.call('ZADD', k.finished, int(finished_at), id)
    end
  end
  if status == 'completed' then
    if finished_at >= now - 3600000 then
      redis.call('ZADD', k.completions, int(finished_at), id)
      redis.call('ZREMRANGEBYSCORE', k.completions, '-inf', '(' .. int(now - 3600000))
    end
    -- A cache entry whose source is still completed is kept (the first result wins,
    -- as on the machine that computed it).
    if caching and arg(i, 20) ~= '1' and not trimmed then
      local ck = cache_entry_key(prefix, arg(i, 7), arg(i, 8))
      local source = redis.call('GET', ck)
      if not source or redis.call('HGET', task_key(prefix, source), 'status') ~= 'completed' then
        redis.call('SET', ck, id)
      end
    end
  end

  refresh_dependents(id)
  if status == 'failed' or status == 'cancelled' then
    block_dependents(k, prefix, id, 'dependency ' .. id .. ' ' .. status)
  elseif cycle then
    block_cycle(cycle, blocked_reason)
  elseif status == 'blocked' then
    block_dependents(k, prefix, id, blocked_reason ~= '' and blocked_reason or ('dependency ' .. id .. ' blocked'))
  elseif old[1] == 'failed' or old[1] == 'cancelled' or old[1] == 'blocked' then
    unblock_dependents(k, prefix, id, now)
  end
  return true
end

local installed = 0
for i = 1, n do
  if install(i) then
    installed = installed + 1
  end
end
for queue in pairs(woken) do
  wake_queue(k, queue)
end
return {OK, installed}
