#include "analytics/data/state_space.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numbers>
#include <set>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "analytics/data/data_common.hpp"
#include "util/error.hpp"

#include "analytics/normal.hpp"

namespace nfl::analytics::data {
namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

// Games in time order, grouped into steps (one NFL week of one season); teams indexed
// by franchise, the home advantage is the last state component.
struct Schedule {
  std::vector<const Game*> games;
  struct Step {
    int season = 0;
    int week = 0;
    std::size_t begin = 0;
    std::size_t end = 0;
  };
  std::vector<Step> steps;
  std::map<std::string, int> index; // franchise -> state index
  std::map<int, std::map<std::string, std::string>> codes; // season -> franchise -> code
  int teams = 0;
  int first_season = 0;
  int last_season = 0;
};

Schedule make_schedule(const std::vector<Game>& games) {
  Schedule s;
  for (const Game& g : games) {
    s.games.push_back(&g);
  }
  std::stable_sort(s.games.begin(), s.games.end(), [](const Game* a, const Game* b) {
    return std::tie(a->season, a->week, a->gameday, a->game_id) < std::tie(b->season, b->week, b->gameday, b->game_id);
  });
  std::set<std::string> franchises;
  for (const Game* g : s.games) {
    for (const std::string* t : {&g->home_team, &g->away_team}) {
      franchises.insert(franchise(*t));
      s.codes[g->season][franchise(*t)] = *t;
    }
  }
  for (const auto& f : franchises) {
    s.index[f] = s.teams++;
  }
  for (std::size_t i = 0; i < s.games.size();) {
    Schedule::Step step{s.games[i]->season, s.games[i]->week, i, i};
    while (step.end < s.games.size() && s.games[step.end]->season == step.season &&
           s.games[step.end]->week == step.week) {
      ++step.end;
    }
    i = step.end;
    s.steps.push_back(step);
  }
  if (!s.games.empty()) {
    s.first_season = s.games.front()->season;
    s.last_season = s.games.back()->season;
  }
  return s;
}

struct FilterPass {
  double log_lik_select = 0;
  std::size_t n_select = 0;
  std::vector<StateSpaceGame> games;
  // Per step, for the smoother.
  std::vector<VectorXd> x_pred, x_filt;
  std::vector<MatrixXd> p_pred, p_filt;
  std::vector<bool> season_start;
};

FilterPass filter(const Schedule& s, const StateSpaceParams& p, int select_from, int select_to, bool keep) {
  const int n = s.teams;
  const int d = n + 1;
  const int hfa = n;
  VectorXd x = VectorXd::Zero(d);
  x(hfa) = p.hfa_prior_mean;
  MatrixXd cov = MatrixXd::Zero(d, d);
  cov.diagonal().head(n).setConstant(p.strength_sd * p.strength_sd);
  cov(hfa, hfa) = p.hfa_prior_sd * p.hfa_prior_sd;
  const double obs_var = p.obs_sd * p.obs_sd;
  const double week_var = p.weekly_sd * p.weekly_sd;
  const double season_var = (1.0 - p.carryover * p.carryover) * p.strength_sd * p.strength_sd;
  const double log_2pi = std::log(2.0 * std::numbers::pi);

  FilterPass out;
  out.games.reserve(s.games.size());
  VectorXd pa(d);
  for (std::size_t k = 0; k < s.steps.size(); ++k) {
    const auto& step = s.steps[k];
    bool new_season = k > 0 && s.steps[k - 1].season != step.season;
    if (new_season) {
      x.head(n) *= p.carryover;
      cov.topLeftCorner(n, n) *= p.carryover * p.carryover;
      cov.col(hfa).head(n) *= p.carryover;
      cov.row(hfa).head(n) *= p.carryover;
      cov.diagonal().head(n).array() += season_var;
      cov(hfa, hfa) += p.hfa_season_sd * p.hfa_season_sd;
    } else if (k > 0) {
      cov.diagonal().head(n).array() += week_var;
    }
    if (keep) {
      out.x_pred.push_back(x);
      out.p_pred.push_back(cov);
      out.season_start.push_back(new_season);
    }
    // Predictions for the whole week come from the state before any of its results.
    const std::size_t first_game = out.games.size();
    for (std::size_t gi = step.begin; gi < step.end; ++gi) {
      const Game& g = *s.games[gi];
      int h = s.index.at(franchise(g.home_team));
      int a = s.index.at(franchise(g.away_team));
      double w = g.neutral ? 0.0 : 1.0;
      double m = x(h) - x(a) + w * x(hfa);
      double var = cov(h, h) + cov(a, a) - 2 * cov(h, a) + obs_var;
      if (w != 0.0) {
        var += cov(hfa, hfa) + 2 * cov(h, hfa) - 2 * cov(a, hfa);
      }
      double sd = std::sqrt(var);
      out.games.push_back({&g, m, sd, normal_cdf(m / sd)});
    }
    for (std::size_t gi = step.begin; gi < step.end; ++gi) {
      const Game& g = *s.games[gi];
      const StateSpaceGame& pred = out.games[first_game + (gi - step.begin)];
      if (!g.played()) {
        continue;
      }
      if (g.season >= select_from && g.season <= select_to) {
        double z = (g.result() - pred.pred_margin) / pred.pred_sd;
        out.log_lik_select += -0.5 * (log_2pi + z * z) - std::log(pred.pred_sd);
        ++out.n_select;
      }
      // Sequential scalar updates: with independent observation errors the same
      // posterior as one update with the whole week.
      int h = s.index.at(franchise(g.home_team));
      int a = s.index.at(franchise(g.away_team));
      double w = g.neutral ? 0.0 : 1.0;
      pa = cov.col(h) - cov.col(a) + w * cov.col(hfa);
      double var = pa(h) - pa(a) + w * pa(hfa) + obs_var;
      double innovation = g.result() - (x(h) - x(a) + w * x(hfa));
      x += pa * (innovation / var);
      cov.noalias() -= (pa / var) * pa.transpose();
    }
    if (keep) {
      out.x_filt.push_back(x);
      out.p_filt.push_back(cov);
    }
  }
  return out;
}

} // namespace

