#pragma once
// The built-in task types, one source file each; registered in builtin_tasks.cpp.
#include "tasks/registry.hpp"

namespace nfl::builtin {

TaskType noop_task_type();
TaskType sleep_task_type();
TaskType exec_task_type();

} // namespace nfl::builtin
