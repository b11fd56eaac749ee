// Redis faults under a drain: killed (SIGKILL) and restarted from its AOF, frozen
// (SIGSTOP) for longer than a lease, and refusing writes (maxmemory reached with
// noeviction).
#include <csignal>
#include <thread>

#include <fmt/format.h>

#include "fault_harness.hpp"

namespace nfl::test::faults {
namespace {

using namespace std::chrono_literals;

std::int64_t running_count(TaskStore& store) {
  try {
    return store.status().counts["running"];
  } catch (const std::exception&) {
    return 0;
  }
}

TEST(Faults, RedisKilledAndRestartedFromAofMidDrain) {
  // The deployment's persistence (docker/redis.conf): AOF, fsync every second.
  RedisServer redis({"--appendonly", "yes", "--appendfsync", "everysec"});
  Rig rig("redis_sigkill_aof_restart", Backend::redis, redis.port());
  constexpr int k_tasks = 2000;
  auto ids = rig.submit("aof", k_tasks, TaskMix{.noop_share = 0.4, .sleep_max_s = 0.04});
  std::vector<Process> workers;
  for (int i = 0; i < 2; ++i) {
    workers.push_back(rig.spawn_worker(fmt::format("w{}", i)));
  }
  int crashes = 0;
  for (double share : {0.2, 0.55}) {
    {
      auto store = rig.store();
      ASSERT_TRUE(wait_for_completed(*store, static_cast<std::int64_t>(k_tasks * share), 120s));
    }
    redis.kill9();
    ++crashes;
    random_pause(rig.rng(), 500ms, 1500ms); // the outage
    redis.start();                          // same dir: replays appendonlydir/
  }
  for (int code : wait_all(workers, 180s)) {
    EXPECT_EQ(code, 0);
  }
  auto row = audit(rig, ids);
  auto logs = rig.all_logs();
  row.note = fmt::format("{} Redis SIGKILLs + AOF restarts (appendfsync everysec); {} outage(s) logged", crashes,
                         count_occurrences(logs, "store unavailable"));
  report(row);
  expect_clean(row);
  EXPECT_GE(count_occurrences(logs, "store unavailable"), 1);
  EXPECT_GE(count_occurrences(logs, "store reachable again"), 1);
}

TEST(Faults, RedisPausedLongerThanTheLease) {
  RedisServer redis;
  Rig rig("redis_sigstop_past_lease", Backend::redis, redis.port());
  constexpr int k_tasks = 600;
  // Sleeps long enough that every slot holds a task when Redis freezes.
  auto ids = rig.submit("stop", k_tasks, TaskMix{.noop_share = 0.2, .sleep_max_s = 0.3});
  std::vector<Process> workers;
  for (int i = 0; i < 2; ++i) {
    workers.push_back(rig.spawn_worker(fmt::format("w{}", i)));
  }
  {
    auto store = rig.store();
    ASSERT_TRUE(wait_until([&] { return completed_count(*store) >= 100 && running_count(*store) >= 4; }, 120s));
  }
  // Frozen past the lease (and past the workers' 5 s command timeout): the leases
  // expire while Redis cannot hear renewals; results finished meanwhile are spooled.
  const auto frozen = std::chrono::seconds(rig.lease_seconds() + 3);
  redis.pause();
  std::this_thread::sleep_for(frozen); // the fault itself
  redis.resume();
  for (int code : wait_all(workers, 180s)) {
    EXPECT_EQ(code, 0);
  }
  auto row = audit(rig, ids);
  auto logs = rig.all_logs();
  row.note = fmt::format("Redis SIGSTOP {} s > lease {} s, then SIGCONT; {} late deliveries", frozen.count(),
                         rig.lease_seconds(), count_occurrences(logs, "delivered=late"));
  report(row);
  expect_clean(row);
  EXPECT_GE(count_occurrences(logs, "store unavailable"), 1) << "the freeze went unnoticed";
}

TEST(Faults, RedisRefusingWritesAtMaxmemory) {
  RedisServer redis({"--maxmemory-policy", "noeviction"});
  Rig rig("redis_oom_noeviction", Backend::redis, redis.port());
  constexpr int k_tasks = 1000;
  auto ids = rig.submit("oom", k_tasks, TaskMix{.noop_share = 0.3, .sleep_max_s = 0.1});
  std::vector<Process> workers;
  for (int i = 0; i < 2; ++i) {
    workers.push_back(rig.spawn_worker(fmt::format("w{}", i)));
  }
  auto store = rig.store();
  ASSERT_TRUE(wait_for_completed(*store, 150, 120s));
  // Below what is in use: every write that would grow memory is refused from now on.
  redis.cli("CONFIG SET maxmemory 1");

  // A batch submitted now fails as a whole, with a message that says why.
  auto late_file = rig.write_tasks("late", 200, TaskMix{.noop_share = 1.0});
  std::string output;
  EXPECT_EQ(rig.submit_file(late_file, output), 1) << output;
  EXPECT_NE(output.find("out of memory"), std::string::npos) << output;
  EXPECT_NE(output.find("maxmemory"), std::string::npos) << output;
  for (int i = 0; i < 200; i += 37) {
    EXPECT_FALSE(store->get(fmt::format("late_{}", i))) << "no partial batch";
  }
  // The workers notice (claims and completions are writes) and keep their results.
  ASSERT_TRUE(wait_until([&] { return count_occurrences(rig.all_logs(), "out of memory") >= 1; }, 60s))
      << rig.all_logs().substr(0, 2000);
  const auto at_oom = completed_count(*store);
  random_pause(rig.rng(), 1000ms, 2000ms); // the OOM window
  redis.cli("CONFIG SET maxmemory 0");

  // Memory raised: the same batch goes in, and everything drains.
  EXPECT_EQ(rig.submit_file(late_file, output), 0) << output;
  for (int i = 0; i < 200; ++i) {
    ids.push_back(fmt::format("late_{}", i));
  }
  // The first workers may have drained the first batch and left (burst) meanwhile.
  workers.push_back(rig.spawn_worker("w-late"));
  for (int code : wait_all(workers, 180s)) {
    EXPECT_EQ(code, 0);
  }
  auto row = audit(rig, ids);
  row.note = fmt::format("maxmemory below use at {} completed; 200-task submit refused whole, resubmitted after "
                         "CONFIG SET maxmemory 0",
                         at_oom);
  report(row);
  expect_clean(row);
}

} // namespace
} // namespace nfl::test::faults
