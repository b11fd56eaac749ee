#include "analytics/season/league.hpp"

#include <fmt/format.h>

#include "util/error.hpp"

namespace nfl::analytics::season {

namespace {

// The alignment since 2002, in team-id order, with the codes of the 2002 season.
constexpr std::array<std::string_view, k_teams> k_alignment_2002 = {
    "BUF", "MIA", "NE",  "NYJ", // AFC East
    "BAL", "CIN", "CLE", "PIT", // AFC North
    "HOU", "IND", "JAX", "TEN", // AFC South
    "DEN", "KC",  "OAK", "SD",  // AFC West
    "DAL", "NYG", "PHI", "WAS", // NFC East
    "CHI", "DET", "GB",  "MIN", // NFC North
    "ATL", "CAR", "NO",  "TB",  // NFC South
    "ARI", "SEA", "SF",  "STL", // NFC West
};

struct Relocation {
  std::string_view from;
  std::string_view to;
  int first_season;
};
constexpr std::array<Relocation, 3> k_relocations = {{{"STL", "LA", 2016}, {"SD", "LAC", 2017}, {"OAK", "LV", 2020}}};

constexpr std::array<std::string_view, 4> k_division_suffix = {"East", "North", "South", "West"};

} // namespace

std::optional<int> League::find(std::string_view code) const {
  for (int t = 0; t < k_teams; ++t) {
    if (codes[t] == code) {
      return t;
    }
  }
  return std::nullopt;
}

int League::id(std::string_view code, std::string_view field) const {
  if (auto t = find(code)) {
    return *t;
  }
  throw InputError(fmt::format("{}: '{}' is not a team of the {} season", field, code, season));
}

std::string conference_name(int conference) { return conference == 0 ? "AFC" : "NFC"; }

std::string division_name(int division) {
  return fmt::format("{} {}", conference_name(division / 4), k_division_suffix[division % 4]);
}

League league_for_season(int season) {
  if (season < k_first_season) {
    throw InputError(fmt::format("season: {} is before {}, the first season of the 32-team alignment", season,
                                 k_first_season));
  }
  League league;
  league.season = season;
  league.playoff_teams = season >= 2020 ? 7 : 6;
  for (int t = 0; t < k_teams; ++t) {
    league.codes[t] = std::string(k_alignment_2002[t]);
    for (const auto& r : k_relocations) {
      if (league.codes[t] == r.from && season >= r.first_season) {
        league.codes[t] = std::string(r.to);
      }
    }
  }
  return league;
}

SeasonSchedule schedule_for_season(const std::vector<Game>& games, int season) {
  SeasonSchedule schedule;
  schedule.league = league_for_season(season);
  for (const auto& g : games) {
    if (g.season != season) {
      continue;
    }
    SeasonGame s;
    s.home = schedule.league.id(g.home_team, fmt::format("{} home_team", g.game_id));
    s.away = schedule.league.id(g.away_team, fmt::format("{} away_team", g.game_id));
    s.week = g.week;
    s.neutral = g.neutral;
    s.div_game = g.div_game;
    s.game_type = g.game_type;
    s.home_score = g.home_score;
    s.away_score = g.away_score;
    s.spread_line = g.spread_line;
    s.total_line = g.total_line;
    if (g.game_type == "REG") {
      schedule.last_regular_week = std::max(schedule.last_regular_week, g.week);
      schedule.regular.push_back(std::move(s));
    } else {
      schedule.playoffs.push_back(std::move(s));
    }
  }
  if (schedule.regular.empty()) {
    throw InputError(fmt::format("season: no regular-season games of {} in the data", season));
  }
  return schedule;
}

} // namespace nfl::analytics::season
