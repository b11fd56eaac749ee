// Crashes, signals and store outages: nothing lost, nothing recorded twice.
#include <fstream>
#include <map>

#include "worker/result_log.hpp"
#include "worker_test_support.hpp"

namespace nfl::test {
namespace {

int count_lines_containing(const std::filesystem::path& file, const std::string& needle) {
  std::ifstream in(file);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    n += line.find(needle) != std::string::npos;
  }
  return n;
}

std::vector<std::string> add_all(TaskStore& store, std::vector<Task> tasks) {
  store.add(tasks);
  std::vector<std::string> ids;
  for (const auto& t : tasks) {
    ids.push_back(t.id);
  }
  return ids;
}

TEST(Resilience, KilledWorkersTasksAreReclaimedAndCompletedOnce) {
  RedisServer redis;
  TempDir dir;
  auto factory = redis_factory(redis.port());
  auto store = factory();
  std::vector<Task> tasks;
  // Long enough that none finishes between the poll seeing all four running and the
  // kill, even when a loaded machine delays that poll.
  for (int i = 0; i < 4; ++i) {
    tasks.push_back(make_task("sleep", Json{{"seconds", 2.0}, {"i", i}}, "cpu:sequential"));
  }
  auto ids = add_all(*store, tasks);

  auto config = test_config(dir.path());
  auto a = test_worker_options(config, "victim");
  a.lease_ms = 1000;
  pid_t victim = fork_worker(factory, config, a);
  // No event tells another process that a claim happened: watch the store.
  ASSERT_TRUE(eventually([&] { return store->status().counts["running"] == 4; }, std::chrono::seconds(10)));
  ::kill(victim, SIGKILL);
  EXPECT_EQ(wait_exit(victim), 128 + SIGKILL);

  auto b = test_worker_options(config, "survivor");
  b.lease_ms = 1000;
  b.burst = true; // waits for the expired leases, runs the tasks, then exits
  EXPECT_EQ(wait_exit(fork_worker(factory, config, b)), 0);

  for (const auto& id : ids) {
    auto t = store->get(id);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->status, TaskStatus::completed) << id;
    EXPECT_EQ(t->machine_id, "survivor");
    EXPECT_EQ(t->attempts, 2) << "the killed attempt counts";
    auto rec = find_result_record(config.data_dir, id, t->finished_at_ms);
    ASSERT_TRUE(rec) << id;
    EXPECT_EQ((*rec)["machine_id"], "survivor");
  }
  EXPECT_EQ(store->status().rejected_completions, 0);
}

TEST(Resilience, SigtermHandsUnfinishedTasksBackWithinGrace) {
  TempDir dir;
  auto factory = sqlite_factory(dir / "queue.db");
  auto store = factory();
  std::vector<Task> tasks;
  for (int i = 0; i < 3; ++i) {
    tasks.push_back(make_task("sleep", Json{{"seconds", 120}, {"i", i}}, "cpu:sequential"));
  }
  auto ids = add_all(*store, tasks);
  auto config = test_config(dir.path());
  auto o = test_worker_options(config, "graceful");
  o.grace = std::chrono::milliseconds(700);
  pid_t pid = fork_worker(factory, config, o);
  ASSERT_TRUE(eventually([&] { return store->status().counts["running"] == 3; }, std::chrono::seconds(10)));
  auto start = std::chrono::steady_clock::now();
  ::kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid), 0);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(600)) << "running tasks get the grace period";
  // Far below the tasks' 120 s and the default 30 s grace, which is what a worker that
  // ignored --grace would take; the rest is release and exit, which a loaded CI
  // machine or a sanitizer build stretches to seconds.
  EXPECT_LT(took, std::chrono::milliseconds(700 + 15'000));
  for (const auto& id : ids) {
    auto t = store->get(id);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->status, TaskStatus::pending) << id;
    EXPECT_EQ(t->attempts, 0) << "a release does not count an attempt";
  }
  EXPECT_EQ(read_stats(config, "graceful")["released"], 3);
  EXPECT_EQ(store->status().queues["cpu:sequential"].pending, 3);
}

TEST(Resilience, SecondSignalExitsAtOnce) {
  TempDir dir;
  auto factory = sqlite_factory(dir / "queue.db");
  auto store = factory();
  auto ids = add_all(*store, {make_task("sleep", Json{{"seconds", 120}}, "cpu:sequential")});
  auto config = test_config(dir.path());
  auto o = test_worker_options(config, "impatient");
  o.grace = std::chrono::milliseconds(60'000);
  pid_t pid = fork_worker(factory, config, o);
  ASSERT_TRUE(eventually([&] { return store->status().counts["running"] == 1; }, std::chrono::seconds(10)));
  ::kill(pid, SIGTERM);
  // The first signal is handled (the log says so) before the second one is sent.
  ASSERT_TRUE(eventually([&] { return count_lines_containing(config.data_dir / "logs" / "impatient.log", "stop requested") > 0; },
                         std::chrono::seconds(10)));
  // Timed from the second signal: waiting out the 60 s grace (or the 120 s task) is
  // the failure; how long a loaded machine takes to log the first signal is not.
  auto start = std::chrono::steady_clock::now();
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_exit(pid), 128 + SIGINT);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_EQ(store->get(ids[0])->status, TaskStatus::running) << "left to lease expiry";
}

