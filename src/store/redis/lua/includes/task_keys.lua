--[[
  Per-task and per-machine key names, computed inside scripts because their number
  is unbounded (dependents, transitive blocking). They must match RedisKeys in
  src/store/redis/redis_keys.hpp. Redis Cluster rule: these keys are built from the
  prefix, so the prefix must be a hash tag such as "{nfl}:" to keep them in the slot
  of the declared KEYS.
  Input:  prefix - REDIS_KEY_PREFIX as passed in ARGV[1]
]]
local function task_key(prefix, id)
  return prefix .. 'task:' .. id
end

local function dependents_key(prefix, id)
  return prefix .. 'dependents:' .. id
end

local function machine_key(prefix, id)
  return prefix .. 'machines:' .. id
end

local function cache_entry_key(prefix, task_type, hash)
  return prefix .. 'cache:' .. task_type .. ':' .. hash
end

-- Integers as exact decimal strings: Lua's default number formatting (%.14g) would
-- round large millisecond values.
local function int(x)
  return string.format('%d', x)
end
