#include "analytics/analytics_tasks.hpp"
#include "analytics/training/model_training.hpp"

namespace nfl {

void register_training_tasks(TaskRegistry& registry) { registry.add(analytics::training::model_training_task()); }

} // namespace nfl
