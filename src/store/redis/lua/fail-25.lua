--[[
  Records a failed attempt of the current holder. Retryable and attempts <
  max_attempts: back to pending with not_before = now + min(max, base * 2^(attempts-1))
  * (1 + jitter), parked in the delayed zset until due. Otherwise terminal failed,
  and dependents are blocked transitively.

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    KEYS[25] task:<id> hash
    ARGV[1] key prefix (dependents:/task: are computed; Cluster needs a hash tag)
    ARGV[2] id
    ARGV[3] token
    ARGV[4] now (ms)
    ARGV[5] error text
    ARGV[6] retryable: '1' | '0'
    ARGV[7] retry base (ms), ARGV[8] retry max (ms)
    ARGV[9] jitter in [0, 0.25) drawn by the client

  Output:
    0 OK, 1 NOT_FOUND, 2 LEASE_LOST, 3 CANCELLED
]]
-- @include codes.lua
-- @include fencing.lua
-- @include core_keys.lua
-- @include task_keys.lua
-- @include enqueue.lua
-- @include dependents.lua
-- @include transitions.lua

local k = core_keys(KEYS)
local tk = KEYS[25]
local prefix, id, token, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local f = redis.call('HMGET', tk, 'status', 'token', 'attempts', 'max_attempts', 'queue')
local problem = lease_problem(f[1], f[2], token)
if problem then
  return problem
end
local attempts, max_attempts = tonumber(f[3]), tonumber(f[4])
if ARGV[6] == '1' and attempts < max_attempts then
  local delay = math.min(tonumber(ARGV[8]), tonumber(ARGV[7]) * 2 ^ (attempts - 1)) * (1 + tonumber(ARGV[9]))
  local not_before = now + math.floor(delay)
  redis.call('HSET', tk, 'status', 'pending', 'error', ARGV[5], 'token', '', 'lease_expires_ms', 0,
             'not_before_ms', int(not_before))
  redis.call('ZREM', k.leases, id)
  redis.call('SMOVE', k.status.running, k.status.pending, id)
  redis.call('ZADD', k.delayed, int(not_before), id)
  wake_queue(k, f[5])
else
  mark_failed(k, prefix, tk, id, now, ARGV[5])
end
return OK
