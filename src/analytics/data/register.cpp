#include "analytics/analytics_tasks.hpp"

namespace nfl {

void register_data_tasks(TaskRegistry& /*registry*/) {}

} // namespace nfl
