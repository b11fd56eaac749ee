#pragma once
#include "tasks/registry.hpp"

namespace nfl {

// Each family registers its task types, one line per type.
void register_data_tasks(TaskRegistry& registry);       // ingestion, feature_engineering, elo, state_space
void register_season_tasks(TaskRegistry& registry);     // monte_carlo
void register_evaluation_tasks(TaskRegistry& registry); // calibration, backtest, copula, reporting
void register_training_tasks(TaskRegistry& registry);   // model_training

inline void register_analytics_tasks(TaskRegistry& registry) {
  register_data_tasks(registry);
  register_season_tasks(registry);
  register_evaluation_tasks(registry);
  register_training_tasks(registry);
}

} // namespace nfl
