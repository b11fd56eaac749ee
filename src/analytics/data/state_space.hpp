#pragma once
// state_space: Glickman & Stern (1998)-style dynamic team strengths.
//   margin_g = θ_home − θ_away + h·[not neutral] + ε,  ε ~ N(0, obs_sd²)
//   week to week:      θ ← θ + η,           η ~ N(0, weekly_sd² I)
//   season to season:  θ ← ρ·θ + ν,         ν ~ N(0, (1 − ρ²)·strength_sd² I)
//   home advantage h:  a state too, h ← h + N(0, hfa_season_sd²) between seasons
// Kalman filter for one-step-ahead (pre-week) predictions, Rauch–Tung–Striebel
// smoother for the ratings history; a grid sweep over (weekly_sd, obs_sd, ρ) picks the
// parameters with the best one-step-ahead log likelihood.
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "analytics/data/games.hpp"
#include "tasks/registry.hpp"

namespace nfl::analytics::data {

struct StateSpaceParams {
  double weekly_sd = 1.0;
  double obs_sd = 13.5;
  double carryover = 0.7;   // ρ
  double strength_sd = 5.0; // prior sd of θ, and the stationary sd between seasons
  double hfa_prior_mean = 0.0;
  double hfa_prior_sd = 3.0;
  double hfa_season_sd = 0.5;
};

struct StateSpaceConfig {
  std::vector<double> weekly_sd = {0.25, 0.5, 0.75, 1.0, 1.5};
  std::vector<double> obs_sd = {11.5, 12.0, 12.5, 13.0, 13.5};
  std::vector<double> carryover = {0.5, 0.6, 0.7, 0.8, 0.9};
  StateSpaceParams fixed;       // strength_sd, hfa_* (the grid fills the rest)
  int burn_in_seasons = 1;      // seasons left out of the score while the prior washes out
  int holdout_seasons = 5;      // the last seasons: reported, not used for choosing
  std::vector<int> era_starts = {1999, 2010, 2020};
};

struct StateSpaceGame {
  const Game* game = nullptr;
  double pred_margin = 0; // home minus away, before the week's results
  double pred_sd = 0;     // predictive sd (state uncertainty and obs_sd)
  double p_home = 0;      // Φ(pred_margin / pred_sd)
};

struct StateSpaceRating {
  std::string team;
  int season = 0;
  int week = 0; // after this week's games
  double filtered = 0;
  double filtered_sd = 0;
  double smoothed = 0;
  double smoothed_sd = 0;
};

struct SweepPoint {
  StateSpaceParams params;
  double log_lik_select = 0; // summed over the selection seasons
  std::size_t n_select = 0;
};

struct StateSpaceRun {
  StateSpaceParams params;             // chosen
  std::vector<SweepPoint> sweep;
  std::vector<StateSpaceGame> games;   // chronological
  std::vector<StateSpaceRating> ratings;
  std::vector<std::pair<int, double>> hfa_smoothed; // per season (end of season)
  Json summary;
};

// One filter pass (and smoother when `smooth`) with fixed parameters.
StateSpaceRun run_state_space(const std::vector<Game>& games, const StateSpaceParams& params, bool smooth,
                              const StateSpaceConfig& config = {});
// Sweep, choose, then the full run with the chosen parameters plus the reported statistics.
// Checks `stop` between grid points (throws TaskStopped).
StateSpaceRun fit_state_space(const std::vector<Game>& games, const StateSpaceConfig& config,
                              std::stop_token stop = {});

// Home-field advantage by least squares with one strength per team and season
// (result = s_home − s_away + h·[not neutral] + e), over the seasons [first, last].
struct HfaEstimate {
  double hfa = 0;
  double se = 0;
  std::size_t games = 0;
};
HfaEstimate hfa_least_squares(const std::vector<Game>& games, int first_season, int last_season);

StateSpaceConfig state_space_config_from_json(const Json& config);
std::string state_space_games_csv(const StateSpaceRun& run);
std::string state_space_ratings_csv(const StateSpaceRun& run);

TaskType state_space_task();

} // namespace nfl::analytics::data
