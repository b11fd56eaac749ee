--[[
  Records the result of the current attempt once: only the current token is
  accepted; a late or duplicate completion is counted in stats.rejected_completions.
  Adds the accounting to the machine's odometer, registers the cache entry, and
  queues dependents whose last unmet dependency this was.

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

local k = core_keys(KEYS)
local tk = KEYS[25]
local prefix, id, token, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local f = redis.call('HMGET', tk, 'status', 'token', 'machine_id', 'type', 'ck')
local problem = lease_problem(f[1], f[2], token)
if problem == LEASE_LOST then
  redis.call('HINCRBY', k.stats, 'rejected_completions', 1)
end
if problem then
  return problem
end
local wall, cpu, gpu = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
redis.call('HSET', tk, 'status', 'completed', 'result', ARGV[5], 'finished_at_ms', int(now), 'token', '',
           'lease_expires_ms', 0, 'progress', 100, 'wall_seconds', ARGV[6], 'cpu_seconds', ARGV[7],
           'gpu_seconds', ARGV[8])
redis.call('ZREM', k.leases, id)
redis.call('SMOVE', k.status.running, k.status.completed, id)
redis.call('ZADD', k.finished, int(now), id)
redis.call('ZADD', k.completions, int(now), id)
redis.call('ZREMRANGEBYSCORE', k.completions, '-inf', '(' .. int(now - 3600000))
if f[3] and f[3] ~= '' then
  local mk = machine_key(prefix, f[3])
  redis.call('HINCRBY', mk, 'tasks_done', 1)
  redis.call('HINCRBYFLOAT', mk, 'wall_hours', string.format('%.17g', wall / 3600))
  redis.call('HINCRBYFLOAT', mk, 'cpu_hours', string.format('%.17g', cpu / 3600))
  redis.call('HINCRBYFLOAT', mk, 'gpu_hours', string.format('%.17g', gpu / 3600))
end
if ARGV[9] == '1' then
  redis.call('SET', cache_entry_key(prefix, f[4], f[5]), id)
end
release_dependents(k, prefix, id, now)
return OK
