--[[
  Claims the best claimable task from the caller's queues: first promotes due
  retries and reclaims expired leases (bounded batch), then pops the head of the
  first non-empty queue in the order given (zset score = priority * 1e12 + seq).

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    ARGV[1] key prefix (task:<id> is computed from it; Cluster needs a hash tag)
    ARGV[2] now (ms)
    ARGV[3] machine id
    ARGV[4] lease length (ms)
    ARGV[5] fencing token for this attempt (random, from the client)
    ARGV[6] batch limit for promotion and reclaim
    ARGV[7] number of queues q
    ARGV[8..7+q] queue names in order of preference

  Output:
    {0, {task hash as field, value, ...}}  claimed: status running, attempts + 1
    {0}                                     nothing claimable
    {5, queue}                              UNKNOWN_QUEUE
]]
-- @include codes.lua
-- @include core_keys.lua
-- @include task_keys.lua
-- @include enqueue.lua
-- @include dependents.lua
-- @include transitions.lua

local k = core_keys(KEYS)
local prefix, now, machine, lease_ms, token = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5]
local limit, q = tonumber(ARGV[6]), tonumber(ARGV[7])

for i = 1, q do
  if not k.queue[ARGV[7 + i]] then
    return {UNKNOWN_QUEUE, ARGV[7 + i]}
  end
end

promote_delayed(k, prefix, now, limit)
reclaim_expired(k, prefix, now, limit)

for i = 1, q do
  local head = redis.call('ZPOPMIN', k.queue[ARGV[7 + i]])
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
