// Random histories of adds, claims, completions, failures, cancels, requeues and
// merges, in random orders, on three machines with their own stores: once every
// machine has seen every snapshot, all hold the same state, and another round changes
// nothing (idempotent).
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include <spdlog/spdlog.h>

#include "sync_harness.hpp"

namespace nfl::test {
namespace {

constexpr Millis k_start = 1'764'300'000'000;

void random_history(std::uint64_t seed, int steps) {
  ScratchDir dir;
  std::mt19937_64 rng(seed);
  std::vector<std::unique_ptr<SimMachine>> machines;
  for (const char* id : {"alpha", "beta", "gamma"}) {
    Millis skew = std::uniform_int_distribution<Millis>(-300'000, 300'000)(rng);
    machines.push_back(std::make_unique<SimMachine>(id, dir.path(), k_start + skew, 60'000));
  }
  SimSyncTool tool({machines[0]->data_dir, machines[1]->data_dir, machines[2]->data_dir}, seed);
  tool.set_faults({.half_written = 0.1, .conflict_copy = 0.1, .max_delay_ticks = 2});
  std::uniform_int_distribution<int> pick_machine(0, 2);
  std::uniform_int_distribution<int> pick_action(0, 9);
  int n = 0;
  std::vector<std::pair<SimMachine*, Lease>> held;
  for (int step = 0; step < steps; ++step) {
    auto& m = *machines[static_cast<std::size_t>(pick_machine(rng))];
    m.clock->advance_ms(std::uniform_int_distribution<Millis>(0, 3000)(rng));
    auto any_task = [&](std::optional<TaskStatus> status) -> std::optional<Task> {
      auto all = m.store->list(status_filter(status));
      if (all.empty()) {
        return std::nullopt;
      }
      return all[std::uniform_int_distribution<std::size_t>(0, all.size() - 1)(rng)];
    };
    switch (pick_action(rng)) {
    case 0:
    case 1: {
      std::vector<Task> batch{noop_task(fmt::format("{}_{}", m.id, n++))};
      if (auto dep = any_task(std::nullopt); dep && n % 3 == 0) {
        batch.push_back(noop_task(fmt::format("{}_{}", m.id, n++), {dep->id}));
      }
      m.store->add(batch);
      break;
    }
    case 2:
    case 3:
      if (auto lease = m.store->claim(ClaimRequest{cpu_queues(), m.id, 10'000})) {
        int outcome = std::uniform_int_distribution<int>(0, 3)(rng);
        if (outcome <= 1) {
          m.store->complete(lease->task.id, lease->token, Json{{"by", m.id}}, Accounting{});
        } else if (outcome == 2) {
          m.store->fail(lease->task.id, lease->token, "boom", std::uniform_int_distribution<int>(0, 1)(rng) == 1);
        } else {
          // Left running: a worker still busy (finishes at the end) or one that died.
          held.push_back({&m, *lease});
        }
      }
      break;
    case 4:
      if (auto t = any_task(TaskStatus::pending)) {
        m.store->cancel(t->id);
      }
      break;
    case 5:
      if (auto t = any_task(TaskStatus::failed)) {
        m.store->requeue(t->id);
      } else if (auto c = any_task(TaskStatus::cancelled)) {
        m.store->requeue(c->id);
      }
      break;
    case 6:
    case 7:
      m.sync();
      break;
    default:
      tool.step();
      break;
    }
  }
  // Busy workers finish their attempts (a merge never pulls a running attempt from
  // under its worker, so a machine's view of a task it runs may differ until then);
  // some results are refused because the lease expired or the task changed meanwhile.
  for (auto& [m, lease] : held) {
    if (std::uniform_int_distribution<int>(0, 1)(rng) == 0) {
      m->store->complete(lease.task.id, lease.token, Json{{"by", m->id}}, Accounting{});
    } else {
      m->store->fail(lease.task.id, lease.token, "late failure", false);
    }
  }
  // Everyone sees everything: sync, let the folder settle, twice over (a change made by
  // an import - a dependent unblocked - needs one more exchange).
  for (int round = 0; round < 4; ++round) {
    for (auto& m : machines) {
      m->sync();
    }
    tool.settle();
  }
  std::string first = machines[0]->export_state();
  ASSERT_FALSE(first.empty());
  for (auto& m : machines) {
    std::string mine = m->export_state();
    ASSERT_TRUE(mine == first) << "seed " << seed << ": " << m->id << " differs from alpha:" << export_diff(first, mine);
  }
  for (auto& m : machines) {
    auto report = m->sync();
    EXPECT_EQ(report.local_changes, 0u) << "seed " << seed << " " << m->id;
    EXPECT_EQ(report.imported, 0u) << "seed " << seed << " " << m->id;
  }
  tool.settle();
  for (auto& m : machines) {
    m->sync();
    std::string again = m->export_state();
    EXPECT_TRUE(again == first) << "merging again changed " << m->id << export_diff(first, again);
  }
}

TEST(SyncProperty, RandomHistoriesConvergeToOneState) {
  if (std::getenv("NFL_SYNC_DEBUG")) {
    spdlog::set_level(spdlog::level::debug);
  }
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    random_history(seed, 120);
    if (HasFatalFailure()) {
      return;
    }
  }
}

} // namespace
} // namespace nfl::test
