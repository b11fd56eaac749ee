// An idle worker (its slots blocked in claim_wait) starts a task added afterwards
// within milliseconds, on both backends: the store's wake-up reaches the waiting
// slot instead of the slot finding the task at the end of its idle wait.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "worker_test_support.hpp"

namespace nfl::test {
namespace {

constexpr Millis k_max_pickup_ms = 500; // generous for a loaded 2-core machine

void check_pickup(const Worker::StoreFactory& factory, const std::filesystem::path& root, const char* backend) {
  auto store = factory();
  std::mutex mutex;
  std::condition_variable cv;
  int ran = 0;
  TaskRegistry registry;
  TaskType probe;
  probe.name = "probe";
  probe.run = [&](TaskContext&) {
    {
      std::lock_guard lock(mutex);
      ++ran;
    }
    cv.notify_all();
    return Json::object();
  };
  registry.add(probe);

  auto config = test_config(root);
  config.log_to_file = false;
  auto options = test_worker_options(config, std::string("pickup-") + backend);
  options.concurrency = 2;
  // Far longer than the bound below: a pickup found only at the end of an idle wait fails.
  options.idle_wait = std::chrono::milliseconds(2'000);
  Worker worker(factory, config, options, registry);
  int rc = -1;
  std::thread runner([&] { rc = worker.run(); });

  for (int round = 0; round < 3; ++round) {
    // The previous task is completed in the store (or none was added), so the
    // worker is idle and its slots are headed into, or blocked in, claim_wait.
    auto t = make_task("probe", Json{{"round", round}}, "cpu:sequential");
    store->add(std::vector<Task>{t});
    {
      std::unique_lock lock(mutex);
      ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return ran == round + 1; }))
          << backend << ": the task added to an idle worker did not start";
    }
    // The completion has no event visible from here: poll the store with a deadline.
    ASSERT_TRUE(eventually([&] { return store->get(t.id)->status == TaskStatus::completed; },
                           std::chrono::seconds(10)));
    auto done = store->get(t.id);
    const Millis pickup = done->started_at_ms - done->enqueued_at_ms;
    std::printf("[ pickup   ] %s round %d: started_at - enqueued_at = %lld ms\n", backend, round,
                static_cast<long long>(pickup));
    EXPECT_GE(pickup, 0);
    EXPECT_LT(pickup, k_max_pickup_ms) << backend << " round " << round;
  }
  worker.request_stop();
  runner.join();
  EXPECT_EQ(rc, 0);
  // The store answered every delivery: each result was only noted in the spool
  // (no fsync) and marked done once its record was written (after the store took it,
  // so read once the worker has stopped), so nothing is outstanding there.
  for (const auto& e : std::filesystem::directory_iterator(config.state_dir / "spool")) {
    std::ifstream in(e.path());
    std::map<std::string, int> outstanding;
    std::string line;
    while (std::getline(in, line)) {
      auto j = Json::parse(line);
      outstanding[j.contains("done") ? j["done"].get<std::string>() : j.at("key").get<std::string>()] +=
          j.contains("done") ? -1 : 1;
    }
    for (const auto& [key, n] : outstanding) {
      EXPECT_LE(n, 0) << e.path() << ": " << key << " is outstanding although the store took it";
    }
  }
  EXPECT_EQ(worker.stats().completed, 3);
}

TEST(Pickup, IdleWorkerStartsANewTaskWithinMillisecondsSqlite) {
  TempDir dir;
  check_pickup(sqlite_factory(dir / "queue.db"), dir.path(), "sqlite");
}

TEST(Pickup, IdleWorkerStartsANewTaskWithinMillisecondsRedis) {
  TempDir dir;
  RedisServer redis;
  check_pickup(redis_factory(redis.port()), dir.path(), "redis");
}

} // namespace
} // namespace nfl::test
