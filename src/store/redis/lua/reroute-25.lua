--[[
  Moves a pending task to another queue, keeping its place in priority/FIFO order:
  a queued task keeps its score (priority * 1e12 + seq) in the new queue's zset; a
  delayed or waiting task only changes its queue field, so it is promoted into the
  new queue when due. Wakes the new queue's waiters.

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    KEYS[25] task:<id> hash
    ARGV[1] id
    ARGV[2] target queue

  Output:
    {0, 1} moved (or already there), {0, 0} not pending or unknown id
    {5, queue} UNKNOWN_QUEUE
]]
-- @include codes.lua
-- @include core_keys.lua
-- @include task_keys.lua
-- @include enqueue.lua

local k = core_keys(KEYS)
local tk = KEYS[25]
local id, target = ARGV[1], ARGV[2]
if not k.queue[target] then
  return {UNKNOWN_QUEUE, target}
end
local f = redis.call('HMGET', tk, 'status', 'queue')
if f[1] ~= 'pending' then
  return {OK, 0}
end
if f[2] ~= target then
  local score = k.queue[f[2]] and redis.call('ZSCORE', k.queue[f[2]], id)
  if score then
    redis.call('ZREM', k.queue[f[2]], id)
    redis.call('ZADD', k.queue[target], score, id)
  end
  redis.call('HSET', tk, 'queue', target)
end
wake_queue(k, target)
return {OK, 1}
