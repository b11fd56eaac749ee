--[[
  Retention: drops config and result of tasks finished before a time and marks
  them trimmed; keeps the summary (id, type, status, queue, attempts, timestamps,
  accounting) and the first 1 KiB of the error. Pending and running tasks are never
  in the finished zset, so they are never touched.

  Input:
    KEYS[1] finished zset (id -> finished_at_ms)
    ARGV[1] key prefix (task:<id> is computed; Cluster needs a hash tag)
    ARGV[2] older than (ms, exclusive)
    ARGV[3] batch limit

  Output:
    number trimmed in this call (the client repeats while it equals the limit)
]]
-- @include task_keys.lua

local prefix, older, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. int(older), 'LIMIT', 0, limit)
for _, id in ipairs(ids) do
  local tk = task_key(prefix, id)
  local err = redis.call('HGET', tk, 'error') or ''
  redis.call('HDEL', tk, 'config', 'result')
  redis.call('HSET', tk, 'trimmed', 1, 'error', string.sub(err, 1, 1024))
  redis.call('ZREM', KEYS[1], id)
end
return #ids
