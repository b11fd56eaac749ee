#include "analytics/analytics_tasks.hpp"

namespace nfl {

void register_season_tasks(TaskRegistry& /*registry*/) {}

} // namespace nfl
