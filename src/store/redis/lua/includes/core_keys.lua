--[[
  Names the 24 core keys that every state-changing script receives as KEYS[1..24],
  in the order RedisKeys::core() builds them (src/store/redis/redis_keys.hpp).
  Input:  keys - the script's KEYS table
  Output: a table {leases, delayed, stats, completions, finished, tasks,
          status = {<status> = key}, queue = {<queue> = key}, wake = {<queue> = key}}
]]
local function core_keys(keys)
  local k = {leases = keys[1], delayed = keys[2], stats = keys[3], completions = keys[4],
             finished = keys[5], tasks = keys[6], status = {}, queue = {}, wake = {}}
  local statuses = {'pending', 'running', 'completed', 'failed', 'cancelled', 'blocked'}
  for i, s in ipairs(statuses) do
    k.status[s] = keys[6 + i]
  end
  local queues = {'gpu:high', 'gpu:standard', 'cpu:parallel', 'cpu:sequential', 'data:pipeline', 'analysis:standard'}
  for i, q in ipairs(queues) do
    k.queue[q] = keys[12 + i]
    k.wake[q] = keys[18 + i]
  end
  return k
end