StateSpaceRun run_state_space(const std::vector<Game>& games, const StateSpaceParams& params, bool smooth,
                              const StateSpaceConfig& config) {
  Schedule s = make_schedule(games);
  StateSpaceRun run;
  run.params = params;
  if (s.games.empty()) {
    return run;
  }
  const int select_from = s.first_season + config.burn_in_seasons;
  FilterPass f = filter(s, params, select_from, s.last_season, smooth);
  run.games = std::move(f.games);
  if (!smooth) {
    return run;
  }
  const int n = s.teams;
  const int hfa = n;
  const std::size_t steps = s.steps.size();
  std::vector<VectorXd> xs(steps);
  std::vector<MatrixXd> ps(steps);
  xs[steps - 1] = f.x_filt[steps - 1];
  ps[steps - 1] = f.p_filt[steps - 1];
  for (std::size_t k = steps - 1; k-- > 0;) {
    // F of the transition into step k+1: ρ on the teams at a season start, else I.
    VectorXd fdiag = VectorXd::Ones(n + 1);
    if (f.season_start[k + 1]) {
      fdiag.head(n).setConstant(params.carryover);
    }
    MatrixXd fp = fdiag.asDiagonal() * f.p_filt[k]; // F P_filt
    // J = P_filt F' P_pred^-1  <=>  J' = P_pred^-1 (F P_filt)
    MatrixXd jt = f.p_pred[k + 1].ldlt().solve(fp);
    xs[k] = f.x_filt[k] + jt.transpose() * (xs[k + 1] - f.x_pred[k + 1]);
    ps[k] = f.p_filt[k] + jt.transpose() * (ps[k + 1] - f.p_pred[k + 1]) * jt;
  }
  std::map<int, double> hfa_end;
  for (std::size_t k = 0; k < steps; ++k) {
    const auto& step = s.steps[k];
    bool any_played = false;
    for (std::size_t gi = step.begin; gi < step.end; ++gi) {
      any_played = any_played || s.games[gi]->played();
    }
    if (any_played) {
      for (const auto& [fr, code] : s.codes.at(step.season)) {
        int i = s.index.at(fr);
        run.ratings.push_back({code, step.season, step.week, f.x_filt[k](i), std::sqrt(f.p_filt[k](i, i)), xs[k](i),
                               std::sqrt(std::max(ps[k](i, i), 0.0))});
      }
      hfa_end[step.season] = xs[k](hfa);
    }
  }
  run.hfa_smoothed.assign(hfa_end.begin(), hfa_end.end());
  return run;
}

