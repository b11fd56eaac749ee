// GPU tasks without a GPU machine: the CPU fallback (reroute after a wait when no live
// machine serves the GPU queue) on SQLite with a ManualClock, the same through a real
// worker, and the min_gpu_memory admission at claim time.
#include <gtest/gtest.h>

#include <thread>

#include "store/store_factory.hpp"
#include "util/error.hpp"
#include "worker/gpu_fallback.hpp"
#include "worker/worker_test_support.hpp"

namespace nfl::test {
namespace {

Task gpu_task(const std::string& queue, Json allow) {
  Task t;
  t.task_type = "noop";
  t.requires_gpu = true;
  t.queue = queue;
  if (!allow.is_null()) {
    t.extra["allow_cpu_fallback"] = std::move(allow);
  }
  return t;
}

TEST(GpuFallback, ReroutesOnlyAllowedTasksThatWaitedWithNoLiveGpuMachine) {
  TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  StoreOptions options = test_store_options();
  options.clock = clock;
  options.machine_ttl_ms = 60'000;
  auto store = make_sqlite_store(dir / "queue.db", options);

  std::vector<Task> tasks = {gpu_task("gpu:standard", true), gpu_task("gpu:high", true),
                             gpu_task("gpu:standard", Json()), gpu_task("gpu:standard", false),
                             gpu_task("gpu:high", "yes")};
  for (auto& t : tasks) {
    normalise(t, clock->now_ms());
  }
  store->add(tasks);
  const Millis wait = 10'000;

  // Not waited long enough yet.
  clock->advance_ms(5'000);
  EXPECT_TRUE(reroute_waiting_gpu_tasks(*store, clock->now_ms(), wait).empty());

  // A live machine serves gpu:standard: only the gpu:high task may move.
  MachineInfo gpu_box;
  gpu_box.machine_id = "rtx4090";
  gpu_box.profile = "gpu_high";
  gpu_box.queues = {"gpu:standard", "cpu:parallel"};
  store->heartbeat(gpu_box);
  clock->advance_ms(20'000);
  EXPECT_EQ(reroute_waiting_gpu_tasks(*store, clock->now_ms(), wait), std::vector<std::string>{tasks[1].id});

  // The GPU machine goes quiet past the machine TTL: gpu:standard is unserved now.
  clock->advance_ms(61'000);
  EXPECT_EQ(reroute_waiting_gpu_tasks(*store, clock->now_ms(), wait), std::vector<std::string>{tasks[0].id});

  EXPECT_EQ(store->get(tasks[0].id)->queue, "cpu:parallel");
  EXPECT_EQ(store->get(tasks[1].id)->queue, "cpu:parallel");
  EXPECT_EQ(store->get(tasks[2].id)->queue, "gpu:standard"); // no allow_cpu_fallback: default off
  EXPECT_EQ(store->get(tasks[3].id)->queue, "gpu:standard");
  EXPECT_EQ(store->get(tasks[4].id)->queue, "gpu:high"); // "yes" is not a boolean: left alone
  EXPECT_THROW(allows_cpu_fallback(tasks[4]), InputError);

  // A CPU machine now claims the rerouted tasks from cpu:parallel.
  auto lease = store->claim({{"cpu:parallel"}, "cpu-box", 30'000});
  ASSERT_TRUE(lease.has_value());
  EXPECT_TRUE(lease->task.requires_gpu);
}

TEST(GpuFallback, OnlyCpuWorkersServingCpuParallelTakePart) {
  using std::chrono::seconds;
  EXPECT_TRUE(GpuFallback({"cpu:parallel", "cpu:sequential"}, seconds(600)).active());
  EXPECT_FALSE(GpuFallback({"cpu:parallel"}, seconds(0)).active());
  EXPECT_FALSE(GpuFallback({"gpu:standard", "cpu:parallel"}, seconds(600)).active());
  EXPECT_FALSE(GpuFallback({"cpu:sequential", "analysis:standard"}, seconds(600)).active());
}

TEST(GpuFallback, AWorkerWithoutAGpuRunsTheTaskAfterTheWait) {
  TempDir dir;
  auto factory = sqlite_factory(dir / "queue.db");
  auto store = factory();
  Task allowed = gpu_task("gpu:standard", true);
  Task kept = gpu_task("gpu:high", Json());
  normalise(allowed, SystemClock().now_ms());
  normalise(kept, SystemClock().now_ms());
  store->add(std::vector<Task>{allowed, kept});

  auto config = test_config(dir.path());
  config.log_to_file = false;
  auto options = test_worker_options(config, "cpu-only");
  options.gpu_fallback_wait = std::chrono::milliseconds(1); // any wait has passed at the first pass
  Worker worker(factory, config, options, builtin_registry());
  int rc = -1;
  std::thread runner([&] { rc = worker.run(); });
  // The completion has no event visible from here: poll the store with a deadline.
  const bool done = eventually([&] { return store->get(allowed.id)->status == TaskStatus::completed; },
                               std::chrono::seconds(20));
  worker.request_stop();
  runner.join();
  ASSERT_TRUE(done);
  EXPECT_EQ(rc, 0);
  const Task after = *store->get(allowed.id);
  EXPECT_EQ(after.queue, "cpu:parallel");
  EXPECT_EQ(after.machine_id, "cpu-only");
  const Task untouched = *store->get(kept.id);
  EXPECT_EQ(untouched.status, TaskStatus::pending);
  EXPECT_EQ(untouched.queue, "gpu:high");
}

TEST(GpuMemory, AdmissionComparesWithTheDeviceNow) {
  Task t;
  t.id = "t";
  t.min_gpu_memory = 20.0;
  EXPECT_EQ(check_gpu_memory(t, {}).verdict, GpuAdmission::Verdict::too_large);
  const GpuInfo small{"NVIDIA GeForce RTX 3060", 12.0, 11.0, "nvml"};
  const GpuInfo big{"NVIDIA H200", 139.8, 10.0, "nvml"};
  auto a = check_gpu_memory(t, {small});
  EXPECT_EQ(a.verdict, GpuAdmission::Verdict::too_large);
  EXPECT_NE(a.message.find("RTX 3060"), std::string::npos) << a.message;
  EXPECT_NE(a.message.find("min_gpu_memory"), std::string::npos) << a.message;
  a = check_gpu_memory(t, {small, big});
  EXPECT_EQ(a.verdict, GpuAdmission::Verdict::busy) << a.message;
  EXPECT_EQ(check_gpu_memory(t, {GpuInfo{"NVIDIA H200", 139.8, 130.0, "nvml"}}).verdict, GpuAdmission::Verdict::ok);
  t.min_gpu_memory = 0.0;
  EXPECT_EQ(check_gpu_memory(t, {}).verdict, GpuAdmission::Verdict::ok);

  t.queue = "gpu:high";
  t.min_gpu_memory = 20.0;
  EXPECT_THROW(admit_gpu_task(t, [&] { return std::vector<GpuInfo>{small}; }), TaskFailure);
  EXPECT_THROW(admit_gpu_task(t, [&] { return std::vector<GpuInfo>{big}; }), WaitingForInput);
  t.queue = "cpu:parallel"; // rerouted to a CPU: no GPU needed any more
  EXPECT_NO_THROW(admit_gpu_task(t, [] { return std::vector<GpuInfo>{}; }));
}

TEST(GpuMemory, ATaskLargerThanAnyDeviceFailsAndTheWorkerCarriesOn) {
  TempDir dir;
  auto factory = sqlite_factory(dir / "queue.db");
  auto store = factory();
  Task huge = gpu_task("gpu:high", Json());
  huge.min_gpu_memory = 4096.0; // no card has 4 TiB
  normalise(huge, SystemClock().now_ms());
  Task after = make_task("noop", Json::object(), "gpu:high");
  store->add(std::vector<Task>{huge});

  auto config = test_config(dir.path());
  config.log_to_file = false;
  auto options = test_worker_options(config, "gpu-box");
  options.queues = {"gpu:high", "gpu:standard"};
  options.concurrency = 1;
  Worker worker(factory, config, options, builtin_registry());
  int rc = -1;
  std::thread runner([&] { rc = worker.run(); });
  const bool failed = eventually([&] { return store->get(huge.id)->status == TaskStatus::failed; },
                                 std::chrono::seconds(20));
  store->add(std::vector<Task>{after});
  const bool next_done = eventually([&] { return store->get(after.id)->status == TaskStatus::completed; },
                                    std::chrono::seconds(20));
  worker.request_stop();
  runner.join();
  ASSERT_TRUE(failed);
  EXPECT_TRUE(next_done);
  EXPECT_EQ(rc, 0);
  const Task t = *store->get(huge.id);
  EXPECT_EQ(t.attempts, 1); // not retried: it can never fit
  EXPECT_NE(t.error.find("min_gpu_memory: the task needs 4096.0 GiB"), std::string::npos) << t.error;
}

} // namespace
} // namespace nfl::test
