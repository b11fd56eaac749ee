#include "analytics/analytics_tasks.hpp"

namespace nfl {

void register_evaluation_tasks(TaskRegistry& /*registry*/) {}

} // namespace nfl
