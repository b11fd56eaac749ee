// Task JSON as `submit --file` reads it: the bounded parse, task_from_json, normalise
// and the built-in types' config checks. Only InputError (or a JSON syntax error) may
// escape, and a normalised task must survive task_to_json -> task_from_json unchanged.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "model/task.hpp"
#include "tasks/registry.hpp"
#include "util/error.hpp"
#include "util/json_limits.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const nfl::TaskRegistry registry = [] {
    nfl::TaskRegistry r;
    nfl::register_builtin_tasks(r);
    return r;
  }();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  nfl::Json j;
  try {
    j = nfl::parse_json_bounded(text, "task");
  } catch (const nfl::Json::parse_error&) {
    return 0;
  } catch (const nfl::InputError&) {
    return 0;
  }
  try {
    nfl::Task t = nfl::task_from_json(j);
    nfl::normalise(t, 1'700'000'000'000);
    if (const auto* type = registry.find(t.task_type)) {
      type->validate_config(t.config);
    }
    const nfl::Json once = nfl::task_to_json(t);
    const nfl::Json again = nfl::task_to_json(nfl::task_from_json(once));
    if (again != once) {
      __builtin_trap(); // a stored task would not read back as written
    }
    (void)once.dump(); // what a store writes: must not throw (e.g. on invalid UTF-8)
    (void)nfl::cache_key(t);
    nfl::check_no_dependency_cycle(std::span<const nfl::Task>(&t, 1));
  } catch (const nfl::InputError&) {
  }
  return 0;
}
