#include "store/redis/redis_scripts.hpp"

#include <set>

#include <fmt/format.h>

#include "store/redis/lua_sources.hpp"
#include "util/error.hpp"

namespace nfl::redis_detail {

namespace {

constexpr std::string_view k_include_marker = "-- @include ";

std::string_view find_source(std::string_view name) {
  for (const auto& source : lua_sources()) {
    if (source.name == name) {
      return source.text;
    }
  }
  throw InternalError(fmt::format("redis lua script '{}' is not embedded in this binary", name));
}

void expand(std::string_view text, std::set<std::string, std::less<>>& included, std::string& out) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (line.substr(0, k_include_marker.size()) == k_include_marker) {
      std::string name = "includes/" + std::string(line.substr(k_include_marker.size()));
      while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) {
        name.pop_back();
      }
      if (included.insert(name).second) {
        expand(find_source(name), included, out);
      }
      continue;
    }
    out.append(line);
    out.push_back('\n');
  }
}

} // namespace

std::string_view message(ScriptCode code) {
  switch (code) {
  case ScriptCode::ok: return "ok";
  case ScriptCode::not_found: return "no task with this id";
  case ScriptCode::lease_lost: return "the lease token is not current (expired and reclaimed, or a duplicate)";
  case ScriptCode::cancelled: return "the task was cancelled";
  case ScriptCode::missing_dependency: return "a dependency is neither in the store nor earlier in the batch";
  case ScriptCode::dependency_cycle: return "the dependencies lead back to a task that waits on this one";
  case ScriptCode::unknown_queue: return "not one of the six queues";
  }
  return "unknown script return code";
}

std::string_view script_file(Script script) { return k_scripts[static_cast<std::size_t>(script)].file; }

std::size_t key_count(Script script) {
  std::string_view file = script_file(script);
  auto dash = file.rfind('-');
  auto dot = file.rfind('.');
  return static_cast<std::size_t>(std::stoul(std::string(file.substr(dash + 1, dot - dash - 1))));
}

std::string script_source(Script script) {
  std::string out;
  std::set<std::string, std::less<>> included;
  expand(find_source(script_file(script)), included, out);
  return out;
}

} // namespace nfl::redis_detail