HfaEstimate hfa_least_squares(const std::vector<Game>& games, int first_season, int last_season) {
  // Normal equations over sparse rows (three non-zeros each); the first team seen in
  // a season is its reference (strength 0) so that the system is not singular.
  std::map<std::pair<int, std::string>, int> col;
  std::set<int> seasons_with_reference;
  std::vector<const Game*> used;
  int strengths = 0;
  for (const Game& g : games) {
    if (!g.played() || g.season < first_season || g.season > last_season) {
      continue;
    }
    used.push_back(&g);
    for (const std::string* t : {&g.home_team, &g.away_team}) {
      auto key = std::make_pair(g.season, *t);
      if (col.count(key) != 0U) {
        continue;
      }
      col[key] = seasons_with_reference.insert(g.season).second ? -1 : strengths++;
    }
  }
  const int d = strengths + 1;
  const int h = strengths;
  MatrixXd xtx = MatrixXd::Zero(d, d);
  VectorXd xty = VectorXd::Zero(d);
  auto row_of = [&](const Game& g) {
    std::vector<std::pair<int, double>> r;
    int ch = col.at({g.season, g.home_team});
    int ca = col.at({g.season, g.away_team});
    if (ch >= 0) {
      r.emplace_back(ch, 1.0);
    }
    if (ca >= 0) {
      r.emplace_back(ca, -1.0);
    }
    if (!g.neutral) {
      r.emplace_back(h, 1.0);
    }
    return r;
  };
  for (const Game* g : used) {
    auto r = row_of(*g);
    for (auto [i, vi] : r) {
      xty(i) += vi * g->result();
      for (auto [j, vj] : r) {
        xtx(i, j) += vi * vj;
      }
    }
  }
  HfaEstimate est;
  est.games = used.size();
  if (used.size() < static_cast<std::size_t>(d) + 1) {
    return est;
  }
  auto ldlt = xtx.ldlt();
  VectorXd beta = ldlt.solve(xty);
  double rss = 0;
  for (const Game* g : used) {
    double fit = 0;
    for (auto [i, v] : row_of(*g)) {
      fit += v * beta(i);
    }
    rss += (g->result() - fit) * (g->result() - fit);
  }
  double sigma2 = rss / static_cast<double>(used.size() - static_cast<std::size_t>(d));
  VectorXd e = VectorXd::Zero(d);
  e(h) = 1.0;
  est.hfa = beta(h);
  est.se = std::sqrt(sigma2 * ldlt.solve(e)(h));
  return est;
}

namespace {

struct LineStats {
  std::size_t n = 0;
  double model_se = 0; // squared errors summed
  double line_se = 0;
  double resid_sum = 0; // result - spread_line
  double resid_sq = 0;
  void add(double result, double model, double line) {
    ++n;
    model_se += (result - model) * (result - model);
    line_se += (result - line) * (result - line);
    resid_sum += result - line;
    resid_sq += (result - line) * (result - line);
  }
  Json to_json() const {
    if (n < 2) {
      return {{"n", n}};
    }
    double dn = static_cast<double>(n);
    double mean = resid_sum / dn;
    return {{"n", n},
            {"model_mse", model_se / dn},
            {"line_mse", line_se / dn},
            {"model_rmse", std::sqrt(model_se / dn)},
            {"line_rmse", std::sqrt(line_se / dn)},
            {"result_minus_line_mean", mean},
            {"result_minus_line_sd", std::sqrt((resid_sq - dn * mean * mean) / (dn - 1))}};
  }
};

std::string era_name(int from, int to) {
  return fmt::format("{}-{}", from, to);
}

} // namespace

