--[[
  Return codes shared by every script; ScriptCode in src/store/redis/redis_scripts.hpp
  mirrors them with a message table.
]]
local OK = 0
local NOT_FOUND = 1
local LEASE_LOST = 2
local CANCELLED = 3
local MISSING_DEPENDENCY = 4
local UNKNOWN_QUEUE = 5
local DEPENDENCY_CYCLE = 6
