#include "tasks/builtin/builtin.hpp"

namespace nfl {

void register_builtin_tasks(TaskRegistry& registry) {
  registry.add(builtin::noop_task_type());
  registry.add(builtin::sleep_task_type());
  registry.add(builtin::exec_task_type());
}

} // namespace nfl
