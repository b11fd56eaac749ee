// The backtest task: a model-vs-closing-line betting strategy, its risk metrics, a
// game-level bootstrap and off-policy estimates (docs/analytics-evaluation.md).
#include <map>

#include <fmt/format.h>

#include "analytics/data/data_common.hpp"
#include "analytics/evaluation/backtest.hpp"
#include "analytics/evaluation/common.hpp"
#include "analytics/evaluation/task_support.hpp"
#include "analytics/evaluation/tasks.hpp"
#include "util/error.hpp"

namespace nfl::analytics::eval {

namespace {

constexpr const char* k_type = "backtest";

struct BacktestConfig {
  std::string model = "elo";
  StrategyConfig strategy;
  int bootstrap = 10000;
  std::uint64_t seed = 1;
  OpeConfig ope;
  SeasonWindow window;
};

BacktestConfig parse_config(const Json& config) {
  check_config_keys(config, k_type,
                    {"model", "threshold", "staking", "kelly_fraction", "flat_stake", "bankroll", "bootstrap", "seed",
                     "target_temperature", "behaviour_temperature", "min_season", "max_season"});
  BacktestConfig c;
  c.model = config_string(config, k_type, "model", "elo", {"elo", "state_space"});
  c.strategy.threshold = config_double(config, k_type, "threshold", 0.02, 0.0, 1.0);
  c.strategy.staking =
      config_string(config, k_type, "staking", "flat", {"flat", "kelly"}) == "kelly" ? Staking::kelly : Staking::flat;
  c.strategy.kelly_fraction = config_double(config, k_type, "kelly_fraction", 0.25, 1e-6, 1.0);
  c.strategy.flat_stake = config_double(config, k_type, "flat_stake", 1.0, 1e-9, 1e9);
  c.strategy.bankroll = config_double(config, k_type, "bankroll", 100.0, 1e-9, 1e12);
  c.bootstrap = config_int(config, k_type, "bootstrap", 10000, 1, 1000000);
  c.seed = static_cast<std::uint64_t>(config_int(config, k_type, "seed", 1, 0, 2147483647));
  c.ope.threshold = c.strategy.threshold;
  c.ope.target_temperature = config_double(config, k_type, "target_temperature", 0.02, 1e-4, 10.0);
  c.ope.behaviour_temperature = config_double(config, k_type, "behaviour_temperature", 0.10, 1e-4, 10.0);
  c.ope.seed = c.seed;
  c.window = season_window(config, k_type);
  return c;
}

Json run(TaskContext& ctx) {
  const auto c = parse_config(ctx.task.config);
  auto games = data::games_from_ingestion(ctx, k_type);
  sort_chronologically(games);
  const auto dir = required_input(ctx, c.model, k_type);
  const auto probs =
      column_by_game(artifact_file(dir, c.model == "elo" ? "elo_games.csv" : "state_space_games.csv"), "p_home");
  std::vector<BetGame> slate;
  for (const auto& g : games) {
    if (!g.played() || !c.window.contains(g.season)) {
      continue;
    }
    const auto market = market_probability(g);
    const auto it = probs.find(g.game_id);
    if (!market || it == probs.end()) {
      continue;
    }
    BetGame b;
    b.game_id = g.game_id;
    b.season = g.season;
    b.week = g.week;
    b.p_model = it->second;
    b.p_market = *market;
    b.home_moneyline = *g.home_moneyline;
    b.away_moneyline = *g.away_moneyline;
    b.outcome = g.result() > 0 ? 1 : (g.result() < 0 ? -1 : 0);
    slate.push_back(b);
  }
  if (slate.empty()) {
    throw TaskFailure("backtest: no played game has both moneylines and a model probability in the season window",
                      false);
  }
  ctx.report_progress(10, fmt::format("{} games with lines", slate.size()));
  const auto r = run_strategy(slate, c.strategy);
  throw_if_stopped(ctx);
  const auto boot = bootstrap_games(r.game_profit, r.game_stake, c.bootstrap, c.seed);
  throw_if_stopped(ctx);
  ctx.report_progress(70, "bootstrap done");
  const auto ope = off_policy_evaluation(slate, c.ope);

  std::map<int, std::array<double, 4>> seasons; // bets, staked, profit, wins
  std::string equity = "bet,game_id,season,week,side,edge,stake,profit,bankroll\n";
  std::size_t k = 0;
  for (const auto& bet : r.bets) {
    const auto& g = slate[bet.game];
    auto& s = seasons[g.season];
    s[0] += 1;
    s[1] += bet.stake;
    s[2] += bet.profit;
    s[3] += bet.profit > 0 ? 1 : 0;
    equity += fmt::format("{},{},{},{},{},{},{},{},{}\n", ++k, g.game_id, g.season, g.week,
                          bet.side > 0 ? "home" : "away", format_double(bet.edge), format_double(bet.stake),
                          format_double(bet.profit), format_double(bet.bankroll_after));
  }
  Json per_season = Json::array();
  for (const auto& [season, s] : seasons) {
    per_season.push_back({{"season", season},
                          {"bets", static_cast<int>(s[0])},
                          {"staked", s[1]},
                          {"profit", s[2]},
                          {"roi", s[1] > 0 ? s[2] / s[1] : 0.0},
                          {"wins", static_cast<int>(s[3])}});
  }
  Json summary = {{"games", r.games},
                  {"bets", r.bets.size()},
                  {"wins", r.wins},
                  {"losses", r.losses},
                  {"pushes", r.pushes},
                  {"staked", r.staked},
                  {"profit", r.profit},
                  {"roi", r.roi},
                  {"hit_rate", r.hit_rate},
                  {"final_bankroll", r.final_bankroll},
                  {"max_drawdown", r.max_drawdown},
                  {"max_drawdown_pct", r.max_drawdown_pct},
                  {"sharpe_per_bet", r.sharpe_per_bet},
                  {"sharpe_per_season", r.sharpe_per_season},
                  {"var95_per_bet", r.var95_per_bet},
                  {"cvar95_per_bet", r.cvar95_per_bet}};
  Json bootstrap = {{"resamples", boot.resamples}, {"used", boot.used},          {"roi_mean", boot.roi_mean},
                    {"roi_ci95", {boot.roi_low, boot.roi_high}},                 {"profit_mean", boot.profit_mean},
                    {"profit_ci95", {boot.profit_low, boot.profit_high}},        {"var95_total_profit", boot.var95},
                    {"cvar95_total_profit", boot.cvar95},                        {"seconds", boot.seconds}};
  Json ope_json = {{"actions", {"bet_home", "bet_away", "no_bet"}},
                   {"target_temperature", c.ope.target_temperature},
                   {"behaviour_temperature", c.ope.behaviour_temperature},
                   {"n", ope.n},
                   {"target_value_exact", ope.target_value},
                   {"behaviour_value", ope.behaviour_value},
                   {"ips", ope.ips},
                   {"snips", ope.snips},
                   {"snips_se", ope.snips_se},
                   {"doubly_robust", ope.dr},
                   {"doubly_robust_se", ope.dr_se},
                   {"effective_sample_size", ope.effective_sample_size}};
  Json doc = {{"config",
               {{"model", c.model},
                {"threshold", c.strategy.threshold},
                {"staking", c.strategy.staking == Staking::kelly ? "kelly" : "flat"},
                {"kelly_fraction", c.strategy.kelly_fraction},
                {"flat_stake", c.strategy.flat_stake},
                {"bankroll", c.strategy.bankroll},
                {"bootstrap", c.bootstrap},
                {"seed", c.seed},
                {"min_season", c.window.min_season},
                {"max_season", c.window.max_season}}},
              {"summary", summary},
              {"per_season", per_season},
              {"bootstrap", bootstrap},
              {"off_policy", ope_json}};
  Json result = {{"summary", summary}, {"roi_ci95", bootstrap["roi_ci95"]}};
  result["artifacts"] = write_artifacts(ctx, {{"backtest.json", doc.dump(1) + "\n"}, {"equity_curve.csv", equity}});
  ctx.report_progress(100, "done");
  return result;
}

} // namespace

TaskType backtest_task() {
  TaskType t;
  t.name = k_type;
  t.description = "Model-vs-closing-line betting backtest: ROI, hit rate, drawdown, Sharpe, bootstrap CIs, VaR/CVaR, "
                  "off-policy (SNIPS, doubly robust) estimates";
  t.validate_config = [](const Json& config) { parse_config(config); };
  t.run = run;
  return t;
}

} // namespace nfl::analytics::eval
