// Two worker processes drain one queue store: every task completed exactly once,
// priority order kept per queue, nothing left. On Redis and on one SQLite file.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "worker/result_log.hpp"
#include "worker_test_support.hpp"

namespace nfl::test {
namespace {

constexpr int k_tasks = 10'000;
// A claim's time is read just before its atomic step, so two processes' claims may
// carry times a few ms out of claim order; gross misordering spans seconds. Under a
// sanitizer (code 2-5x slower, 8 slots on 2 cores) a slot was seen 311 ms between
// reading the time and its claim running.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr Millis k_clock_slack_ms = 1000;
#else
constexpr Millis k_clock_slack_ms = 100;
#endif
constexpr int k_slots_per_worker = 4; // test_worker_options' concurrency
const std::vector<std::string> k_drain_queues = {"cpu:sequential", "analysis:standard"};

// Result records per task id, over every segment under DATA_DIR/results.
std::map<std::string, int> result_records(const std::filesystem::path& data_dir) {
  std::map<std::string, int> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data_dir / "results")) {
    if (e.path().extension() != ".jsonl") {
      continue;
    }
    std::ifstream in(e.path());
    std::string line;
    while (std::getline(in, line)) {
      out[Json::parse(line).at("task_id").get<std::string>()]++;
    }
  }
  return out;
}

void drain(const Worker::StoreFactory& factory, const std::filesystem::path& root) {
  auto store = factory();
  std::vector<Task> tasks;
  std::map<std::string, Task> by_id;
  for (int i = 0; i < k_tasks; ++i) {
    auto p = k_priorities[static_cast<std::size_t>(i * 7 % 5)];
    tasks.push_back(make_task("noop", Json{{"i", i}}, k_drain_queues[static_cast<std::size_t>(i % 2)], p));
    by_id[tasks.back().id] = tasks.back();
  }
  for (std::size_t i = 0; i < tasks.size(); i += 1000) {
    store->add(std::span<const Task>(tasks).subspan(i, std::min<std::size_t>(1000, tasks.size() - i)));
  }

  auto config = test_config(root);
  auto a = test_worker_options(config, "worker-a");
  auto b = test_worker_options(config, "worker-b");
  a.queues = b.queues = k_drain_queues;
  a.burst = b.burst = true;
  a.concurrency = b.concurrency = k_slots_per_worker;
  auto start = std::chrono::steady_clock::now();
  pid_t pa = fork_worker(factory, config, a);
  pid_t pb = fork_worker(factory, config, b);
  EXPECT_EQ(wait_exit(pa), 0);
  EXPECT_EQ(wait_exit(pb), 0);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ drain ] %d noop tasks by 2 workers in %.2f s (%.0f tasks/s) on %s\n", k_tasks, secs, k_tasks / secs,
              store->describe().c_str());

  auto st = store->status();
  EXPECT_EQ(st.counts["completed"], k_tasks);
  EXPECT_EQ(st.counts["pending"], 0);
  EXPECT_EQ(st.counts["running"], 0);
  EXPECT_EQ(st.rejected_completions, 0);

  // Each task: completed once, one attempt, one result record.
  auto records = result_records(config.data_dir);
  EXPECT_EQ(records.size(), static_cast<std::size_t>(k_tasks));
  int duplicates = 0;
  for (const auto& [id, n] : records) {
    duplicates += n != 1;
    EXPECT_TRUE(by_id.count(id)) << id;
  }
  EXPECT_EQ(duplicates, 0);
  auto sa = read_stats(config, "worker-a");
  auto sb = read_stats(config, "worker-b");
  EXPECT_EQ(sa["completed"].get<int>() + sb["completed"].get<int>(), k_tasks);
  EXPECT_GT(sa["completed"].get<int>(), 0);
  EXPECT_GT(sb["completed"].get<int>(), 0);

  // Claim order: queues in the order served, then priority. Claims are atomic and
  // stamped with the claim time, so within a queue every task of one priority was
  // started no later than any task of a lower priority, up to stale stamps: a slot
  // that read the time, was descheduled (a loaded CI machine running many tests at
  // once stalls a thread for longer than any fixed slack), then claimed after the
  // last higher-priority task went, carries a time from before that claim. Each slot
  // has one claim in flight, so at each boundary at most one stale stamp per slot
  // (8 in all); a store that ignored priority or queue order misorders hundreds.
  TaskFilter f;
  f.limit = k_tasks + 10;
  auto done = store->list(f);
  ASSERT_EQ(done.size(), static_cast<std::size_t>(k_tasks));
  std::map<std::pair<std::string, int>, std::vector<Millis>> starts; // (queue, prio) -> start times
  std::vector<Millis> first_queue_starts;
  std::vector<Millis> second_queue_starts;
  for (const auto& t : done) {
    EXPECT_EQ(t.attempts, 1) << t.id;
    EXPECT_EQ(t.status, TaskStatus::completed);
    starts[std::make_pair(t.queue, static_cast<int>(t.priority))].push_back(t.started_at_ms);
    (t.queue == k_drain_queues[0] ? first_queue_starts : second_queue_starts).push_back(t.started_at_ms);
  }
  // Tasks of `later` started more than the slack before the last of `earlier` started.
  auto stale = [](const std::vector<Millis>& earlier, const std::vector<Millis>& later) {
    const Millis last = earlier.empty() ? std::numeric_limits<Millis>::min()
                                        : *std::max_element(earlier.begin(), earlier.end());
    return std::count_if(later.begin(), later.end(), [&](Millis s) { return s + k_clock_slack_ms < last; });
  };
  constexpr long k_slots = 2 * k_slots_per_worker;
  for (const auto& q : k_drain_queues) {
    for (int p = 0; p + 1 < 5; ++p) {
      const auto& higher = starts[std::make_pair(q, p)];
      const auto& lower = starts[std::make_pair(q, p + 1)];
      ASSERT_FALSE(higher.empty() || lower.empty()) << q << " priority " << p;
      EXPECT_LE(stale(higher, lower), k_slots) << q << " priority " << p + 1 << " tasks started before the last "
                                               << "priority " << p << " task (beyond the slots' in-flight claims)";
    }
  }
  EXPECT_LE(stale(first_queue_starts, second_queue_starts), k_slots)
      << k_drain_queues[1] << " tasks started before the last " << k_drain_queues[0] << " task";
}

TEST(Drain, TwoWorkersOnRedis) {
  RedisServer redis;
  TempDir dir;
  drain(redis_factory(redis.port()), dir.path());
}

TEST(Drain, TwoWorkersOnOneSqliteFile) {
  TempDir dir;
  drain(sqlite_factory(dir / "queue.db"), dir.path());
}

} // namespace
} // namespace nfl::test