StateSpaceRun fit_state_space(const std::vector<Game>& games, const StateSpaceConfig& config,
                              std::stop_token stop) {
  Schedule s = make_schedule(games);
  if (s.games.empty()) {
    throw InputError("state_space: no games to fit");
  }
  // The holdout is the last seasons with results; selection uses the rest after burn-in.
  int last_played = s.first_season;
  for (const Game* g : s.games) {
    if (g->played()) {
      last_played = std::max(last_played, g->season);
    }
  }
  const int select_from = s.first_season + config.burn_in_seasons;
  const int select_to = last_played - config.holdout_seasons;
  if (select_to < select_from) {
    throw InputError(fmt::format("state_space config: holdout_seasons {} and burn_in_seasons {} leave no season "
                                 "({}-{}) to choose parameters on",
                                 config.holdout_seasons, config.burn_in_seasons, s.first_season, last_played));
  }
  std::vector<SweepPoint> sweep;
  for (double w : config.weekly_sd) {
    for (double o : config.obs_sd) {
      for (double r : config.carryover) {
        if (stop.stop_requested()) {
          throw TaskStopped();
        }
        StateSpaceParams p = config.fixed;
        p.weekly_sd = w;
        p.obs_sd = o;
        p.carryover = r;
        FilterPass f = filter(s, p, select_from, select_to, false);
        sweep.push_back({p, f.log_lik_select, f.n_select});
      }
    }
  }
  const SweepPoint& best = *std::max_element(sweep.begin(), sweep.end(), [](const SweepPoint& a, const SweepPoint& b) {
    return a.log_lik_select < b.log_lik_select;
  });
  StateSpaceRun run = run_state_space(games, best.params, true, config);
  run.sweep = sweep;

  // Predictive comparison with the closing line, and the log likelihood of the chosen
  // parameters on the holdout seasons (never used to choose them).
  LineStats select_stats;
  LineStats holdout_stats;
  LineStats all_stats;
  std::map<int, LineStats> per_season;
  double ll_holdout = 0;
  std::size_t n_holdout = 0;
  const double log_2pi = std::log(2.0 * std::numbers::pi);
  for (const StateSpaceGame& sg : run.games) {
    const Game& g = *sg.game;
    if (!g.played() || g.season < select_from) {
      continue;
    }
    if (g.season > select_to) {
      double z = (g.result() - sg.pred_margin) / sg.pred_sd;
      ll_holdout += -0.5 * (log_2pi + z * z) - std::log(sg.pred_sd);
      ++n_holdout;
    }
    if (!g.spread_line) {
      continue;
    }
    all_stats.add(g.result(), sg.pred_margin, *g.spread_line);
    per_season[g.season].add(g.result(), sg.pred_margin, *g.spread_line);
    (g.season > select_to ? holdout_stats : select_stats).add(g.result(), sg.pred_margin, *g.spread_line);
  }
  // sd(result - spread_line) over every played game with a line (no burn-in needed).
  LineStats line_all;
  for (const Game* g : s.games) {
    if (g->played() && g->spread_line) {
      line_all.add(g->result(), 0.0, *g->spread_line);
    }
  }
  Json result_minus_line = line_all.to_json();
  for (const char* k : {"model_mse", "model_rmse"}) {
    result_minus_line.erase(k); // no model in this one: only the line's own error
  }
  Json seasons = Json::object();
  for (const auto& [season, st] : per_season) {
    seasons[std::to_string(season)] = st.to_json();
  }
  Json hfa_eras = Json::object();
  for (std::size_t e = 0; e < config.era_starts.size(); ++e) {
    int from = config.era_starts[e];
    int to = e + 1 < config.era_starts.size() ? config.era_starts[e + 1] - 1 : last_played;
    HfaEstimate ls = hfa_least_squares(games, from, to);
    double smoothed_sum = 0;
    int smoothed_n = 0;
    for (auto [season, h] : run.hfa_smoothed) {
      if (season >= from && season <= to) {
        smoothed_sum += h;
        ++smoothed_n;
      }
    }
    hfa_eras[era_name(from, to)] = {{"least_squares", ls.hfa},
                                    {"least_squares_se", ls.se},
                                    {"games", ls.games},
                                    {"state_space_smoothed", smoothed_n > 0 ? Json(smoothed_sum / smoothed_n) : Json()}};
  }
  Json hfa_seasons = Json::object();
  for (auto [season, h] : run.hfa_smoothed) {
    hfa_seasons[std::to_string(season)] = h;
  }
  Json sweep_json = Json::array();
  for (const auto& sp : sweep) {
    sweep_json.push_back({{"weekly_sd", sp.params.weekly_sd},
                          {"obs_sd", sp.params.obs_sd},
                          {"carryover", sp.params.carryover},
                          {"log_lik", sp.log_lik_select},
                          {"mean_log_lik", sp.n_select ? sp.log_lik_select / static_cast<double>(sp.n_select) : 0.0}});
  }
  const StateSpaceParams& c = run.params;
  run.summary = {
      {"chosen",
       {{"weekly_sd", c.weekly_sd},
        {"obs_sd", c.obs_sd},
        {"carryover", c.carryover},
        {"strength_sd", c.strength_sd},
        {"hfa_prior_mean", c.hfa_prior_mean},
        {"hfa_prior_sd", c.hfa_prior_sd},
        {"hfa_season_sd", c.hfa_season_sd}}},
      {"selection_seasons", {select_from, select_to}},
      {"holdout_seasons", {select_to + 1, last_played}},
      {"selection_mean_log_lik", best.n_select ? best.log_lik_select / static_cast<double>(best.n_select) : 0.0},
      {"holdout_mean_log_lik", n_holdout ? ll_holdout / static_cast<double>(n_holdout) : 0.0},
      {"vs_closing_line",
       {{"all", all_stats.to_json()},
        {"selection", select_stats.to_json()},
        {"holdout", holdout_stats.to_json()},
        {"per_season", seasons}}},
      {"result_minus_spread_line", result_minus_line},
      {"hfa_by_era", hfa_eras},
      {"hfa_smoothed_by_season", hfa_seasons},
      {"sweep", sweep_json}};
  return run;
}

