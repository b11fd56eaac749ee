#pragma once
// The 32-team, 8-division league since 2002 and one season's schedule on it, with
// integer team ids so that the standings and the simulator work on flat arrays.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/data/games.hpp"

namespace nfl::analytics::season {

inline constexpr int k_teams = 32;
inline constexpr int k_divisions = 8;
inline constexpr int k_first_season = 2002; // the current alignment

// Team id = division * 4 + slot; division = conference * 4 + {East, North, South, West};
// conference 0 = AFC, 1 = NFC. So a division's and a conference's teams are contiguous.
constexpr int conference_of(int team) { return team / 16; }
constexpr int division_of(int team) { return team / 4; }

struct League {
  int season = 0;
  std::array<std::string, k_teams> codes; // franchise code used in games.csv that season
  int playoff_teams = 7;                  // per conference: 6 until 2019, 7 since 2020

  std::optional<int> find(std::string_view code) const;
  // Throws InputError naming `field` when the code is not a team of this season.
  int id(std::string_view code, std::string_view field = "team") const;
};

std::string conference_name(int conference);
std::string division_name(int division); // "AFC East"

// Codes by season: STL→LA in 2016, SD→LAC in 2017, OAK→LV in 2020.
// Throws InputError for seasons before 2002.
League league_for_season(int season);

struct SeasonGame {
  int home = 0;
  int away = 0;
  int week = 0;
  bool neutral = false;
  bool div_game = false;
  std::string game_type; // REG, WC, DIV, CON, SB
  std::optional<int> home_score;
  std::optional<int> away_score;
  std::optional<double> spread_line;
  std::optional<double> total_line;
  bool played() const { return home_score.has_value() && away_score.has_value(); }
};

struct SeasonSchedule {
  League league;
  std::vector<SeasonGame> regular;  // game_type REG
  std::vector<SeasonGame> playoffs; // WC, DIV, CON, SB
  int last_regular_week = 0;
};

// The season's games on the league's ids. Throws InputError when the season has no
// regular-season games or a game names a team outside the season's alignment.
SeasonSchedule schedule_for_season(const std::vector<Game>& games, int season);

} // namespace nfl::analytics::season
