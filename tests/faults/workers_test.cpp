// Workers killed with SIGKILL at random moments during a drain of thousands of
// tasks, again and again, and restarted (as a supervisor would): every task is
// completed exactly once with its one result record.
#include <csignal>

#include <fmt/format.h>

#include "fault_harness.hpp"

namespace nfl::test::faults {
namespace {

constexpr int k_workers = 3;
constexpr int k_kills = 12;

void sigkill_drain(Backend backend, int port, int task_count) {
  Rig rig("workers_sigkill", backend, port);
  // A quarter no-ops (a kill lands between claim, complete and record write), the
  // rest short sleeps (a kill lands mid-task).
  auto ids = rig.submit("kill", task_count, TaskMix{.noop_share = 0.25, .sleep_max_s = 0.1});
  auto store = rig.store();
  std::vector<Process> workers;
  for (int i = 0; i < k_workers; ++i) {
    workers.push_back(rig.spawn_worker(fmt::format("w{}", i)));
  }
  std::uniform_int_distribution<int> pick(0, k_workers - 1);
  int kills = 0;
  for (auto mark : progress_marks(rig.rng(), task_count, k_kills, 0.05, 0.85)) {
    ASSERT_TRUE(wait_for_completed(*store, mark, std::chrono::seconds(120)))
        << "the drain stalled before " << mark << " completions";
    // A random worker still running (one may have drained and left already).
    const int first = pick(rig.rng());
    for (int step = 0; step < k_workers; ++step) {
      auto& victim = workers[static_cast<std::size_t>((first + step) % k_workers)];
      if (!victim.running()) {
        continue;
      }
      victim.signal(SIGKILL);
      EXPECT_EQ(victim.wait(), 128 + SIGKILL);
      ++kills;
      // Restarted at once under the same machine id, as systemd or Docker would.
      victim = rig.spawn_worker(fmt::format("w{}", (first + step) % k_workers));
      break;
    }
  }
  for (int code : wait_all(workers, std::chrono::seconds(180))) {
    EXPECT_EQ(code, 0) << "a burst worker ends 0 once the queue is drained";
  }
  auto row = audit(rig, ids);
  // Results a killed worker had computed are delivered by its successor from the spool.
  auto logs = rig.all_logs();
  row.note = fmt::format("{} workers x4 slots, {} SIGKILLs at random moments, lease {} s; {} spool(s) adopted, {} "
                         "late deliveries",
                         k_workers, kills, rig.lease_seconds(), count_occurrences(logs, "spool: adopted"),
                         count_occurrences(logs, "delivered=late"));
  report(row);
  expect_clean(row);
  EXPECT_EQ(kills, k_kills) << "every worker had left before the last kill";
  EXPECT_GT(row.retried, 0) << "no kill hit a running task";
}

TEST(Faults, WorkersSigkilledDuringDrainOnRedis) {
  RedisServer redis;
  sigkill_drain(Backend::redis, redis.port(), 3000);
}

TEST(Faults, WorkersSigkilledDuringDrainOnSqlite) { sigkill_drain(Backend::sqlite, 0, 2000); }

} // namespace
} // namespace nfl::test::faults