StateSpaceConfig state_space_config_from_json(const Json& config) {
  const std::string t = "state_space";
  check_config_keys(config, t,
             {"weekly_sd", "obs_sd", "carryover", "strength_sd", "hfa_prior_mean", "hfa_prior_sd", "hfa_season_sd",
              "burn_in_seasons", "holdout_seasons", "era_starts"});
  StateSpaceConfig c;
  c.weekly_sd = config_double_list(config, t, "weekly_sd", c.weekly_sd, 0.0, 20.0);
  c.obs_sd = config_double_list(config, t, "obs_sd", c.obs_sd, 0.1, 100.0);
  c.carryover = config_double_list(config, t, "carryover", c.carryover, 0.0, 1.0);
  if (c.weekly_sd.size() * c.obs_sd.size() * c.carryover.size() > 1000) {
    throw InputError("state_space config: weekly_sd x obs_sd x carryover is a grid of more than 1000 points");
  }
  c.fixed.strength_sd = config_double(config, t, "strength_sd", c.fixed.strength_sd, 0.1, 50.0);
  c.fixed.hfa_prior_mean = config_double(config, t, "hfa_prior_mean", c.fixed.hfa_prior_mean, -20.0, 20.0);
  c.fixed.hfa_prior_sd = config_double(config, t, "hfa_prior_sd", c.fixed.hfa_prior_sd, 0.01, 50.0);
  c.fixed.hfa_season_sd = config_double(config, t, "hfa_season_sd", c.fixed.hfa_season_sd, 0.0, 20.0);
  c.burn_in_seasons = config_int(config, t, "burn_in_seasons", c.burn_in_seasons, 0, 50);
  c.holdout_seasons = config_int(config, t, "holdout_seasons", c.holdout_seasons, 0, 50);
  auto eras = config_double_list(config, t, "era_starts", {1999, 2010, 2020}, 1900, 2200);
  c.era_starts.clear();
  for (double e : eras) {
    if (e != std::floor(e) || (!c.era_starts.empty() && e <= c.era_starts.back())) {
      throw InputError("state_space config: era_starts: expected increasing whole years");
    }
    c.era_starts.push_back(static_cast<int>(e));
  }
  return c;
}

std::string state_space_games_csv(const StateSpaceRun& run) {
  std::string out = "game_id,season,week,home_team,away_team,pred_margin,pred_sd,p_home,spread_line,result\n";
  for (const StateSpaceGame& sg : run.games) {
    const Game& g = *sg.game;
    out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", g.game_id, g.season, g.week, g.home_team, g.away_team,
                       fmt_num(sg.pred_margin), fmt_num(sg.pred_sd), fmt_num(sg.p_home), fmt_opt(g.spread_line),
                       g.played() ? std::to_string(g.result()) : "");
  }
  return out;
}

std::string state_space_ratings_csv(const StateSpaceRun& run) {
  std::string out = "team,season,week,rating_filtered,sd_filtered,rating_smoothed,sd_smoothed\n";
  for (const StateSpaceRating& r : run.ratings) {
    out += fmt::format("{},{},{},{},{},{},{}\n", r.team, r.season, r.week, fmt_num(r.filtered), fmt_num(r.filtered_sd),
                       fmt_num(r.smoothed), fmt_num(r.smoothed_sd));
  }
  return out;
}

TaskType state_space_task() {
  TaskType t;
  t.name = "state_space";
  t.description = "Glickman-Stern dynamic team strengths: Kalman filter, RTS smoother, noise sweep by one-step-ahead "
                  "log likelihood, comparison with the closing line";
  t.validate_config = [](const Json& config) { state_space_config_from_json(config); };
  t.run = [](TaskContext& ctx) -> Json {
    auto started = std::chrono::steady_clock::now();
    StateSpaceConfig c = state_space_config_from_json(ctx.task.config);
    auto games = games_from_ingestion(ctx, "state_space");
    throw_if_stopped(ctx);
    ctx.report_progress(10, "parameter sweep");
    StateSpaceRun run = fit_state_space(games, c, ctx.stop);
    throw_if_stopped(ctx);
    Json manifest = write_artifacts(ctx, {{"state_space_games.csv", state_space_games_csv(run)},
                                          {"state_space_ratings.csv", state_space_ratings_csv(run)}});
    Json result = run.summary;
    result["games"] = run.games.size();
    result["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    result["artifacts"] = manifest;
    return result;
  };
  return t;
}

} // namespace nfl::analytics::data