TEST(Resilience, RedisOutageIsSurvivedAndSpooledResultsDelivered) {
  RedisServer redis({"--appendonly", "yes", "--appendfsync", "always"});
  TempDir dir;
  auto factory = redis_factory(redis.port());
  std::vector<std::string> ids;
  {
    auto store = factory();
    std::vector<Task> tasks;
    for (int i = 0; i < 40; ++i) {
      tasks.push_back(make_task("sleep", Json{{"seconds", 0.25}, {"i", i}}, "cpu:sequential"));
    }
    ids = add_all(*store, tasks);
  }
  auto config = test_config(dir.path());
  auto o = test_worker_options(config, "outage");
  o.burst = true;
  pid_t pid = fork_worker(factory, config, o);
  {
    auto store = factory();
    ASSERT_TRUE(eventually([&] { return store->status().counts["completed"] >= 8; }, std::chrono::seconds(20)));
  }
  // While the store is away the running tasks finish and their results are spooled.
  redis.stop();
  std::this_thread::sleep_for(std::chrono::seconds(3)); // the outage itself
  redis.start();
  EXPECT_EQ(wait_exit(pid), 0);

  auto store = factory();
  auto st = store->status();
  EXPECT_EQ(st.counts["completed"], 40);
  EXPECT_EQ(st.rejected_completions, 0);
  std::map<std::string, int> records;
  for (const auto& id : ids) {
    auto t = store->get(id);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->status, TaskStatus::completed) << id;
    EXPECT_TRUE(find_result_record(config.data_dir, id, t->finished_at_ms)) << id;
  }
  auto stats = read_stats(config, "outage");
  EXPECT_GE(stats["late"].get<int>(), 1) << "results computed during the outage were delivered afterwards";
  EXPECT_EQ(stats["completed"], 40);
  // One line per change of state, not one per retry.
  auto log = config.data_dir / "logs" / "outage.log";
  int down = count_lines_containing(log, "store unavailable");
  int up = count_lines_containing(log, "store reachable again");
  EXPECT_GE(down, 1);
  EXPECT_LE(down, 2);
  EXPECT_EQ(up, down);
  // Everything delivered: the spool file is gone.
  EXPECT_TRUE(std::filesystem::is_empty(config.state_dir / "spool"));
}

TEST(Resilience, ExecTasksThroughTheWorker) {
  TempDir dir;
  auto factory = sqlite_factory(dir / "queue.db");
  auto store = factory();
  auto ok = make_task("exec", Json{{"argv", {"/usr/bin/python3", "-c", "import json,sys; t=json.load(sys.stdin); print(json.dumps({'n': t['config']['n']*2}))"}}, {"n", 21}}, "cpu:sequential");
  auto bad_exit = make_task("exec", Json{{"argv", {"sh", "-c", "echo broken >&2; exit 4"}}}, "cpu:sequential");
  bad_exit.max_attempts = 1;
  auto slow = make_task("exec", Json{{"argv", {"sleep", "60"}}}, "cpu:sequential");
  slow.timeout_s = 1;
  slow.max_attempts = 1;
  auto missing = make_task("exec", Json{{"argv", {"definitely-not-a-program-xyz"}}}, "cpu:sequential");
  auto bad_config = make_task("exec", Json{{"argv", "echo hi"}}, "cpu:sequential");
  store->add(std::vector<Task>{ok, bad_exit, slow, missing, bad_config});

  auto config = test_config(dir.path());
  auto o = test_worker_options(config, "exec");
  o.burst = true;
  EXPECT_EQ(wait_exit(fork_worker(factory, config, o)), 0);

  auto t = store->get(ok.id);
  EXPECT_EQ(t->status, TaskStatus::completed);
  EXPECT_EQ(t->result, (Json{{"n", 42}}));
  EXPECT_GT(t->wall_seconds, 0.0);
  t = store->get(bad_exit.id);
  EXPECT_EQ(t->status, TaskStatus::failed);
  EXPECT_NE(t->error.find("broken"), std::string::npos) << t->error;
  t = store->get(slow.id);
  EXPECT_EQ(t->status, TaskStatus::failed);
  EXPECT_NE(t->error.find("timeout"), std::string::npos) << t->error;
  t = store->get(missing.id);
  EXPECT_EQ(t->status, TaskStatus::failed);
  EXPECT_EQ(t->attempts, 1) << "a missing program is not retried";
  EXPECT_NE(t->error.find("not found"), std::string::npos) << t->error;
  t = store->get(bad_config.id);
  EXPECT_EQ(t->status, TaskStatus::failed);
  EXPECT_NE(t->error.find("config.argv"), std::string::npos) << t->error;
}

} // namespace
} // namespace nfl::test
