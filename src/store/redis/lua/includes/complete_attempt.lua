--[[
  Records the result of the current attempt of task `id` once (complete and
  complete-claim). Requires codes.lua, fencing.lua, task_keys.lua, enqueue.lua and
  dependents.lua. Only the current token is accepted; a late or duplicate completion
  is counted in stats.rejected_completions. Adds the accounting to the machine's
  odometer, registers the cache entry, and queues dependents whose last unmet
  dependency this was.
  Input:  k (core_keys), prefix, tk (task key), id, token, now (ms), result JSON,
          wall/cpu/gpu seconds as sent (strings), caching ('1' | '0')
  Output: OK, NOT_FOUND, LEASE_LOST (counted) or CANCELLED
]]
local function complete_attempt(k, prefix, tk, id, token, now, result, wall_s, cpu_s, gpu_s, caching)
  local f = redis.call('HMGET', tk, 'status', 'token', 'machine_id', 'type', 'ck')
  local problem = lease_problem(f[1], f[2], token)
  if problem == LEASE_LOST then
    redis.call('HINCRBY', k.stats, 'rejected_completions', 1)
  end
  if problem then
    return problem
  end
  redis.call('HSET', tk, 'status', 'completed', 'result', result, 'finished_at_ms', int(now), 'token', '',
             'lease_expires_ms', 0, 'progress', 100, 'wall_seconds', wall_s, 'cpu_seconds', cpu_s,
             'gpu_seconds', gpu_s)
  redis.call('ZREM', k.leases, id)
  redis.call('SMOVE', k.status.running, k.status.completed, id)
  redis.call('ZADD', k.finished, int(now), id)
  redis.call('ZADD', k.completions, int(now), id)
  redis.call('ZREMRANGEBYSCORE', k.completions, '-inf', '(' .. int(now - 3600000))
  if f[3] and f[3] ~= '' then
    local mk = machine_key(prefix, f[3])
    redis.call('HINCRBY', mk, 'tasks_done', 1)
    -- Most tasks use no GPU and take well under a millisecond of CPU: adding zero
    -- would cost a float parse and a write each.
    for field, seconds in pairs({wall_hours = tonumber(wall_s), cpu_hours = tonumber(cpu_s),
                                 gpu_hours = tonumber(gpu_s)}) do
      if seconds ~= 0 then
        redis.call('HINCRBYFLOAT', mk, field, string.format('%.17g', seconds / 3600))
      end
    end
  end
  if caching == '1' then
    redis.call('SET', cache_entry_key(prefix, f[4], f[5]), id)
  end
  release_dependents(k, prefix, id, now)
  return OK
end
