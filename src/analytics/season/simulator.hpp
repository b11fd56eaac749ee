#pragma once
// Season Monte Carlo: games before the start week keep their actual results, the rest
// are drawn from a rating model (margin ~ Normal(spread, sigma)), then standings,
// tie-breakers and the playoff bracket of the season. See docs/analytics-season.md.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "analytics/data/games.hpp"
#include "analytics/season/league.hpp"

#include "analytics/normal.hpp"

namespace nfl::analytics::season {

// Team strength on the points scale: the expected home margin of a game is
// rating[home] - rating[away] + home_field (home_field 0 at neutral sites).
struct Ratings {
  std::array<double, k_teams> rating{};
  double home_field = 0.0;
};

struct SimulationModel {
  SeasonSchedule schedule;
  int start_week = 1;       // games of this week and later are simulated
  bool keep_all_played = false; // also keep played games of start_week and later ("from now")
  Ratings ratings;
  bool use_spread_lines = false; // market: a game's own closing spread when it has one
  double sigma = 13.5;
  bool ties = true;
  double mean_total = 44.0; // points of a game without a total line (points-based tie-breakers)
};

// Where the regular-season games are drawn (docs/gpu.md). Standings, tie-breakers and
// the playoffs always run on the host threads; every kernel draws the same Philox
// streams, so a seed gives identical results on each.
enum class SimKernel {
  cpu,         // each host thread draws its own seasons (the reference)
  cuda,        // the CUDA device draws batches of seasons; throws gpu::GpuUnavailable without one
  cpu_batched, // the CUDA path's batching with the draws made on the host (tests, benchmarks)
};

struct SimulationOptions {
  std::int64_t simulations = 10000;
  std::uint64_t seed = 1;
  int threads = 0; // 0: hardware concurrency
  SimKernel kernel = SimKernel::cpu;
  std::int64_t batch = 1 << 16; // seasons per device batch (cuda, cpu_batched)
};

struct TeamOdds {
  std::string team;
  std::string division;
  double current_wins = 0.0; // wins (ties as half) in the games kept as played
  double expected_wins = 0.0; // ties count half
  double p_playoffs = 0.0;
  double p_division = 0.0;
  double p_first_seed = 0.0;
  double p_conference = 0.0; // won the conference championship
  double p_super_bowl = 0.0;
};

struct SimulationResult {
  std::vector<TeamOdds> teams; // team-id order (division by division)
  std::int64_t simulations = 0;
  int threads = 0;
  int simulated_games = 0; // regular-season games drawn per season
  double seconds = 0.0;
  double seasons_per_second = 0.0;
  double draw_seconds = 0.0; // cuda/cpu_batched: time spent waiting for draws
};

using ProgressFn = std::function<void(double percent, const std::string& message)>;

// Throws TaskStopped when `stop` is requested. Same seed → same result for any thread
// count (each simulation index has its own Philox counter range).
SimulationResult simulate_season(const SimulationModel& model, const SimulationOptions& options,
                                 std::stop_token stop = {}, const ProgressFn& progress = {});

// ---- model building

// sd of (result - spread_line) over played regular-season games before (season, week).
double estimate_sigma(const std::vector<Game>& games, int season, int week);
// Mean total points of played regular-season games before (season, week) (44 if none).
double estimate_mean_total(const std::vector<Game>& games, int season, int week);
// Least-squares team ratings and home field from the season's closing spread lines.
Ratings market_ratings(const SeasonSchedule& schedule);

struct EloParameters {
  double home_advantage = 65.0; // Elo points
  double revert = 1.0 / 3.0;    // regression to `mean` between seasons
  double mean = 1505.0;
  double points_per_elo = 1.0 / 25.0;
};
// From elo_ratings.csv (team, season, week, rating after the week): each team's latest
// rating before `week` of `season`, else its last rating of an earlier season
// regressed toward the mean. Throws InputError (missing column, team without rating).
Ratings elo_ratings_from_csv(const std::string& csv_text, const League& league, int week, const EloParameters& p);

// Probability the home side wins a game that cannot end tied.
double home_win_probability(double spread, double sigma);
using analytics::normal_quantile;

} // namespace nfl::analytics::season
