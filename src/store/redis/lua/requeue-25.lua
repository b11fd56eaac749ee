--[[
  Brings a failed, cancelled or blocked task back: pending, attempts 0, error
  cleared; queued when every dependency completed, else waiting. Its blocked
  dependents return to waiting too (transitively) unless another dependency still
  blocks them.

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    KEYS[25] task:<id> hash
    ARGV[1] key prefix (dependents:/task: are computed; Cluster needs a hash tag)
    ARGV[2] id
    ARGV[3] now (ms)

  Output:
    1 requeued, 0 not in a requeueable state (or unknown id)
]]
-- @include task_keys.lua
-- @include core_keys.lua
-- @include enqueue.lua
-- @include dependents.lua

local k = core_keys(KEYS)
local tk = KEYS[25]
local prefix, id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local f = redis.call('HMGET', tk, 'status', 'unmet')
local status = f[1]
if status ~= 'failed' and status ~= 'cancelled' and status ~= 'blocked' then
  return 0
end
redis.call('HSET', tk, 'status', 'pending', 'attempts', 0, 'error', '', 'blocked_reason', '', 'token', '',
           'lease_expires_ms', 0, 'not_before_ms', 0, 'finished_at_ms', 0, 'progress', 0)
redis.call('SMOVE', k.status[status], k.status.pending, id)
redis.call('ZREM', k.finished, id)
if tonumber(f[2] or '0') <= 0 then
  enqueue(k, tk, id, now)
end
unblock_dependents(k, prefix, id, now)
return 1
