#!lua flags=no-writes
--[[
  One consistent snapshot for TaskStore::status (read-only, so it still answers
  when Redis is out of memory).

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    ARGV[1] key prefix (task:<id> is computed; Cluster needs a hash tag)
    ARGV[2] now (ms)

  Output:
    {0, {pending, running} x 6 queues in core order, count x 6 statuses in core order,
     rejected_completions, completed in the last 5 min, completed in the last hour,
     {task hash of each running task}}
]]
-- @include codes.lua
-- @include core_keys.lua
-- @include task_keys.lua

local k = core_keys(KEYS)
local prefix, now = ARGV[1], tonumber(ARGV[2])
local queues = {'gpu:high', 'gpu:standard', 'cpu:parallel', 'cpu:sequential', 'data:pipeline', 'analysis:standard'}
local statuses = {'pending', 'running', 'completed', 'failed', 'cancelled', 'blocked'}
local pending, running = {}, {}
for _, q in ipairs(queues) do
  pending[q] = redis.call('ZCARD', k.queue[q])
  running[q] = 0
end
for _, id in ipairs(redis.call('ZRANGE', k.delayed, 0, -1)) do
  local q = redis.call('HGET', task_key(prefix, id), 'queue')
  if q and pending[q] then
    pending[q] = pending[q] + 1
  end
end
local running_tasks = {}
for _, id in ipairs(redis.call('SMEMBERS', k.status.running)) do
  local h = redis.call('HGETALL', task_key(prefix, id))
  local q = redis.call('HGET', task_key(prefix, id), 'queue')
  if q and running[q] then
    running[q] = running[q] + 1
  end
  table.insert(running_tasks, h)
end
local out = {}
for _, q in ipairs(queues) do
  table.insert(out, pending[q])
  table.insert(out, running[q])
end
for _, s in ipairs(statuses) do
  table.insert(out, redis.call('SCARD', k.status[s]))
end
table.insert(out, tonumber(redis.call('HGET', k.stats, 'rejected_completions') or '0'))
table.insert(out, redis.call('ZCOUNT', k.completions, int(now - 300000), '+inf'))
table.insert(out, redis.call('ZCOUNT', k.completions, int(now - 3600000), '+inf'))
table.insert(out, running_tasks)
return {OK, out}
