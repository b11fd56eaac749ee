#pragma once
// Betting backtest kernels against closing moneylines (pure, no I/O): a threshold
// strategy with flat or fractional-Kelly stakes, its performance and risk metrics,
// a game-level bootstrap, and off-policy estimates for a stochastic target policy.
// Definitions in docs/analytics-evaluation.md.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace nfl::analytics::eval {

struct BetGame {
  std::string game_id;
  int season = 0;
  int week = 0;
  double p_model = 0.5;  // model's P(home win)
  double p_market = 0.5; // no-vig closing P(home win)
  double home_moneyline = -110;
  double away_moneyline = -110;
  int outcome = 0; // +1 home won, -1 away won, 0 tie (a push: stake returned)
};

enum class Staking { flat, kelly };

struct StrategyConfig {
  double threshold = 0.02;      // bet a side when model P - no-vig P for that side exceeds this
  Staking staking = Staking::flat;
  double flat_stake = 1.0;      // units per bet (flat)
  double kelly_fraction = 0.25; // fraction of the full-Kelly stake (kelly)
  double bankroll = 100.0;      // starting units
};

struct BetRecord {
  std::size_t game = 0; // index into the games
  int side = 0;         // +1 home, -1 away
  double edge = 0.0;
  double stake = 0.0;
  double profit = 0.0;
  double bankroll_after = 0.0;
};

struct BacktestResult {
  std::vector<BetRecord> bets;
  std::vector<double> game_profit; // per game (0 where no bet), in game order
  std::vector<double> game_stake;
  std::size_t games = 0;
  std::size_t wins = 0;
  std::size_t losses = 0;
  std::size_t pushes = 0;
  double staked = 0.0;
  double profit = 0.0;
  double roi = 0.0;      // profit / staked
  double hit_rate = 0.0; // wins / (wins + losses)
  double final_bankroll = 0.0;
  double max_drawdown = 0.0;     // largest peak-to-trough fall of the bankroll, units
  double max_drawdown_pct = 0.0; // the same as a fraction of the peak
  double sharpe_per_bet = 0.0;   // mean / sd (n-1) of per-bet returns profit/stake
  double sharpe_per_season = 0.0; // sharpe_per_bet * sqrt(mean bets per season)
  double var95_per_bet = 0.0;     // -5 % quantile of per-bet returns (units per unit staked)
  double cvar95_per_bet = 0.0;    // -mean of per-bet returns at or below that quantile
};

// Games must be in chronological order (the caller sorts); stakes are sized on the
// bankroll before each game, profit settled after it.
BacktestResult run_strategy(const std::vector<BetGame>& games, const StrategyConfig& config);

struct BootstrapSummary {
  std::size_t resamples = 0;
  std::size_t used = 0; // resamples with at least one bet
  double roi_mean = 0.0;
  double roi_low = 0.0; // percentile interval
  double roi_high = 0.0;
  double profit_mean = 0.0;
  double profit_low = 0.0;
  double profit_high = 0.0;
  double var95 = 0.0;  // -5 % quantile of total profit over resampled histories
  double cvar95 = 0.0; // -mean of total profit at or below it
  double seconds = 0.0;
};

// Resamples the games (n of n, with replacement; games without a bet included) and
// recomputes total profit and ROI; resample b uses its own stream Rng(seed, b), so
// the result does not depend on the thread count.
BootstrapSummary bootstrap_games(const std::vector<double>& game_profit, const std::vector<double>& game_stake,
                                 int resamples, std::uint64_t seed, double confidence = 0.95);

// numpy.percentile(..., method="linear") of sorted values, q in [0, 1].
double quantile_sorted(const std::vector<double>& sorted, double q);

// Off-policy evaluation. Actions: bet home, bet away, no bet (flat one-unit stakes).
// Both policies are softmax policies over the scores (edge, -edge, threshold) where
// edge = p_model - p_market: pi(a|x) ~ exp(score_a / temperature).
struct OpeConfig {
  double threshold = 0.02;
  double target_temperature = 0.02;
  double behaviour_temperature = 0.10;
  std::uint64_t seed = 1;
};
struct OpeResult {
  std::size_t n = 0;
  double target_value = 0.0;    // exact value of the target policy on these games (all outcomes known)
  double behaviour_value = 0.0; // mean logged reward
  double ips = 0.0;
  double snips = 0.0;
  double snips_se = 0.0;
  double dr = 0.0;
  double dr_se = 0.0;
  double effective_sample_size = 0.0; // (sum w)^2 / sum w^2
};
// Probabilities of (home, away, none) under a softmax policy.
std::array<double, 3> softmax_policy(const BetGame& g, double threshold, double temperature);
// Reward (profit of a one-unit stake) of each action given the outcome.
std::array<double, 3> action_rewards(const BetGame& g);
OpeResult off_policy_evaluation(const std::vector<BetGame>& games, const OpeConfig& config);

} // namespace nfl::analytics::eval
