// The season simulator's inner loop (Google Benchmark): a full regular season drawn
// from week 1 (272 games in 2023), standings with tie-breakers, playoffs. The
// items/s counter is simulated seasons per second:
//   build/bench/season_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include "analytics/data/games.hpp"
#include "analytics/season/simulator.hpp"
#include "analytics/season/standings.hpp"

namespace {

using namespace nfl::analytics;
using namespace nfl::analytics::season;

const SimulationModel& model_2023() {
  static const SimulationModel model = [] {
    IngestReport report;
    const auto games = read_games_csv(bundled_games_csv(), report);
    SimulationModel m;
    m.schedule = schedule_for_season(games, 2023);
    m.start_week = 1;
    m.ratings = market_ratings(m.schedule);
    m.use_spread_lines = true;
    m.sigma = estimate_sigma(games, 2023, 1);
    return m;
  }();
  return model;
}

// Whole seasons: threads = the benchmark argument (1 and 2 show the scaling).
void bm_simulate_seasons(benchmark::State& state) {
  const SimulationModel& m = model_2023();
  SimulationOptions o;
  o.simulations = 20000;
  o.threads = static_cast<int>(state.range(0));
  std::int64_t seasons = 0;
  for (auto _ : state) {
    const SimulationResult r = simulate_season(m, o);
    benchmark::DoNotOptimize(r.teams.data());
    seasons += r.simulations;
  }
  state.SetItemsProcessed(seasons);
}
BENCHMARK(bm_simulate_seasons)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Standings and tie-breakers alone, on the real 2023 results.
void bm_standings(benchmark::State& state) {
  const SimulationModel& m = model_2023();
  SeasonTable table;
  for (const auto& g : m.schedule.regular) {
    table.add_game(g.home, g.away, *g.home_score, *g.away_score);
  }
  StandingsCalculator calc(7, 1);
  Standings s;
  for (auto _ : state) {
    SeasonTable copy = table;
    calc.compute(copy, s);
    benchmark::DoNotOptimize(s.seed.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_standings);

} // namespace

BENCHMARK_MAIN();
