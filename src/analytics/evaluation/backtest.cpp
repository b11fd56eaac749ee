#include "analytics/evaluation/backtest.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>

#include <fmt/format.h>
#include <tbb/parallel_for.h>

#include "analytics/evaluation/common.hpp"
#include "util/error.hpp"

namespace nfl::analytics::eval {

double quantile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) {
    return 0.0;
  }
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

namespace {

// -quantile and -mean of the tail at or below it.
std::pair<double, double> var_cvar(std::vector<double> values, double alpha) {
  if (values.empty()) {
    return {0.0, 0.0};
  }
  std::sort(values.begin(), values.end());
  const double q = quantile_sorted(values, alpha);
  double sum = 0.0;
  std::size_t count = 0;
  for (const double v : values) {
    if (v > q) {
      break;
    }
    sum += v;
    ++count;
  }
  return {-q, count == 0 ? -q : -sum / static_cast<double>(count)};
}

} // namespace

BacktestResult run_strategy(const std::vector<BetGame>& games, const StrategyConfig& config) {
  BacktestResult r;
  r.games = games.size();
  r.game_profit.assign(games.size(), 0.0);
  r.game_stake.assign(games.size(), 0.0);
  double bankroll = config.bankroll;
  double peak = bankroll;
  std::vector<double> returns;
  std::map<int, int> bets_per_season;
  for (std::size_t i = 0; i < games.size(); ++i) {
    const auto& g = games[i];
    const double edge_home = g.p_model - g.p_market;
    int side = 0;
    if (edge_home > config.threshold) {
      side = 1;
    } else if (-edge_home > config.threshold) {
      side = -1;
    }
    if (side == 0) {
      continue;
    }
    const double odds = american_profit_per_unit(side == 1 ? g.home_moneyline : g.away_moneyline);
    const double p_side = side == 1 ? g.p_model : 1.0 - g.p_model;
    double stake = config.flat_stake;
    if (config.staking == Staking::kelly) {
      const double full_kelly = p_side - (1.0 - p_side) / odds;
      if (full_kelly <= 0.0 || bankroll <= 0.0) {
        continue; // the edge over the no-vig line does not survive the bookmaker's margin
      }
      stake = config.kelly_fraction * full_kelly * bankroll;
    }
    double profit = 0.0;
    if (g.outcome == 0) {
      ++r.pushes;
    } else if (g.outcome == side) {
      profit = stake * odds;
      ++r.wins;
    } else {
      profit = -stake;
      ++r.losses;
    }
    bankroll += profit;
    peak = std::max(peak, bankroll);
    r.max_drawdown = std::max(r.max_drawdown, peak - bankroll);
    if (peak > 0) {
      r.max_drawdown_pct = std::max(r.max_drawdown_pct, (peak - bankroll) / peak);
    }
    r.staked += stake;
    r.profit += profit;
    r.game_profit[i] = profit;
    r.game_stake[i] = stake;
    returns.push_back(profit / stake);
    ++bets_per_season[g.season];
    r.bets.push_back({i, side, side == 1 ? edge_home : -edge_home, stake, profit, bankroll});
  }
  r.final_bankroll = bankroll;
  r.roi = r.staked > 0 ? r.profit / r.staked : 0.0;
  r.hit_rate = r.wins + r.losses > 0 ? static_cast<double>(r.wins) / static_cast<double>(r.wins + r.losses) : 0.0;
  if (returns.size() >= 2) {
    const double mean = std::accumulate(returns.begin(), returns.end(), 0.0) / static_cast<double>(returns.size());
    double ss = 0.0;
    for (const double x : returns) {
      ss += (x - mean) * (x - mean);
    }
    const double sd = std::sqrt(ss / static_cast<double>(returns.size() - 1));
    r.sharpe_per_bet = sd > 0 ? mean / sd : 0.0;
    const double per_season = static_cast<double>(returns.size()) / static_cast<double>(bets_per_season.size());
    r.sharpe_per_season = r.sharpe_per_bet * std::sqrt(per_season);
  }
  std::tie(r.var95_per_bet, r.cvar95_per_bet) = var_cvar(returns, 0.05);
  return r;
}

