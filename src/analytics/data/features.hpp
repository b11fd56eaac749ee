#pragma once
// feature_engineering: one row per game of strictly pre-game information.
#include <optional>
#include <string>
#include <vector>

#include "analytics/data/games.hpp"
#include "tasks/registry.hpp"

namespace nfl::analytics::data {

struct FeatureParams {
  int window = 8;           // rolling games per team
  bool cross_season = true; // the window reaches back into earlier seasons
};

struct TeamForm {
  int games = 0;            // games in the window (0: no history; averages empty)
  std::optional<double> point_diff; // mean over the window
  std::optional<double> points_for;
  std::optional<double> points_against;
};

struct GameFeatures {
  const Game* game = nullptr;
  int rest_diff = 0; // home_rest - away_rest
  TeamForm home;
  TeamForm away;
  bool div_game = false;
  std::string roof_bucket;    // indoor, outdoor, unknown
  std::string surface_bucket; // grass, turf, unknown
  std::string temp_bucket;    // indoor, cold (<= 32 F), cool (33-50), mild (51-75), hot (> 75), unknown
  std::string wind_bucket;    // indoor, calm (< 10 mph), breezy (10-19), windy (>= 20), unknown
  std::optional<double> market_p_home; // no-vig
  std::optional<double> market_p_away;
  std::optional<double> spread_line;
  std::optional<double> total_line;
  std::optional<double> home_implied_points; // (total + spread) / 2
  std::optional<double> away_implied_points; // (total - spread) / 2
};

// In the order of `games`. A game's features use only games on earlier dates.
std::vector<GameFeatures> compute_features(const std::vector<Game>& games, const FeatureParams& params);
FeatureParams feature_params_from_config(const Json& config);
std::string features_csv(const std::vector<GameFeatures>& features);

TaskType feature_engineering_task();

} // namespace nfl::analytics::data
