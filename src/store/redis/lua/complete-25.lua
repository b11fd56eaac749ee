--[[
  Records the result of the current attempt once (includes/complete_attempt.lua).

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    KEYS[25] task:<id> hash
    ARGV[1] key prefix (machines:/cache:/dependents: are computed; Cluster needs a hash tag)
    ARGV[2] id
    ARGV[3] token
    ARGV[4] now (ms)
    ARGV[5] result JSON
    ARGV[6] wall seconds, ARGV[7] cpu seconds, ARGV[8] gpu seconds
    ARGV[9] caching enabled: '1' | '0'

  Output:
    0 OK, 1 NOT_FOUND, 2 LEASE_LOST (counted), 3 CANCELLED
]]
-- @include codes.lua
-- @include fencing.lua
-- @include core_keys.lua
-- @include task_keys.lua
-- @include enqueue.lua
-- @include dependents.lua
-- @include complete_attempt.lua

return complete_attempt(core_keys(KEYS), ARGV[1], KEYS[25], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6],
                        ARGV[7], ARGV[8], ARGV[9])