BootstrapSummary bootstrap_games(const std::vector<double>& game_profit, const std::vector<double>& game_stake,
                                 int resamples, std::uint64_t seed, double confidence) {
  if (game_profit.size() != game_stake.size()) {
    throw InputError("bootstrap: profit and stake sizes differ");
  }
  if (resamples < 1) {
    throw InputError(fmt::format("bootstrap: resamples must be at least 1, got {}", resamples));
  }
  const auto start = std::chrono::steady_clock::now();
  BootstrapSummary s;
  s.resamples = static_cast<std::size_t>(resamples);
  const std::size_t n = game_profit.size();
  std::vector<double> profit(s.resamples, 0.0);
  std::vector<double> roi(s.resamples, std::nan(""));
  if (n > 0) {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, s.resamples, 64), [&](const auto& range) {
      for (std::size_t b = range.begin(); b != range.end(); ++b) {
        Rng rng(seed, b);
        double p = 0.0;
        double st = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
          const auto j = rng.below(n);
          p += game_profit[j];
          st += game_stake[j];
        }
        profit[b] = p;
        roi[b] = st > 0 ? p / st : std::nan("");
      }
    });
  }
  std::vector<double> rois;
  for (const double x : roi) {
    if (!std::isnan(x)) {
      rois.push_back(x);
    }
  }
  s.used = rois.size();
  const double tail = (1.0 - confidence) / 2.0;
  std::sort(rois.begin(), rois.end());
  if (!rois.empty()) {
    s.roi_mean = std::accumulate(rois.begin(), rois.end(), 0.0) / static_cast<double>(rois.size());
    s.roi_low = quantile_sorted(rois, tail);
    s.roi_high = quantile_sorted(rois, 1.0 - tail);
  }
  std::vector<double> sorted_profit = profit;
  std::sort(sorted_profit.begin(), sorted_profit.end());
  s.profit_mean = std::accumulate(profit.begin(), profit.end(), 0.0) / static_cast<double>(profit.size());
  s.profit_low = quantile_sorted(sorted_profit, tail);
  s.profit_high = quantile_sorted(sorted_profit, 1.0 - tail);
  std::tie(s.var95, s.cvar95) = var_cvar(profit, 0.05);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return s;
}

std::array<double, 3> softmax_policy(const BetGame& g, double threshold, double temperature) {
  const double edge = g.p_model - g.p_market;
  const std::array<double, 3> score = {edge / temperature, -edge / temperature, threshold / temperature};
  const double m = std::max({score[0], score[1], score[2]});
  std::array<double, 3> p{};
  double sum = 0.0;
  for (std::size_t a = 0; a < 3; ++a) {
    p[a] = std::exp(score[a] - m);
    sum += p[a];
  }
  for (auto& x : p) {
    x /= sum;
  }
  return p;
}

std::array<double, 3> action_rewards(const BetGame& g) {
  const double home = american_profit_per_unit(g.home_moneyline);
  const double away = american_profit_per_unit(g.away_moneyline);
  if (g.outcome == 0) {
    return {0.0, 0.0, 0.0};
  }
  return {g.outcome > 0 ? home : -1.0, g.outcome < 0 ? away : -1.0, 0.0};
}

OpeResult off_policy_evaluation(const std::vector<BetGame>& games, const OpeConfig& config) {
  if (!(config.target_temperature > 0) || !(config.behaviour_temperature > 0)) {
    throw InputError("ope: temperatures must be positive");
  }
  OpeResult r;
  r.n = games.size();
  if (games.empty()) {
    return r;
  }
  Rng rng(config.seed ^ 0x6f70655f6c6f67ULL); // logging stream, separate from the bootstrap's
  std::vector<double> w(games.size());
  std::vector<double> reward(games.size());
  std::vector<double> dr_terms(games.size());
  double sum_target = 0.0;
  double sum_logged = 0.0;
  for (std::size_t i = 0; i < games.size(); ++i) {
    const auto& g = games[i];
    const auto pi = softmax_policy(g, config.threshold, config.target_temperature);
    const auto mu = softmax_policy(g, config.threshold, config.behaviour_temperature);
    const auto rew = action_rewards(g);
    // Reward model: expected profit if the no-vig market probability were the truth.
    const double bh = american_profit_per_unit(g.home_moneyline);
    const double ba = american_profit_per_unit(g.away_moneyline);
    const std::array<double, 3> q = {g.p_market * bh - (1.0 - g.p_market), (1.0 - g.p_market) * ba - g.p_market,
                                     0.0};
    double v_true = 0.0;
    double v_model = 0.0;
    for (std::size_t a = 0; a < 3; ++a) {
      v_true += pi[a] * rew[a];
      v_model += pi[a] * q[a];
    }
    sum_target += v_true;
    const double u = rng.uniform();
    const std::size_t a = u < mu[0] ? 0 : (u < mu[0] + mu[1] ? 1 : 2);
    w[i] = pi[a] / mu[a];
    reward[i] = rew[a];
    sum_logged += rew[a];
    dr_terms[i] = v_model + w[i] * (rew[a] - q[a]);
  }
  const double n = static_cast<double>(games.size());
  r.target_value = sum_target / n;
  r.behaviour_value = sum_logged / n;
  double sw = 0.0;
  double sw2 = 0.0;
  double swr = 0.0;
  for (std::size_t i = 0; i < games.size(); ++i) {
    sw += w[i];
    sw2 += w[i] * w[i];
    swr += w[i] * reward[i];
  }
  r.ips = swr / n;
  r.snips = swr / sw;
  r.effective_sample_size = sw * sw / sw2;
  double var_snips = 0.0;
  for (std::size_t i = 0; i < games.size(); ++i) {
    var_snips += w[i] * w[i] * (reward[i] - r.snips) * (reward[i] - r.snips);
  }
  r.snips_se = std::sqrt(var_snips) / sw;
  r.dr = std::accumulate(dr_terms.begin(), dr_terms.end(), 0.0) / n;
  double ss = 0.0;
  for (const double t : dr_terms) {
    ss += (t - r.dr) * (t - r.dr);
  }
  r.dr_se = games.size() > 1 ? std::sqrt(ss / (n - 1.0) / n) : 0.0;
  return r;
}

} // namespace nfl::analytics::eval
