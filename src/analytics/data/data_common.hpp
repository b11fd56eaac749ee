#pragma once
// Helpers shared by the data family's task types (ingestion, feature_engineering,
// elo, state_space): strict config reading, locating the ingestion output, the
// no-vig market probability and probability scores. Kept in their own namespace so
// they never collide with the other analytics families in the same library.
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "analytics/data/games.hpp"
#include "tasks/registry.hpp"
#include "tasks/task_config.hpp"

namespace nfl::analytics::data {

// The games from the ingestion task among ctx.dependencies. No ingestion dependency:
// TaskFailure (not retryable); its artifacts not here yet: WaitingForInput.
std::vector<Game> games_from_ingestion(const TaskContext& ctx, const std::string& type);

// Relocated franchises share one rating history: SD -> LAC, STL -> LA, OAK -> LV.
std::string franchise(const std::string& team);

// American odds -> implied probability including the margin (-150 -> 0.6, +130 -> 0.4348).
double implied_probability(double american);
// Proportional no-vig P(home win): implied_home / (implied_home + implied_away).
std::optional<double> market_home_probability(const Game& g);

// Outcome for probability scores: 1 home win, 0 away win, 0.5 tie.
double home_outcome(const Game& g);

// Running Brier score and log loss (natural log; p clipped to [1e-15, 1 - 1e-15]).
struct ProbabilityScore {
  double brier_sum = 0;
  double log_loss_sum = 0;
  std::size_t n = 0;
  void add(double p, double outcome);
  Json to_json() const; // {"n", "brier", "log_loss"}
};

// Shortest text that reads back as the same double ("" for nullopt).
std::string fmt_num(double v);
std::string fmt_opt(const std::optional<double>& v);

// Stop check for long loops: throws TaskStopped when ctx.stop is requested.
void throw_if_stopped(const TaskContext& ctx);

} // namespace nfl::analytics::data
