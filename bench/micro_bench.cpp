// Hot-path micro-benchmarks (Google Benchmark): task JSON encoding and the SQLite
// claim/complete round trip. Built with the default build, never run by the tests:
//   build/bench/micro_bench [--benchmark_filter=...]
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <unistd.h>

#include "model/task.hpp"
#include "store/store_factory.hpp"
#include "util/clock.hpp"

namespace {

nfl::Task sample_task(std::int64_t index) {
  nfl::Task t;
  t.task_type = "noop";
  t.name = "bench task " + std::to_string(index);
  t.config = nfl::Json{{"i", index}, {"season", 2024}, {"weeks", {1, 2, 3, 4}}, {"model", "elo"}};
  t.priority = nfl::Priority::high;
  nfl::normalise(t, nfl::system_clock()->now_ms());
  return t;
}

void bm_task_to_json(benchmark::State& state) {
  const nfl::Task t = sample_task(1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(nfl::task_to_json(t));
  }
}
BENCHMARK(bm_task_to_json);

void bm_task_from_json(benchmark::State& state) {
  const nfl::Json j = nfl::task_to_json(sample_task(1));
  for (auto _ : state) {
    benchmark::DoNotOptimize(nfl::task_from_json(j));
  }
}
BENCHMARK(bm_task_from_json);

void bm_task_json_text_round_trip(benchmark::State& state) {
  const std::string text = nfl::task_to_json(sample_task(1)).dump();
  for (auto _ : state) {
    nfl::Task t = nfl::task_from_json(nfl::Json::parse(text));
    benchmark::DoNotOptimize(nfl::task_to_json(t).dump());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(bm_task_json_text_round_trip);

// One claim plus one complete on a file-backed SQLite store with `range(0)` pending
// tasks; refilled outside the timing when it runs low.
void bm_sqlite_claim_complete(benchmark::State& state) {
  std::string templ = (std::filesystem::temp_directory_path() / "nfl-micro-XXXXXX").string();
  if (!::mkdtemp(templ.data())) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::filesystem::path dir = templ;
  {
    auto store = nfl::make_sqlite_store(dir / "bench.db", nfl::StoreOptions{});
    const std::int64_t backlog = state.range(0);
    std::int64_t next = 0;
    auto refill = [&] {
      std::vector<nfl::Task> batch;
      for (std::int64_t i = 0; i < backlog; ++i) {
        batch.push_back(sample_task(next++));
      }
      store->add(batch);
    };
    refill();
    nfl::ClaimRequest req;
    req.queues = {sample_task(0).queue};
    req.machine_id = "micro";
    std::int64_t left = backlog;
    for (auto _ : state) {
      if (left == 0) {
        state.PauseTiming();
        refill();
        left = backlog;
        state.ResumeTiming();
      }
      auto lease = store->claim(req);
      if (!lease) {
        state.SkipWithError("claim found the queue empty");
        break;
      }
      store->complete(lease->task.id, lease->token, nfl::Json::object(), nfl::Accounting{});
      --left;
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(bm_sqlite_claim_complete)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
