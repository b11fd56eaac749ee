--[[
  Claims the best claimable task from the given queues (claim and complete-claim):
  first promotes due retries and reclaims expired leases (bounded batch), then pops
  the head of the first non-empty queue in the order given (zset score = priority *
  1e12 + seq). Requires codes.lua, core_keys.lua, task_keys.lua, enqueue.lua,
  dependents.lua and transitions.lua.
  Input:  k (core_keys), prefix, now (ms), machine id, lease (ms), fencing token for
          this attempt, batch limit, queues (a Lua array, in order of preference)
  Output: {OK, {task hash as field, value, ...}}  claimed: status running, attempts + 1
          {OK}                                     nothing claimable
          {UNKNOWN_QUEUE, queue}
]]
local function claim_next(k, prefix, now, machine, lease_ms, token, limit, queues)
  for _, queue in ipairs(queues) do
    if not k.queue[queue] then
      return {UNKNOWN_QUEUE, queue}
    end
  end

  promote_delayed(k, prefix, now, limit)
  reclaim_expired(k, prefix, now, limit)

  for _, queue in ipairs(queues) do
    local head = redis.call('ZPOPMIN', k.queue[queue])
    if head[1] then
      local id = head[1]
      local tk = task_key(prefix, id)
      local expires = now + lease_ms
      redis.call('HINCRBY', tk, 'attempts', 1)
      redis.call('HSET', tk, 'status', 'running', 'machine_id', machine, 'started_at_ms', int(now),
                 'lease_expires_ms', int(expires), 'token', token, 'progress', 0)
      redis.call('SMOVE', k.status.pending, k.status.running, id)
      redis.call('ZADD', k.leases, int(expires), id)
      return {OK, redis.call('HGETALL', tk)}
    end
  end
  return {OK}
end
