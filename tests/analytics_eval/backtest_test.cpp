// Backtest kernels: a hand-settled slate, Kelly sizing, the bootstrap's
// reproducibility and its agreement with the analytic spread, and off-policy
// estimates against the exactly known value of the target policy.
#include <chrono>
#include <cmath>

#include <gtest/gtest.h>
#include <tbb/task_arena.h>

#include "analytics/evaluation/backtest.hpp"
#include "analytics/evaluation/common.hpp"
#include "util/error.hpp"

namespace nfl::analytics::eval {
namespace {

BetGame game(double p_model, double p_market, double home_ml, double away_ml, int outcome) {
  BetGame g;
  g.season = 2020;
  g.p_model = p_model;
  g.p_market = p_market;
  g.home_moneyline = home_ml;
  g.away_moneyline = away_ml;
  g.outcome = outcome;
  return g;
}

TEST(Odds, NoVigAndPayouts) {
  EXPECT_DOUBLE_EQ(no_vig_home_probability(-110, -110), 0.5);
  EXPECT_NEAR(no_vig_home_probability(+150, -170), 0.4 / (0.4 + 170.0 / 270.0), 1e-15);
  EXPECT_DOUBLE_EQ(american_profit_per_unit(-150), 100.0 / 150.0);
  EXPECT_DOUBLE_EQ(american_profit_per_unit(+130), 1.3);
  EXPECT_THROW(american_profit_per_unit(50), InputError);
}

TEST(Backtest, FlatStakesOnAHandSettledSlate) {
  const double p5 = no_vig_home_probability(+150, -170);
  const std::vector<BetGame> games = {
      game(0.60, 0.5, -110, -110, +1), // bet home, wins 100/110
      game(0.40, 0.5, -110, -110, +1), // bet away, loses 1
      game(0.51, 0.5, -110, -110, -1), // edge 0.01 < 0.02: no bet
      game(0.70, 0.5, -110, -110, 0),  // bet home, tie: push
      game(0.30, p5, +150, -170, -1),  // bet away at -170, wins 100/170
  };
  const auto r = run_strategy(games, StrategyConfig{});
  ASSERT_EQ(r.bets.size(), 4u);
  EXPECT_EQ(r.bets[1].side, -1);
  EXPECT_EQ(r.wins, 2u);
  EXPECT_EQ(r.losses, 1u);
  EXPECT_EQ(r.pushes, 1u);
  EXPECT_DOUBLE_EQ(r.staked, 4.0);
  const double profit = 100.0 / 110.0 - 1.0 + 100.0 / 170.0;
  EXPECT_NEAR(r.profit, profit, 1e-12);
  EXPECT_NEAR(r.roi, profit / 4.0, 1e-12);
  EXPECT_NEAR(r.hit_rate, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.max_drawdown, 1.0, 1e-12); // peak after game 1, trough after game 2
  EXPECT_NEAR(r.max_drawdown_pct, 1.0 / (100.0 + 100.0 / 110.0), 1e-12);
  EXPECT_NEAR(r.final_bankroll, 100.0 + profit, 1e-12);
  EXPECT_DOUBLE_EQ(r.game_stake[2], 0.0);
  // Per-bet returns {0.909, -1, 0, 0.588}: worst 5 % by linear interpolation lies between -1 and 0.
  EXPECT_NEAR(r.var95_per_bet, -(-1.0 + 0.15 * 1.0), 1e-12);
  EXPECT_NEAR(r.cvar95_per_bet, 1.0, 1e-12);
}

TEST(Backtest, FractionalKellyCompoundsTheBankroll) {
  StrategyConfig cfg;
  cfg.staking = Staking::kelly;
  cfg.kelly_fraction = 0.25;
  // Even money, p = 0.6: full Kelly 0.2 of the bankroll, a quarter of it 0.05.
  const std::vector<BetGame> games = {game(0.6, 0.5, +100, +100, +1), game(0.6, 0.5, +100, +100, -1),
                                      // edge over no-vig but not over the juice: p=0.53 at -120 has negative Kelly
                                      game(0.53, 0.5, -120, -120, +1)};
  const auto r = run_strategy(games, cfg);
  ASSERT_EQ(r.bets.size(), 2u);
  EXPECT_NEAR(r.bets[0].stake, 5.0, 1e-12);
  EXPECT_NEAR(r.bets[1].stake, 0.05 * 105.0, 1e-12);
  EXPECT_NEAR(r.final_bankroll, 105.0 * 0.95, 1e-12);
}

std::vector<BetGame> synthetic_season(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<BetGame> games;
  for (std::size_t i = 0; i < n; ++i) {
    const double truth = 0.25 + 0.5 * rng.uniform();
    const double market = std::clamp(truth + 0.03 * rng.normal(), 0.05, 0.95);
    const double model = std::clamp(truth + 0.05 * rng.normal(), 0.05, 0.95);
    // Price both sides with a 4.5 % margin, as American odds.
    auto american = [](double q) { return q >= 0.5 ? -100.0 * q / (1.0 - q) : 100.0 * (1.0 - q) / q; };
    const double hm = american(std::min(market * 1.045, 0.97));
    const double am = american(std::min((1.0 - market) * 1.045, 0.97));
    BetGame g = game(model, no_vig_home_probability(hm, am), hm, am, rng.uniform() < truth ? +1 : -1);
    g.season = 2000 + static_cast<int>(i / 270);
    games.push_back(g);
  }
  return games;
}

TEST(Bootstrap, ReproducibleIndependentOfThreadsAndNearTheAnalyticSpread) {
  const auto games = synthetic_season(3000, 17);
  const auto r = run_strategy(games, StrategyConfig{});
  ASSERT_GT(r.bets.size(), 500u);
  const auto a = bootstrap_games(r.game_profit, r.game_stake, 2000, 5);
  BootstrapSummary single;
  tbb::task_arena one(1);
  one.execute([&] { single = bootstrap_games(r.game_profit, r.game_stake, 2000, 5); });
  EXPECT_EQ(a.roi_low, single.roi_low);
  EXPECT_EQ(a.profit_high, single.profit_high);
  EXPECT_EQ(a.var95, single.var95);
  EXPECT_LT(a.roi_low, r.roi);
  EXPECT_GT(a.roi_high, r.roi);
  // The total profit over n iid games has sd sqrt(n) * sd(per-game profit); the
  // percentile interval spans about 2 * 1.96 of it.
  double mean = 0.0;
  for (const double x : r.game_profit) {
    mean += x;
  }
  mean /= static_cast<double>(r.game_profit.size());
  double ss = 0.0;
  for (const double x : r.game_profit) {
    ss += (x - mean) * (x - mean);
  }
  const double sd_total = std::sqrt(ss);
  EXPECT_NEAR((a.profit_high - a.profit_low) / (2 * 1.96 * sd_total), 1.0, 0.08);
  EXPECT_GT(a.cvar95, a.var95);
  EXPECT_NEAR(a.var95, -(mean * 3000 - 1.645 * sd_total), 0.15 * sd_total);
}

TEST(Bootstrap, TenThousandResamplesOverAllGamesTiming) {
  // Benchmark-style report only (the claim lives in bench/): 10,000 resamples of 7,000 games.
  const auto games = synthetic_season(7000, 3);
  const auto r = run_strategy(games, StrategyConfig{});
  const auto s = bootstrap_games(r.game_profit, r.game_stake, 10000, 1);
  RecordProperty("bootstrap_seconds", std::to_string(s.seconds));
  std::printf("bootstrap: 10000 resamples x %zu games in %.3f s\n", games.size(), s.seconds);
  EXPECT_EQ(s.used, 10000u);
}

TEST(Quantile, LinearInterpolationLikeNumpy) {
  EXPECT_DOUBLE_EQ(quantile_sorted({1, 2, 3, 4}, 0.25), 1.75);
  EXPECT_DOUBLE_EQ(quantile_sorted({1, 2, 3, 4}, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(quantile_sorted({5}, 0.3), 5.0);
}

TEST(OffPolicy, EstimatesAgreeWithTheKnownTargetValue) {
  const auto games = synthetic_season(20000, 29);
  OpeConfig cfg;
  const auto r = off_policy_evaluation(games, cfg);
  EXPECT_EQ(r.n, games.size());
  EXPECT_NEAR(r.snips, r.target_value, 4 * r.snips_se);
  EXPECT_NEAR(r.dr, r.target_value, 4 * r.dr_se);
  EXPECT_LT(r.effective_sample_size, static_cast<double>(games.size()));
  EXPECT_GT(r.effective_sample_size, 100.0);
  // Same policy logged and evaluated: every weight is 1.
  cfg.behaviour_temperature = cfg.target_temperature;
  const auto same = off_policy_evaluation(games, cfg);
  EXPECT_NEAR(same.snips, same.behaviour_value, 1e-12);
  EXPECT_NEAR(same.ips, same.behaviour_value, 1e-12);
  EXPECT_NEAR(same.effective_sample_size, static_cast<double>(games.size()), 1e-6);
}

TEST(OffPolicy, SoftmaxPolicyProbabilities) {
  const auto g = game(0.55, 0.5, -110, -110, 1);
  const auto p = softmax_policy(g, 0.02, 0.02);
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.0, 1e-15);
  const double e0 = std::exp(0.05 / 0.02);
  const double e1 = std::exp(-0.05 / 0.02);
  const double e2 = std::exp(0.02 / 0.02);
  EXPECT_NEAR(p[0], e0 / (e0 + e1 + e2), 1e-15);
  const auto rew = action_rewards(g);
  EXPECT_NEAR(rew[0], 100.0 / 110.0, 1e-15);
  EXPECT_EQ(rew[1], -1.0);
  EXPECT_EQ(rew[2], 0.0);
}

} // namespace
} // namespace nfl::analytics::eval
