#include "model/task_types.hpp"

#include <array>
#include <utility>

namespace nfl {

std::optional<std::string_view> default_queue_for_type(std::string_view task_type) {
  // The seed's categories first, then nfl-compute's built-in analytics types.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 13> k_table = {{
      {"feature_engineering", "cpu:parallel"},
      {"data_processing", "cpu:parallel"},
      {"analysis", "cpu:sequential"},
      {"reporting", "cpu:sequential"},
      {"ingestion", "data:pipeline"},
      {"etl", "data:pipeline"},
      {"elo", "cpu:sequential"},
      {"state_space", "cpu:sequential"},
      {"calibration", "analysis:standard"},
      {"monte_carlo", "cpu:parallel"},
      {"backtest", "analysis:standard"},
      {"copula", "analysis:standard"},
      {"model_training", "gpu:standard"},
  }};
  for (const auto& [type, queue] : k_table) {
    if (type == task_type) return queue;
  }
  return std::nullopt;
}

} // namespace nfl
