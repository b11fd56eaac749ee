#include "tasks/builtin/builtin.hpp"

namespace nfl::builtin {

TaskType noop_task_type() {
  TaskType t;
  t.name = "noop";
  t.description = "Completes at once with an empty result (benchmarks, tests).";
  t.run = [](TaskContext&) { return Json::object(); };
  return t;
}

} // namespace nfl::builtin
