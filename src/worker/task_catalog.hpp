#pragma once
#include "tasks/registry.hpp"

namespace nfl {

// Every task type this build knows: the built-in ones (noop, sleep, exec) and the
// analytics families. Built once, on first use; thread-safe.
const TaskRegistry& default_task_registry();

} // namespace nfl
