#include "analytics/analytics_tasks.hpp"
#include "analytics/evaluation/tasks.hpp"

namespace nfl {

void register_evaluation_tasks(TaskRegistry& registry) {
  registry.add(analytics::eval::calibration_task());
  registry.add(analytics::eval::backtest_task());
  registry.add(analytics::eval::copula_task());
  registry.add(analytics::eval::reporting_task());
}

} // namespace nfl
