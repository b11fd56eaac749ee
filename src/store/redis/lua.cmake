# Included from src/CMakeLists.txt after nfl_store exists: compiles the Redis Lua
# scripts into nfl_store (an installed binary needs no source tree), regenerated
# whenever a script changes.
file(GLOB_RECURSE NFL_LUA_FILES CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/lua/*.lua")
set(NFL_LUA_GENERATED "${CMAKE_BINARY_DIR}/generated/nfl_lua_sources.cpp")
add_custom_command(
  OUTPUT "${NFL_LUA_GENERATED}"
  COMMAND "${CMAKE_COMMAND}" "-DLUA_DIR=${CMAKE_CURRENT_LIST_DIR}/lua" "-DOUTPUT=${NFL_LUA_GENERATED}"
          -P "${CMAKE_CURRENT_LIST_DIR}/embed_lua.cmake"
  DEPENDS ${NFL_LUA_FILES} "${CMAKE_CURRENT_LIST_DIR}/embed_lua.cmake"
  COMMENT "Embedding Redis Lua scripts"
  VERBATIM)
target_sources(nfl_store PRIVATE "${NFL_LUA_GENERATED}")
