--[[
  Records another machine's record exactly as its snapshot has it (folder sync):
  unlike heartbeat, last_seen and the odometer are taken as given.

  Input:
    KEYS[1] machines:<id> hash
    KEYS[2] machine_ids set (the registry index)
    ARGV[1] machine id, ARGV[2] profile, ARGV[3] served queues JSON array,
    ARGV[4] hardware JSON object, ARGV[5] last_seen_ms, ARGV[6] tasks_done,
    ARGV[7] cpu_hours, ARGV[8] gpu_hours, ARGV[9] wall_hours

  Output:
    0 OK
]]
redis.call('HSET', KEYS[1], 'machine_id', ARGV[1], 'profile', ARGV[2], 'queues', ARGV[3], 'hardware', ARGV[4],
           'last_seen_ms', ARGV[5], 'tasks_done', ARGV[6], 'cpu_hours', ARGV[7], 'gpu_hours', ARGV[8],
           'wall_hours', ARGV[9])
redis.call('SADD', KEYS[2], ARGV[1])
return 0
