#pragma once
// FiveThirtyEight's classic NFL Elo (fivethirtyeight/nfl-elo-game, forecast.py, and
// "How Our NFL Predictions Work"), every constant configurable. docs/analytics-data.md
// has the formulas and the reading of the margin-of-victory term.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analytics/data/games.hpp"
#include "tasks/registry.hpp"

namespace nfl::analytics::data {

struct EloParams {
  double k = 20.0;
  double home_advantage = 65.0; // Elo points; 0 at neutral sites
  double revert = 1.0 / 3.0;    // share of the gap to `mean` closed between seasons
  double mean = 1505.0;
  double initial = 1505.0;      // every team of the first season
  double expansion = 1300.0;    // a franchise first seen in a later season (HOU 2002)
  bool mov = true;              // margin-of-victory multiplier; false: multiplier 1
  double points_per_spread = 25.0; // spread = Δelo / 25
};

// One step, exposed for hand-checked tests. `diff` is home minus away pre-game Elo
// including home field. Returns the home team's rating change (away gets minus it).
double elo_win_probability(double diff);
double elo_mov_multiplier(int home_margin, double diff);
double elo_shift(const EloParams& p, int home_margin, double diff);

struct EloGame {
  const Game* game = nullptr;
  double home_elo = 0; // pre-game
  double away_elo = 0;
  double diff = 0;     // home - away + home field
  double p_home = 0;
  double spread = 0;   // home favoured by, points
  std::optional<double> market_p_home;
  std::optional<double> home_elo_post; // played games only
  std::optional<double> away_elo_post;
};

struct EloRating {
  std::string team; // the code the team used that season
  int season = 0;
  int week = 0;     // 0: start of season, after the regression to the mean
  double rating = 0;
};

struct EloRun {
  std::vector<EloGame> games;   // chronological (season, week, gameday, game_id)
  std::vector<EloRating> ratings;
  Json metrics;                 // per season and overall: Elo vs market Brier / log loss
};

EloRun run_elo(const std::vector<Game>& games, const EloParams& params);

EloParams elo_params_from_config(const Json& config); // throws InputError naming the key
std::string elo_games_csv(const EloRun& run);
std::string elo_ratings_csv(const EloRun& run);

TaskType elo_task();

} // namespace nfl::analytics::data
