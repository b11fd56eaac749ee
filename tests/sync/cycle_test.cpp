// A dependency cycle that no single machine could add: alpha submits a -> b while b
// exists there, beta submits b -> a while a exists there, and the newer definitions
// win the merge. Whatever order the snapshots arrive in (delayed, half-written,
// conflict copies), every machine ends with a, b and what waits on them blocked under
// one reason naming the cycle, the same exported state, and nothing left to merge.
// (A single store's order independence: SyncConformance.CycleBlocking....)
#include <gtest/gtest.h>

#include "sync_harness.hpp"

namespace nfl::test {
namespace {

constexpr Millis k_start = 1'764'300'000'000;

void merge_a_cycle(std::uint64_t seed) {
  ScratchDir dir;
  std::mt19937_64 rng(seed);
  std::vector<std::unique_ptr<SimMachine>> machines;
  for (const char* id : {"alpha", "beta", "gamma"}) {
    machines.push_back(std::make_unique<SimMachine>(id, dir.path(), k_start, 60'000));
  }
  SimMachine& alpha = *machines[0];
  SimMachine& beta = *machines[1];
  SimMachine& gamma = *machines[2];
  SimSyncTool tool({alpha.data_dir, beta.data_dir, gamma.data_dir}, seed);
  tool.set_faults({.half_written = 0.2, .conflict_copy = 0.2, .max_delay_ticks = 2});

  // A round stamps a machine's new tasks. Plain definitions first, then each machine's
  // newer one with a dependency, before any file has travelled: a's newest is alpha's
  // (a -> b), b's newest is beta's (b -> a).
  auto submit_and_round = [](SimMachine& m, Millis at, std::vector<Task> tasks) {
    m.clock->advance_ms(at - m.clock->now_ms());
    m.store->add(tasks);
    m.sync();
  };
  submit_and_round(alpha, k_start + 1'000, {noop_task("b")});
  submit_and_round(beta, k_start + 2'000, {noop_task("a")});
  // c is behind the cycle, not on it.
  submit_and_round(alpha, k_start + 3'000, {noop_task("a", {"b"}), noop_task("c", {"a"})});
  submit_and_round(beta, k_start + 4'000, {noop_task("b", {"a"})});
  (void)gamma; // knows neither yet: learns both only through the folder

  std::uniform_int_distribution<int> pick(0, 3);
  for (int step = 0; step < 30; ++step) {
    int who = pick(rng);
    if (who == 3) {
      tool.step();
    } else {
      machines[static_cast<std::size_t>(who)]->clock->advance_ms(1'000);
      machines[static_cast<std::size_t>(who)]->sync();
    }
  }
  for (int round = 0; round < 4; ++round) {
    for (auto& m : machines) {
      m->clock->advance_ms(1'000);
      m->sync();
    }
    tool.settle();
  }

  std::string first = alpha.export_state();
  for (auto& m : machines) {
    for (const char* id : {"a", "b", "c"}) {
      auto t = m->store->get(id);
      ASSERT_TRUE(t) << m->id << " " << id;
      EXPECT_EQ(t->status, TaskStatus::blocked) << "seed " << seed << " " << m->id << " " << id;
      EXPECT_EQ(t->blocked_reason, "dependency cycle among a, b") << "seed " << seed << " " << m->id << " " << id;
    }
    EXPECT_EQ(m->store->get("a")->depends_on, std::vector<std::string>{"b"});
    EXPECT_EQ(m->store->get("b")->depends_on, std::vector<std::string>{"a"});
    EXPECT_FALSE(m->store->claim(ClaimRequest{{"cpu:parallel"}, m->id, 10'000}).has_value()) << m->id;
    std::string mine = m->export_state();
    EXPECT_TRUE(mine == first) << "seed " << seed << ": " << m->id << " differs from alpha:"
                               << export_diff(first, mine);
  }
  for (auto& m : machines) {
    auto report = m->sync();
    EXPECT_EQ(report.imported, 0u) << "seed " << seed << " " << m->id;
    EXPECT_EQ(report.local_changes, 0u) << "seed " << seed << " " << m->id;
  }
}

TEST(SyncCycle, AMergedDependencyCycleIsBlockedAlikeOnEveryMachine) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(seed);
    merge_a_cycle(seed);
  }
}

} // namespace
} // namespace nfl::test
