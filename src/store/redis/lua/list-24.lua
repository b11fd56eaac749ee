#!lua flags=no-writes
--[[
  One page of tasks in the order they were added, filtered by status, type and
  queue (read-only). With a status, ZINTER of the tasks zset and the status set keeps
  add order without a sort.

  Input:
    KEYS[1..24] core keys (includes/core_keys.lua)
    ARGV[1] key prefix (task:<id> is computed; Cluster needs a hash tag)
    ARGV[2] status or ''
    ARGV[3] task_type or ''
    ARGV[4] queue or ''
    ARGV[5] offset
    ARGV[6] limit

  Output:
    {0, {task hash, ...}}
]]
-- @include codes.lua
-- @include core_keys.lua
-- @include task_keys.lua

local k = core_keys(KEYS)
local prefix, status, task_type, queue = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local offset, limit = tonumber(ARGV[5]), tonumber(ARGV[6])
local ids
if status ~= '' then
  if not k.status[status] then
    return {OK, {}}
  end
  ids = redis.call('ZINTER', 2, k.tasks, k.status[status], 'WEIGHTS', 1, 0)
else
  ids = redis.call('ZRANGE', k.tasks, 0, -1)
end
local page, skipped = {}, 0
for _, id in ipairs(ids) do
  if #page >= limit then
    break
  end
  local tk = task_key(prefix, id)
  local keep = true
  if task_type ~= '' or queue ~= '' then
    local f = redis.call('HMGET', tk, 'type', 'queue')
    keep = (task_type == '' or f[1] == task_type) and (queue == '' or f[2] == queue)
  end
  if keep then
    if skipped < offset then
      skipped = skipped + 1
    else
      table.insert(page, redis.call('HGETALL', tk))
    end
  end
end
return {OK, page}
