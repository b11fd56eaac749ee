// Analytics hot paths that issue 4 puts a number on:
//   backtest bootstrap: 10,000 resamples over all games (target: under a second).
//   build/bench/analytics_bench
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "analytics/data/games.hpp"
#include "analytics/evaluation/backtest.hpp"

namespace {

// One flat bet on the home side of every played game with moneylines, settled at the
// real closing odds: the same shape of input the backtest task bootstraps.
void bm_bootstrap_all_games(benchmark::State& state) {
  nfl::analytics::IngestReport report;
  auto games = nfl::analytics::read_games_csv(nfl::analytics::bundled_games_csv(), report);
  std::vector<double> profit;
  std::vector<double> stake;
  for (const auto& g : games) {
    if (!g.played() || !g.home_moneyline) {
      continue;
    }
    double ml = *g.home_moneyline;
    double win = ml > 0 ? ml / 100.0 : 100.0 / -ml;
    profit.push_back(g.result() > 0 ? win : (g.result() == 0 ? 0.0 : -1.0));
    stake.push_back(1.0);
  }
  const int resamples = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto summary = nfl::analytics::eval::bootstrap_games(profit, stake, resamples, 1);
    benchmark::DoNotOptimize(summary);
  }
  state.counters["games"] = static_cast<double>(profit.size());
  state.SetItemsProcessed(state.iterations() * resamples);
}
BENCHMARK(bm_bootstrap_all_games)->Arg(10'000)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
