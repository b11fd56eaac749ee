#include "analytics/data/elo.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "analytics/data/data_common.hpp"

namespace nfl::analytics::data {

double elo_win_probability(double diff) {
  return 1.0 / (std::pow(10.0, -diff / 400.0) + 1.0);
}

// forecast.py: log(max(pd, 1) + 1) * 2.2 / (winner's Δelo * 0.001 + 2.2), where Δelo
// is home-minus-away *including* home field, negated when the away team won; a tie
// divides by 1.0 instead (so a tie's multiplier is ln 2 * 2.2).
double elo_mov_multiplier(int home_margin, double diff) {
  int pd = std::abs(home_margin);
  double base = std::log(std::max(pd, 1) + 1.0);
  if (home_margin == 0) {
    return base * 2.2 / 1.0;
  }
  double winner_diff = home_margin > 0 ? diff : -diff;
  return base * 2.2 / (winner_diff * 0.001 + 2.2);
}

double elo_shift(const EloParams& p, int home_margin, double diff) {
  double outcome = home_margin > 0 ? 1.0 : (home_margin < 0 ? 0.0 : 0.5);
  double mult = p.mov ? elo_mov_multiplier(home_margin, diff) : 1.0;
  return p.k * mult * (outcome - elo_win_probability(diff));
}

EloRun run_elo(const std::vector<Game>& games, const EloParams& params) {
  std::vector<const Game*> order;
  order.reserve(games.size());
  for (const Game& g : games) {
    order.push_back(&g);
  }
  std::stable_sort(order.begin(), order.end(), [](const Game* a, const Game* b) {
    return std::tie(a->season, a->week, a->gameday, a->game_id) < std::tie(b->season, b->week, b->gameday, b->game_id);
  });

  EloRun run;
  std::map<std::string, double> rating; // by franchise
  std::optional<int> first_season;
  std::map<int, ProbabilityScore> elo_all;
  std::map<int, ProbabilityScore> elo_common;
  std::map<int, ProbabilityScore> market_common;

  std::size_t i = 0;
  while (i < order.size()) {
    const int season = order[i]->season;
    if (!first_season) {
      first_season = season;
    } else {
      for (auto& [team, r] : rating) {
        r = r * (1.0 - params.revert) + params.mean * params.revert;
      }
    }
    std::size_t end = i;
    std::map<std::string, std::string> code; // franchise -> this season's code
    while (end < order.size() && order[end]->season == season) {
      for (const std::string* t : {&order[end]->home_team, &order[end]->away_team}) {
        std::string f = franchise(*t);
        code[f] = *t;
        if (rating.count(f) == 0U) {
          rating[f] = season == *first_season ? params.initial : params.expansion;
        }
      }
      ++end;
    }
    for (const auto& [f, c] : code) {
      run.ratings.push_back({c, season, 0, rating[f]});
    }
    while (i < end) {
      const int week = order[i]->week;
      bool any_played = false;
      for (; i < end && order[i]->week == week; ++i) {
        const Game& g = *order[i];
        double& home = rating[franchise(g.home_team)];
        double& away = rating[franchise(g.away_team)];
        EloGame eg;
        eg.game = &g;
        eg.home_elo = home;
        eg.away_elo = away;
        eg.diff = home - away + (g.neutral ? 0.0 : params.home_advantage);
        eg.p_home = elo_win_probability(eg.diff);
        eg.spread = eg.diff / params.points_per_spread;
        eg.market_p_home = market_home_probability(g);
        if (g.played()) {
          double shift = elo_shift(params, g.result(), eg.diff);
          home += shift;
          away -= shift;
          eg.home_elo_post = home;
          eg.away_elo_post = away;
          any_played = true;
          double y = home_outcome(g);
          elo_all[season].add(eg.p_home, y);
          if (eg.market_p_home) {
            elo_common[season].add(eg.p_home, y);
            market_common[season].add(*eg.market_p_home, y);
          }
        }
        run.games.push_back(eg);
      }
      if (any_played) {
        for (const auto& [f, c] : code) {
          run.ratings.push_back({c, season, week, rating[f]});
        }
      }
    }
  }

  Json per_season = Json::object();
  ProbabilityScore all_total;
  ProbabilityScore elo_total;
  ProbabilityScore market_total;
  auto merge = [](ProbabilityScore& into, const ProbabilityScore& s) {
    into.brier_sum += s.brier_sum;
    into.log_loss_sum += s.log_loss_sum;
    into.n += s.n;
  };
  for (const auto& [season, score] : elo_all) {
    Json s = {{"elo_all_games", score.to_json()}};
    if (elo_common.count(season) != 0U) {
      s["elo"] = elo_common[season].to_json();
      s["market"] = market_common[season].to_json();
    }
    per_season[std::to_string(season)] = s;
    merge(all_total, score);
    merge(elo_total, elo_common[season]);
    merge(market_total, market_common[season]);
  }
  run.metrics = {{"per_season", per_season},
                 {"overall",
                  {{"elo_all_games", all_total.to_json()},
                   {"elo", elo_total.to_json()},
                   {"market", market_total.to_json()}}}};
  return run;
}

EloParams elo_params_from_config(const Json& config) {
  const std::string t = "elo";
  check_config_keys(config, t, {"k", "home_advantage", "revert", "mean", "initial", "expansion", "mov", "points_per_spread"});
  EloParams p;
  p.k = config_double(config, t, "k", p.k, 0.0, 200.0);
  p.home_advantage = config_double(config, t, "home_advantage", p.home_advantage, -400.0, 400.0);
  p.revert = config_double(config, t, "revert", p.revert, 0.0, 1.0);
  p.mean = config_double(config, t, "mean", p.mean, 0.0, 5000.0);
  p.initial = config_double(config, t, "initial", p.initial, 0.0, 5000.0);
  p.expansion = config_double(config, t, "expansion", p.expansion, 0.0, 5000.0);
  p.mov = config_bool(config, t, "mov", p.mov);
  p.points_per_spread = config_double(config, t, "points_per_spread", p.points_per_spread, 1.0, 1000.0);
  return p;
}

std::string elo_games_csv(const EloRun& run) {
  std::string out = "game_id,season,week,game_type,home_team,away_team,home_elo,away_elo,elo_diff,p_home,elo_spread,"
                    "market_p_home,home_score,away_score,home_elo_post,away_elo_post\n";
  for (const EloGame& e : run.games) {
    const Game& g = *e.game;
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", g.game_id, g.season, g.week, g.game_type,
                       g.home_team, g.away_team, fmt_num(e.home_elo), fmt_num(e.away_elo), fmt_num(e.diff),
                       fmt_num(e.p_home), fmt_num(e.spread), fmt_opt(e.market_p_home),
                       g.home_score ? std::to_string(*g.home_score) : "",
                       g.away_score ? std::to_string(*g.away_score) : "", fmt_opt(e.home_elo_post),
                       fmt_opt(e.away_elo_post));
  }
  return out;
}

