--[[
  Moves running tasks whose lease expired back to pending (or to failed when out
  of attempts), and promotes due retries. claim-24 does the same per call.

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    ARGV[1] key prefix (task:/dependents: are computed; Cluster needs a hash tag)
    ARGV[2] now (ms)
    ARGV[3] batch limit

  Output:
    number of expired leases handled (the client repeats while it equals the limit)
]]
-- @include core_keys.lua
-- @include task_keys.lua
-- @include enqueue.lua
-- @include dependents.lua
-- @include transitions.lua

local k = core_keys(KEYS)
local prefix, now, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
promote_delayed(k, prefix, now, limit)
return reclaim_expired(k, prefix, now, limit)
