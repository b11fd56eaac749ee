--[[
  Running-task transitions shared by fail, claim and reclaim. Requires
  task_keys.lua, enqueue.lua and dependents.lua.
]]

-- Terminal failure of a running task: error kept, lease ended, dependents blocked.
local function mark_failed(k, prefix, tk, id, now, err)
  redis.call('HSET', tk, 'status', 'failed', 'error', err, 'finished_at_ms', int(now), 'token', '',
             'lease_expires_ms', 0)
  redis.call('ZREM', k.leases, id)
  redis.call('SMOVE', k.status.running, k.status.failed, id)
  redis.call('ZADD', k.finished, int(now), id)
  block_dependents(k, prefix, id, 'dependency ' .. id .. ' failed')
end

-- Retries whose backoff has passed enter their queue (bounded batch per call).
local function promote_delayed(k, prefix, now, limit)
  local due = redis.call('ZRANGEBYSCORE', k.delayed, '-inf', int(now), 'LIMIT', 0, limit)
  for _, id in ipairs(due) do
    redis.call('ZREM', k.delayed, id)
    enqueue(k, task_key(prefix, id), id, now)
  end
  return #due
end

-- Running tasks whose lease expired (expiry <= now: the holder stopped renewing) go
-- back to their queue, or fail when out of attempts. Returns how many.
local function reclaim_expired(k, prefix, now, limit)
  local expired = redis.call('ZRANGEBYSCORE', k.leases, '-inf', int(now), 'LIMIT', 0, limit)
  for _, id in ipairs(expired) do
    local tk = task_key(prefix, id)
    local f = redis.call('HMGET', tk, 'attempts', 'max_attempts')
    local attempts, max_attempts = tonumber(f[1] or '0'), tonumber(f[2] or '1')
    if attempts >= max_attempts then
      mark_failed(k, prefix, tk, id, now,
                  'lease expired after ' .. attempts .. ' attempt(s): the worker stopped renewing')
    else
      redis.call('ZREM', k.leases, id)
      redis.call('SMOVE', k.status.running, k.status.pending, id)
      redis.call('HSET', tk, 'status', 'pending', 'token', '', 'lease_expires_ms', 0)
      enqueue(k, tk, id, now)
    end
  end
  return #expired
end
