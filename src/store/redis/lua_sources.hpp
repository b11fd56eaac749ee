#pragma once
// The Redis Lua scripts, compiled into the binary from src/store/redis/lua by
// embed_lua.cmake (scripts and their includes, by path relative to lua/).
#include <span>
#include <string_view>

namespace nfl::redis_detail {

struct LuaSource {
  std::string_view name; // e.g. "claim-24.lua", "includes/enqueue.lua"
  std::string_view text;
};

std::span<const LuaSource> lua_sources();

} // namespace nfl::redis_detail
