#include "analytics/analytics_tasks.hpp"
#include "analytics/season/monte_carlo.hpp"

namespace nfl {

void register_season_tasks(TaskRegistry& registry) { registry.add(analytics::season::monte_carlo_task()); }

} // namespace nfl
