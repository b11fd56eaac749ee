// A worker in this process (a thread), for behaviour seen through the store while it
// runs: progress, cancellation, waiting for input.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "worker_test_support.hpp"

namespace nfl::test {
namespace {

TEST(InProcess, ProgressCancelAndWaitingForInput) {
  TempDir dir;
  auto factory = sqlite_factory(dir / "queue.db");
  auto store = factory();

  std::atomic<bool> proceed{false};
  std::atomic<int> stopped{0};
  TaskRegistry registry;
  TaskType stepper;
  stepper.name = "stepper";
  stepper.run = [&](TaskContext& ctx) {
    ctx.report_progress(42, "halfway");
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    while (!proceed.load()) {
      // Wakes on stop at once; the 20 ms bound only re-reads `proceed`.
      cv.wait_for(lock, ctx.stop, std::chrono::milliseconds(20), [] { return false; });
      if (ctx.stop.stop_requested()) {
        ++stopped;
        throw TaskStopped();
      }
    }
    return Json{{"ok", 1}};
  };
  registry.add(stepper);
  TaskType needs_input;
  needs_input.name = "needs_input";
  needs_input.run = [](TaskContext& ctx) -> Json {
    ctx.input_dir("producer_not_synced_yet");
    return Json::object();
  };
  registry.add(needs_input);

  auto a = make_task("stepper", Json{{"n", 1}}, "cpu:sequential");
  auto b = make_task("stepper", Json{{"n", 2}}, "cpu:sequential");
  auto c = make_task("needs_input", Json::object(), "cpu:sequential");
  store->add(std::vector<Task>{a, b, c});

  auto config = test_config(dir.path());
  config.log_to_file = false;
  auto options = test_worker_options(config, "inproc");
  options.waiting_for_input_delay = std::chrono::milliseconds(60'000);
  options.lease_ms = 3000; // renewals (which carry the cancellation) every second
  Worker worker(factory, config, options, registry);
  int rc = -1;
  std::thread runner([&] { rc = worker.run(); });

  // Store states have no event to wait on from here: check them with a deadline.
  EXPECT_TRUE(eventually(
      [&] {
        auto ta = store->get(a.id);
        auto tb = store->get(b.id);
        return ta->progress == 42 && ta->progress_message == "halfway" && tb->progress == 42;
      },
      std::chrono::seconds(10)));
  EXPECT_TRUE(eventually(
      [&] {
        auto t = store->get(c.id);
        return t->status == TaskStatus::pending && t->attempts == 0 &&
               (t->blocked_reason + t->progress_message).find("waiting for input") != std::string::npos;
      },
      std::chrono::seconds(10)));

  ASSERT_TRUE(store->cancel(b.id));
  EXPECT_TRUE(eventually([&] { return stopped.load() == 1; }, std::chrono::seconds(10)))
      << "the next lease renewal tells the worker, which stops the handler";
  proceed = true;
  EXPECT_TRUE(eventually([&] { return store->get(a.id)->status == TaskStatus::completed; }, std::chrono::seconds(10)));
  worker.request_stop();
  runner.join();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(store->get(a.id)->result, (Json{{"ok", 1}}));
  EXPECT_EQ(store->get(b.id)->status, TaskStatus::cancelled);
  auto s = worker.stats();
  EXPECT_EQ(s.completed, 1);
  EXPECT_EQ(s.released, 1);
  EXPECT_EQ(s.dropped, 1);
}

} // namespace
} // namespace nfl::test
