--[[
  Upserts a machine record with last_seen = now; the odometer fields
  (tasks_done, *_hours) are never touched here.

  Input:
    KEYS[1] machines:<id> hash
    KEYS[2] machine_ids set (the registry index: no KEYS command needed)
    ARGV[1] machine id
    ARGV[2] profile
    ARGV[3] served queues JSON array
    ARGV[4] hardware JSON object
    ARGV[5] now (ms)

  Output:
    0 OK
]]
redis.call('HSET', KEYS[1], 'machine_id', ARGV[1], 'profile', ARGV[2], 'queues', ARGV[3], 'hardware', ARGV[4],
           'last_seen_ms', ARGV[5])
redis.call('SADD', KEYS[2], ARGV[1])
return 0
