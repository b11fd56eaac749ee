#pragma once
// The Lua scripts (one per command, lua/<name>-<key count>.lua) and the return codes
// they share (lua/includes/codes.lua).
#include <array>
#include <string>
#include <string_view>

namespace nfl::redis_detail {

enum class Script { add, claim, renew, complete, complete_claim, fail, release, requeue, cancel, reclaim, heartbeat, trim,
                    status, list, import_tasks, import_machine, reroute };

struct ScriptInfo {
  Script script;
  std::string_view file; // under src/store/redis/lua; the number before ".lua" is the key count
};

inline constexpr std::array<ScriptInfo, 17> k_scripts = {{
    {Script::add, "add-24.lua"},
    {Script::claim, "claim-24.lua"},
    {Script::renew, "renew-2.lua"},
    {Script::complete, "complete-25.lua"},
    {Script::complete_claim, "complete-claim-25.lua"},
    {Script::fail, "fail-25.lua"},
    {Script::release, "release-25.lua"},
    {Script::requeue, "requeue-25.lua"},
    {Script::cancel, "cancel-25.lua"},
    {Script::reclaim, "reclaim-24.lua"},
    {Script::heartbeat, "heartbeat-2.lua"},
    {Script::trim, "trim-1.lua"},
    {Script::status, "status-24.lua"},
    {Script::list, "list-24.lua"},
    {Script::import_tasks, "import-24.lua"},
    {Script::import_machine, "import-machine-2.lua"},
    {Script::reroute, "reroute-25.lua"},
}};

// Mirrors lua/includes/codes.lua.
enum class ScriptCode : long long {
  ok = 0,
  not_found = 1,
  lease_lost = 2,
  cancelled = 3,
  missing_dependency = 4,
  unknown_queue = 5,
  dependency_cycle = 6,
};

std::string_view message(ScriptCode code);
std::string_view script_file(Script script);
// The number of KEYS the script declares, from its file name.
std::size_t key_count(Script script);
// The script's text with every "-- @include <file>" line replaced by lua/includes/<file>
// (each include once per script). Throws InternalError on a missing include.
std::string script_source(Script script);

} // namespace nfl::redis_detail
