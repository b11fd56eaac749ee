--[[
  Extends the lease of a running task and records progress, for the current holder.

  Input:
    KEYS[1] leases zset
    KEYS[2] task:<id> hash
    ARGV[1] id
    ARGV[2] token
    ARGV[3] now (ms)
    ARGV[4] lease length (ms)
    ARGV[5] progress 0-100, or '' to keep
    ARGV[6] '1' when ARGV[7] carries a progress message
    ARGV[7] progress message

  Output:
    0 OK, 1 NOT_FOUND, 2 LEASE_LOST (token not current), 3 CANCELLED
]]
-- @include codes.lua
-- @include fencing.lua
-- @include task_keys.lua

local f = redis.call('HMGET', KEYS[2], 'status', 'token')
local problem = lease_problem(f[1], f[2], ARGV[2])
if problem then
  return problem
end
local expires = tonumber(ARGV[3]) + tonumber(ARGV[4])
redis.call('HSET', KEYS[2], 'lease_expires_ms', int(expires))
redis.call('ZADD', KEYS[1], int(expires), ARGV[1])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[2], 'progress', ARGV[5])
end
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[2], 'progress_message', ARGV[7])
end
return OK
