--[[
  Claims the best claimable task from the caller's queues (includes/claim_next.lua).

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
-- @include claim_next.lua

local queues = {}
for i = 1, tonumber(ARGV[7]) do
  queues[i] = ARGV[7 + i]
end
return claim_next(core_keys(KEYS), ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), ARGV[5],
                  tonumber(ARGV[6]), queues)
