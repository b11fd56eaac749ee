#include "analytics/data/features.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "analytics/data/data_common.hpp"

namespace nfl::analytics::data {
namespace {

struct Played {
  int season = 0;
  int points_for = 0;
  int points_against = 0;
};

TeamForm form_of(const std::deque<Played>& history, int season, const FeatureParams& p) {
  TeamForm f;
  double pf = 0;
  double pa = 0;
  // history holds the newest last; walk back at most `window` games.
  for (auto it = history.rbegin(); it != history.rend() && f.games < p.window; ++it) {
    if (!p.cross_season && it->season != season) {
      break;
    }
    pf += it->points_for;
    pa += it->points_against;
    ++f.games;
  }
  if (f.games > 0) {
    f.points_for = pf / f.games;
    f.points_against = pa / f.games;
    f.point_diff = (pf - pa) / f.games;
  }
  return f;
}

std::string roof_bucket(const std::string& roof) {
  if (roof == "dome" || roof == "closed") {
    return "indoor";
  }
  if (roof == "outdoors" || roof == "open") {
    return "outdoor";
  }
  return "unknown";
}

std::string surface_bucket(const std::string& surface) {
  if (surface.empty()) {
    return "unknown";
  }
  // dessograss is natural grass reinforced with synthetic fibres: it plays as grass.
  if (surface == "grass" || surface == "dessograss") {
    return "grass";
  }
  return "turf";
}

std::string temp_bucket(const Game& g, bool indoor) {
  if (indoor) {
    return "indoor";
  }
  if (!g.temp) {
    return "unknown";
  }
  if (*g.temp <= 32) {
    return "cold";
  }
  if (*g.temp <= 50) {
    return "cool";
  }
  if (*g.temp <= 75) {
    return "mild";
  }
  return "hot";
}

std::string wind_bucket(const Game& g, bool indoor) {
  if (indoor) {
    return "indoor";
  }
  if (!g.wind) {
    return "unknown";
  }
  if (*g.wind < 10) {
    return "calm";
  }
  if (*g.wind < 20) {
    return "breezy";
  }
  return "windy";
}

} // namespace

std::vector<GameFeatures> compute_features(const std::vector<Game>& games, const FeatureParams& params) {
  std::vector<std::size_t> order(games.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(games[a].gameday, games[a].game_id) < std::tie(games[b].gameday, games[b].game_id);
  });
  std::vector<GameFeatures> out(games.size());
  std::map<std::string, std::deque<Played>> history; // by franchise, oldest first
  std::size_t i = 0;
  while (i < order.size()) {
    // All games of one date are featurised before any of their results enters the
    // history: a team's form never includes the game being described.
    std::size_t end = i;
    while (end < order.size() && games[order[end]].gameday == games[order[i]].gameday) {
      ++end;
    }
    for (std::size_t j = i; j < end; ++j) {
      const Game& g = games[order[j]];
      GameFeatures& f = out[order[j]];
      f.game = &g;
      f.rest_diff = g.home_rest - g.away_rest;
      f.home = form_of(history[franchise(g.home_team)], g.season, params);
      f.away = form_of(history[franchise(g.away_team)], g.season, params);
      f.div_game = g.div_game;
      f.roof_bucket = roof_bucket(g.roof);
      f.surface_bucket = surface_bucket(g.surface);
      bool indoor = f.roof_bucket == "indoor";
      f.temp_bucket = temp_bucket(g, indoor);
      f.wind_bucket = wind_bucket(g, indoor);
      f.market_p_home = market_home_probability(g);
      if (f.market_p_home) {
        f.market_p_away = 1.0 - *f.market_p_home;
      }
      f.spread_line = g.spread_line;
      f.total_line = g.total_line;
      if (g.spread_line && g.total_line) {
        f.home_implied_points = (*g.total_line + *g.spread_line) / 2.0;
        f.away_implied_points = (*g.total_line - *g.spread_line) / 2.0;
      }
    }
    for (std::size_t j = i; j < end; ++j) {
      const Game& g = games[order[j]];
      if (!g.played()) {
        continue;
      }
      auto push = [&](const std::string& team, int pf, int pa) {
        auto& h = history[franchise(team)];
        h.push_back({g.season, pf, pa});
        if (h.size() > static_cast<std::size_t>(params.window)) {
          h.pop_front();
        }
      };
      push(g.home_team, *g.home_score, *g.away_score);
      push(g.away_team, *g.away_score, *g.home_score);
    }
    i = end;
  }
  return out;
}

FeatureParams feature_params_from_config(const Json& config) {
  const std::string t = "feature_engineering";
  check_config_keys(config, t, {"window", "cross_season"});
  FeatureParams p;
  p.window = config_int(config, t, "window", p.window, 1, 100);
  p.cross_season = config_bool(config, t, "cross_season", p.cross_season);
  return p;
}

std::string features_csv(const std::vector<GameFeatures>& features) {
  std::string out =
      "game_id,season,week,game_type,home_team,away_team,rest_diff,home_form_games,home_point_diff,home_points_for,"
      "home_points_against,away_form_games,away_point_diff,away_points_for,away_points_against,div_game,roof_bucket,"
      "surface_bucket,temp_bucket,wind_bucket,market_p_home,market_p_away,spread_line,total_line,home_implied_points,"
      "away_implied_points\n";
  for (const GameFeatures& f : features) {
    const Game& g = *f.game;
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", g.game_id,
                       g.season, g.week, g.game_type, g.home_team, g.away_team, f.rest_diff, f.home.games,
                       fmt_opt(f.home.point_diff), fmt_opt(f.home.points_for), fmt_opt(f.home.points_against),
                       f.away.games, fmt_opt(f.away.point_diff), fmt_opt(f.away.points_for),
                       fmt_opt(f.away.points_against), f.div_game ? 1 : 0, f.roof_bucket, f.surface_bucket,
                       f.temp_bucket, f.wind_bucket, fmt_opt(f.market_p_home), fmt_opt(f.market_p_away),
                       fmt_opt(f.spread_line), fmt_opt(f.total_line), fmt_opt(f.home_implied_points),
                       fmt_opt(f.away_implied_points));
  }
  return out;
}

TaskType feature_engineering_task() {
  TaskType t;
  t.name = "feature_engineering";
  t.description = "Pre-game features per game: rest, rolling form, venue and weather buckets, no-vig market, "
                  "implied team scores";
  t.validate_config = [](const Json& config) { feature_params_from_config(config); };
  t.run = [](TaskContext& ctx) -> Json {
    FeatureParams p = feature_params_from_config(ctx.task.config);
    auto games = games_from_ingestion(ctx, "feature_engineering");
    throw_if_stopped(ctx);
    auto features = compute_features(games, p);
    throw_if_stopped(ctx);
    std::size_t with_market = 0;
    std::size_t with_form = 0;
    for (const auto& f : features) {
      with_market += f.market_p_home ? 1 : 0;
      with_form += (f.home.games > 0 && f.away.games > 0) ? 1 : 0;
    }
    Json manifest = write_artifacts(ctx, {{"features.csv", features_csv(features)}});
    return {{"games", features.size()},
            {"with_market_probability", with_market},
            {"with_form_for_both_teams", with_form},
            {"window", p.window},
            {"cross_season", p.cross_season},
            {"artifacts", manifest}};
  };
  return t;
}

} // namespace nfl::analytics::data
