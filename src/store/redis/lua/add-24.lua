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
    {6, task_id, cycle}        DEPENDENCY_CYCLE: the task's dependencies lead back to a
                               task (imported by folder sync) that already waits on its
                               id; cycle is "a -> b -> a"; nothing written
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

-- Folder sync installs tasks before their dependencies exist, so tasks may already
-- wait on an id being added (dependents:<id>). When the new task's dependencies lead
-- back to one of them, adding it would close a cycle that the batch check in
-- redis_store.cpp cannot see. Breadth-first, so the cycle named is a shortest one;
-- completed tasks wait for nothing and are not followed (as import-24.lua). Batch
-- tasks validated before this one are followed through `batch_deps`.
local function cycle_through_waiting(id, deps, batch_deps)
  local reached_from, queue, head = {}, {}, 1
  for dep in string.gmatch(deps, '%S+') do
    if not reached_from[dep] then
      reached_from[dep] = id
      queue[#queue + 1] = dep
    end
  end
  while head <= #queue do
    local at = queue[head]
    head = head + 1
    local at_deps = batch_deps[at]
    if not at_deps then
      local f = redis.call('HMGET', task_key(prefix, at), 'status', 'deps')
      if f[1] and f[1] ~= 'completed' then
        at_deps = f[2] or ''
      end
    end
    for dep in string.gmatch(at_deps or '', '%S+') do
      if dep == id then
        local back = {at}
        while back[#back] ~= id do
          back[#back + 1] = reached_from[back[#back]]
        end
        local names = {}
        for j = #back, 1, -1 do
          names[#names + 1] = back[j]
        end
        names[#names + 1] = id
        return table.concat(names, ' -> ')
      end
      if not reached_from[dep] then
        reached_from[dep] = at
        queue[#queue + 1] = dep
      end
    end
  end
  return nil
end

-- Validate the whole batch before the first write: scripts do not roll back.
local known, existing, batch_deps = {}, {}, {}
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
    if arg(i, 7) ~= '' and redis.call('EXISTS', dependents_key(prefix, id)) == 1 then
      local cycle = cycle_through_waiting(id, arg(i, 7), batch_deps)
      if cycle then
        return {DEPENDENCY_CYCLE, id, cycle}
      end
    end
    batch_deps[id] = arg(i, 7)
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
