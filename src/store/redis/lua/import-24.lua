--[[
  Installs merged task states for folder sync (TaskStore::import_tasks), each item
  behind its compare-and-set guard, and rebuilds every index the status implies:
  the status set; pending -> the delayed zset when not_before is in the future, else
  waiting while a dependency is not completed (missing ids count: they may arrive in a
  later import), else the queue with a new sequence number; running -> the leases zset
  with a fresh token no worker holds; completed -> finished/completions and the cache
  entry. Dependents already in the store get their unmet count recomputed from their
  dependency list (not trusted as a counter, as ids may arrive in any order), and are
  queued, blocked or unblocked as the new state requires.

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
  local token = status == 'running' and arg(i, 4) or ''
  local fields = {'def', arg(i, 11), 'queue', queue, 'prio', prio, 'type', arg(i, 7), 'ck', arg(i, 8),
                  'max_attempts', arg(i, 9), 'deps', deps, 'order', order, 'unmet', unmet, 'token', token,
                  'status', status, 'attempts', arg(i, 14), 'machine_id', arg(i, 15), 'progress', arg(i, 16),
                  'progress_message', arg(i, 17), 'error', arg(i, 18), 'cached', arg(i, 20),
                  'blocked_reason', arg(i, 21), 'enqueued_at_ms', arg(i, 22), 'started_at_ms', arg(i, 23),
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
  elseif status == 'blocked' then
    local reason = arg(i, 21)
    block_dependents(k, prefix, id, reason ~= '' and reason or ('dependency ' .. id .. ' blocked'))
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
