#pragma once
// The evaluation family's task types (docs/analytics-evaluation.md).
#include "tasks/registry.hpp"

namespace nfl::analytics::eval {

TaskType calibration_task();
TaskType backtest_task();
TaskType copula_task();
TaskType reporting_task();

} // namespace nfl::analytics::eval
