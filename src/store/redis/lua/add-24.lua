--[[
  Adds a batch of tasks atomically (one call per TaskStore::add).
  Validates every dependency first and writes nothing if one is missing.
  An existing id is left untouched. With caching on, a task whose type and cache key
  match a completed task's (cache:<type>:<hash>) is stored completed with that result,
  and tasks already waiting on its id (imported before it by folder sync) are released.

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    ARGV[1] key prefix (computed keys task:/dependents:/cache: use it; Cluster needs a hash tag)
    ARGV[2] now (ms)
    ARGV[3] caching enabled: '1' | '0'
    ARGV[4] number of tasks n
    ARGV[5..] 9 fields per task: id, queue, priority (0 critical .. 4 background),
              task_type, cache_key, max_attempts, depends_on (space-separated),
              definition JSON without the fields above and defaults (redis_store.cpp
              stored_definition), config JSON

  Output:
    {0, {outcome per task}}    outcome 0 added, 1 already_exists, 2 cached
    {4, task_id, missing_id}   MISSING_DEPENDENCY: nothing written
    {5, task_id, queue}        UNKNOWN_QUEUE: nothing written
]]
-- @include codes.lua
-- @include core_keys.lua
-- @include task_keys.lua
-- @include enqueue.lua
-- @include dependents.lua

local k = core_keys(KEYS)
local prefix, now, caching, n = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1', tonumber(ARGV[4])
local F = 9
local function arg(i, f)
  return ARGV[4 + (i - 1) * F + f]
end

-- Validate the whole batch before the first write: scripts do not roll back.
local known, existing = {}, {}
for i = 1, n do
  local id = arg(i, 1)
  if not known[id] and redis.call('EXISTS', task_key(prefix, id)) == 1 then
    existing[id] = true
  end
  if not known[id] and not existing[id] then
    if not k.queue[arg(i, 2)] then
      return {UNKNOWN_QUEUE, id, arg(i, 2)}
    end
    for dep in string.gmatch(arg(i, 7), '%S+') do
      if not known[dep] and redis.call('EXISTS', task_key(prefix, dep)) == 0 then
        return {MISSING_DEPENDENCY, id, dep}
      end
    end
  end
  known[id] = true
end

local outcomes = {}
local seen = {}
local woken = {}
for i = 1, n do
  local id = arg(i, 1)
  local tk = task_key(prefix, id)
  if seen[id] or existing[id] then
    outcomes[i] = 1
  else
    seen[id] = true
    local queue, prio, task_type, hash, deps = arg(i, 2), arg(i, 3), arg(i, 4), arg(i, 5), arg(i, 7)
    local order = redis.call('HINCRBY', k.stats, 'added', 1)
    redis.call('ZADD', k.tasks, order, id)
    local fields = {'id', id, 'def', arg(i, 8), 'config', arg(i, 9), 'queue', queue, 'prio', prio, 'type', task_type,
                    'ck', hash, 'max_attempts', arg(i, 6), 'deps', deps, 'attempts', 0, 'order', order}

    local cached_result = nil
    if caching then
      local source = redis.call('GET', cache_entry_key(prefix, task_type, hash))
      if source then
        local f = redis.call('HMGET', task_key(prefix, source), 'status', 'result')
        if f[1] == 'completed' and f[2] then
          cached_result = f[2]
        end
      end
    end

    if cached_result then
      for _, v in ipairs({'status', 'completed', 'result', cached_result, 'cached', 1, 'finished_at_ms', int(now),
                          'progress', 100, 'unmet', 0}) do
        table.insert(fields, v)
      end
      redis.call('HSET', tk, unpack(fields))
      redis.call('SADD', k.status.completed, id)
      redis.call('ZADD', k.finished, int(now), id)
      -- Tasks imported by folder sync may already wait on this id (dependents:<id>).
      release_dependents(k, prefix, id, now)
      outcomes[i] = 2
    else
      local unmet, reason = 0, nil
      for dep in string.gmatch(deps, '%S+') do
        local f = redis.call('HMGET', task_key(prefix, dep), 'status', 'blocked_reason')
        if f[1] ~= 'completed' then
          unmet = unmet + 1
        end
        if not reason then
          if f[1] == 'failed' or f[1] == 'cancelled' then
            reason = 'dependency ' .. dep .. ' ' .. f[1]
          elseif f[1] == 'blocked' then
            reason = f[2]
          end
        end
        redis.call('SADD', dependents_key(prefix, dep), id)
      end
      local status = reason and 'blocked' or 'pending'
      for _, v in ipairs({'unmet', unmet, 'status', status, 'blocked_reason', reason or ''}) do
        table.insert(fields, v)
      end
      redis.call('HSET', tk, unpack(fields))
      redis.call('SADD', k.status[status], id)
      if not reason and unmet == 0 then
        enqueue_quiet(k, tk, id, now, queue, prio)
        woken[queue] = (woken[queue] or 0) + 1
      end
      outcomes[i] = 0
    end
  end
end
for queue, n in pairs(woken) do
  wake_queue(k, queue, n)
end
return {OK, outcomes}