std::string elo_ratings_csv(const EloRun& run) {
  std::string out = "team,season,week,rating\n";
  for (const EloRating& r : run.ratings) {
    out += fmt::format("{},{},{},{}\n", r.team, r.season, r.week, fmt_num(r.rating));
  }
  return out;
}

TaskType elo_task() {
  TaskType t;
  t.name = "elo";
  t.description = "FiveThirtyEight classic NFL Elo: ratings history, pre-game probabilities, Brier/log loss vs the "
                  "no-vig market";
  t.validate_config = [](const Json& config) { elo_params_from_config(config); };
  t.run = [](TaskContext& ctx) -> Json {
    auto started = std::chrono::steady_clock::now();
    EloParams p = elo_params_from_config(ctx.task.config);
    auto games = games_from_ingestion(ctx, "elo");
    throw_if_stopped(ctx);
    ctx.report_progress(30, "rating games");
    EloRun run = run_elo(games, p);
    throw_if_stopped(ctx);
    Json manifest = write_artifacts(ctx, {{"elo_games.csv", elo_games_csv(run)},
                                          {"elo_ratings.csv", elo_ratings_csv(run)}});
    Json result = run.metrics;
    result["params"] = {{"k", p.k},         {"home_advantage", p.home_advantage}, {"revert", p.revert},
                        {"mean", p.mean},   {"initial", p.initial},               {"expansion", p.expansion},
                        {"mov", p.mov},     {"points_per_spread", p.points_per_spread}};
    result["games"] = run.games.size();
    result["seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    result["artifacts"] = manifest;
    return result;
  };
  return t;
}

} // namespace nfl::analytics::data
