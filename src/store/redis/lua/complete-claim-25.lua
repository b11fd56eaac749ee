--[[
  complete, then claim, in one call: a worker slot that finished a task hands in its
  result and takes its next task in one round trip (BullMQ's moveToFinished does the
  same). The claim happens whatever the completion's outcome: a refused result does
  not make the slot want less work.

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    KEYS[25] task:<id> hash of the finished task
    ARGV[1] key prefix
    ARGV[2] id, ARGV[3] token, ARGV[4] now (ms), ARGV[5] result JSON
    ARGV[6] wall seconds, ARGV[7] cpu seconds, ARGV[8] gpu seconds
    ARGV[9] caching enabled: '1' | '0'
    ARGV[10] machine id, ARGV[11] lease length (ms), ARGV[12] fencing token for the next attempt
    ARGV[13] batch limit for promotion and reclaim
    ARGV[14] number of queues q, ARGV[15..14+q] queue names in order of preference

  Output:
    {completion code, claim code, [task hash as field, value, ...]}
    completion code as complete's; claim code OK (with the hash when a task was
    claimed) or UNKNOWN_QUEUE (then the queue name instead of the hash; the
    completion stands)
]]
-- @include codes.lua
-- @include fencing.lua
-- @include core_keys.lua
-- @include task_keys.lua
-- @include enqueue.lua
-- @include dependents.lua
-- @include transitions.lua
-- @include complete_attempt.lua
-- @include claim_next.lua

local k = core_keys(KEYS)
local now = tonumber(ARGV[4])
local completed = complete_attempt(k, ARGV[1], KEYS[25], ARGV[2], ARGV[3], now, ARGV[5], ARGV[6], ARGV[7], ARGV[8],
                                   ARGV[9])
local queues = {}
for i = 1, tonumber(ARGV[14]) do
  queues[i] = ARGV[14 + i]
end
local claimed = claim_next(k, ARGV[1], now, ARGV[10], tonumber(ARGV[11]), ARGV[12], tonumber(ARGV[13]), queues)
return {completed, claimed[1], claimed[2]}
