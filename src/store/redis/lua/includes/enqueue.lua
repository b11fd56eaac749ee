--[[
  Puts a pending task at the back of its priority in its queue zset (score =
  priority * 1e12 + store-wide sequence, so ZRANGE lists claim order) and pushes a
  wake marker on wake:<queue> for blocked claim_wait callers (list kept tiny).
  Input:  k (core_keys), tk (task key), id, now (ms)
  Output: none
  enqueue_quiet takes queue and priority from the caller and pushes no marker (a
  batch wakes each queue once at the end).
]]
local function enqueue_quiet(k, tk, id, now, queue, prio)
  local seq = redis.call('HINCRBY', k.stats, 'seq', 1)
  redis.call('ZADD', k.queue[queue], int(tonumber(prio) * 1000000000000 + seq), id)
  redis.call('HSET', tk, 'seq', seq, 'enqueued_at_ms', int(now))
end

local function enqueue(k, tk, id, now)
  local fields = redis.call('HMGET', tk, 'queue', 'prio')
  enqueue_quiet(k, tk, id, now, fields[1], fields[2])
  redis.call('LPUSH', k.wake[fields[1]], '1')
  redis.call('LTRIM', k.wake[fields[1]], 0, 63)
end

-- Wakes waiters of a queue without enqueueing (a delayed retry becomes due later);
-- `n` markers (default 1, at most 64) so a batch of n tasks wakes up to n idle slots.
local function wake_queue(k, queue, n)
  for _ = 1, math.min(n or 1, 64) do
    redis.call('LPUSH', k.wake[queue], '1')
  end
  redis.call('LTRIM', k.wake[queue], 0, 63)
end
