--[[
  Hands an unfinished task back without counting the attempt (attempts - 1).
  delay 0: back in its queue at once; else parked in the delayed zset until
  now + delay. The reason is kept in blocked_reason and progress_message.

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    KEYS[25] task:<id> hash
    ARGV[1] key prefix
    ARGV[2] id
    ARGV[3] token
    ARGV[4] now (ms)
    ARGV[5] delay (ms)
    ARGV[6] reason ('' keeps none)

  Output:
    0 OK, 1 NOT_FOUND, 2 LEASE_LOST, 3 CANCELLED
]]
-- @include codes.lua
-- @include fencing.lua
-- @include core_keys.lua
-- @include task_keys.lua
-- @include enqueue.lua

local k = core_keys(KEYS)
local tk = KEYS[25]
local id, token, now, delay = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local f = redis.call('HMGET', tk, 'status', 'token', 'queue')
local problem = lease_problem(f[1], f[2], token)
if problem then
  return problem
end
redis.call('HINCRBY', tk, 'attempts', -1)
redis.call('HSET', tk, 'status', 'pending', 'token', '', 'lease_expires_ms', 0, 'blocked_reason', ARGV[6],
           'progress_message', ARGV[6], 'not_before_ms', int(now + delay))
redis.call('ZREM', k.leases, id)
redis.call('SMOVE', k.status.running, k.status.pending, id)
if delay > 0 then
  redis.call('ZADD', k.delayed, int(now + delay), id)
  wake_queue(k, f[3])
else
  enqueue(k, tk, id, now)
end
return OK
