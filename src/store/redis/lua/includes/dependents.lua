--[[
  Dependency transitions shared by complete, fail, cancel, requeue and reclaim.
  Requires task_keys.lua and enqueue.lua. Every function takes what it touches as
  parameters (no reliance on the including script's locals).
  Task hash fields used: status, deps (space-separated ids), unmet (number of deps
  not completed), blocked_reason.
]]

-- A task completed: each dependent has one fewer unmet dependency; a pending one
-- that reaches zero enters its queue. Blocked or cancelled dependents keep their
-- count current for a later requeue.
local function release_dependents(k, prefix, id, now)
  local deps = redis.call('SMEMBERS', dependents_key(prefix, id))
  for _, d in ipairs(deps) do
    local dk = task_key(prefix, d)
    local left = redis.call('HINCRBY', dk, 'unmet', -1)
    if left == 0 and redis.call('HGET', dk, 'status') == 'pending' then
      enqueue(k, dk, d, now)
    end
  end
end

-- Depth first over the tasks that (transitively) wait on `root`: `visit(d, dk)` runs
-- for each dependent whose status is `status`, and the walk goes on through it when
-- visit returns true.
local function walk_dependents(prefix, root, status, visit)
  local stack = {root}
  while #stack > 0 do
    local id = table.remove(stack)
    for _, d in ipairs(redis.call('SMEMBERS', dependents_key(prefix, id))) do
      local dk = task_key(prefix, d)
      if redis.call('HGET', dk, 'status') == status and visit(d, dk) then
        table.insert(stack, d)
      end
    end
  end
end

-- A task failed terminally or was cancelled: its waiting dependents, and theirs in
-- turn, become blocked with `reason` (which names the root task).
local function block_dependents(k, prefix, root, reason)
  walk_dependents(prefix, root, 'pending', function(d, dk)
    local queue = redis.call('HGET', dk, 'queue')
    redis.call('ZREM', k.queue[queue], d)
    redis.call('ZREM', k.delayed, d)
    redis.call('SMOVE', k.status.pending, k.status.blocked, d)
    redis.call('HSET', dk, 'status', 'blocked', 'blocked_reason', reason)
    return true
  end)
end

-- Why a task must stay blocked: the first dependency that is failed, cancelled or
-- blocked, as a reason string; nil when none is.
local function blocking_reason(prefix, tk)
  local deps = redis.call('HGET', tk, 'deps') or ''
  for dep in string.gmatch(deps, '%S+') do
    local f = redis.call('HMGET', task_key(prefix, dep), 'status', 'blocked_reason')
    if f[1] == 'failed' or f[1] == 'cancelled' then
      return 'dependency ' .. dep .. ' ' .. f[1]
    elseif f[1] == 'blocked' then
      return f[2]
    end
  end
  return nil
end

-- A task came back (requeue): its blocked dependents, and theirs in turn, return to
-- waiting unless another dependency still blocks them.
local function unblock_dependents(k, prefix, root, now)
  walk_dependents(prefix, root, 'blocked', function(d, dk)
    local reason = blocking_reason(prefix, dk)
    if reason then
      redis.call('HSET', dk, 'blocked_reason', reason)
      return false
    end
    redis.call('SMOVE', k.status.blocked, k.status.pending, d)
    redis.call('HSET', dk, 'status', 'pending', 'blocked_reason', '')
    if tonumber(redis.call('HGET', dk, 'unmet') or '0') <= 0 then
      enqueue(k, dk, d, now)
    end
    return true
  end)
end
