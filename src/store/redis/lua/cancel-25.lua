--[[
  Cancels a pending or blocked task (it leaves the queue index) or a running one
  (the lease ends; the holder's next renew answers CANCELLED). Dependents become
  blocked transitively.

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    KEYS[25] task:<id> hash
    ARGV[1] key prefix (dependents:/task: are computed; Cluster needs a hash tag)
    ARGV[2] id
    ARGV[3] now (ms)

  Output:
    1 cancelled, 0 already finished (completed, failed, cancelled) or unknown id
]]
-- @include task_keys.lua
-- @include core_keys.lua
-- @include enqueue.lua
-- @include dependents.lua

local k = core_keys(KEYS)
local tk = KEYS[25]
local prefix, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local f = redis.call('HMGET', tk, 'status', 'queue')
local status = f[1]
if status == 'pending' then
  redis.call('ZREM', k.queue[f[2]], id)
  redis.call('ZREM', k.delayed, id)
elseif status == 'running' then
  redis.call('ZREM', k.leases, id)
  redis.call('HSET', tk, 'token', '', 'lease_expires_ms', 0)
elseif status ~= 'blocked' then
  return 0
end
redis.call('HSET', tk, 'status', 'cancelled', 'finished_at_ms', int(now))
redis.call('SMOVE', k.status[status], k.status.cancelled, id)
redis.call('ZADD', k.finished, int(now), id)
block_dependents(k, prefix, id, 'dependency ' .. id .. ' cancelled')
return 1
