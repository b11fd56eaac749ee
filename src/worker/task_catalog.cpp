#include "worker/task_catalog.hpp"

#include "analytics/analytics_tasks.hpp"

namespace nfl {

const TaskRegistry& default_task_registry() {
  static const TaskRegistry registry = [] {
    TaskRegistry r;
    register_builtin_tasks(r);
    register_analytics_tasks(r);
    return r;
  }();
  return registry;
}

} // namespace nfl
