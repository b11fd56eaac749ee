#include "analytics/analytics_tasks.hpp"
#include "analytics/data/elo.hpp"
#include "analytics/data/features.hpp"
#include "analytics/data/ingestion.hpp"
#include "analytics/data/state_space.hpp"

namespace nfl {

void register_data_tasks(TaskRegistry& registry) {
  registry.add(analytics::data::ingestion_task());
  registry.add(analytics::data::feature_engineering_task());
  registry.add(analytics::data::elo_task());
  registry.add(analytics::data::state_space_task());
}

} // namespace nfl
