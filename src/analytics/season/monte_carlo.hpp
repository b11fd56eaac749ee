#pragma once
// The monte_carlo task type (queue cpu:parallel): playoff odds for a season from a week.
#include "tasks/registry.hpp"

namespace nfl::analytics::season {

TaskType monte_carlo_task();

} // namespace nfl::analytics::season
