#pragma once
// Shared helpers for the worker tests: stores on real backends, workers in forked
// processes (forked before any thread starts in the child; the child opens its own
// store connections).
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <thread>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "store/store_factory.hpp"
#include "support/redis_server.hpp"
#include "tasks/registry.hpp"
#include "util/fs.hpp"
#include <spdlog/spdlog.h>
#include "worker/logging.hpp"
#include "worker/worker.hpp"

namespace nfl::test {

inline StoreOptions test_store_options() {
  StoreOptions o;
  o.enable_caching = false;
  o.retry_base_ms = 50;
  o.retry_max_ms = 200;
  return o;
}

inline Worker::StoreFactory redis_factory(int port) {
  return [port] {
    RedisOptions r;
    r.host = "127.0.0.1";
    r.port = port;
    r.connect_timeout_ms = 500;
    r.command_timeout_ms = 2000;
    return make_redis_store(r, test_store_options());
  };
}

inline Worker::StoreFactory sqlite_factory(std::filesystem::path db) {
  return [db] { return make_sqlite_store(db, test_store_options()); };
}

inline Config test_config(const std::filesystem::path& root) {
  Config c;
  c.data_dir = root / "data";
  c.state_dir = root / "state";
  c.log_level = "info";
  c.log_to_file = true;
  return c;
}

inline WorkerOptions test_worker_options(const Config& config, const std::string& machine_id) {
  MachineInfo m;
  m.machine_id = machine_id;
  m.profile = "cpu_x86";
  m.queues = {"cpu:parallel", "cpu:sequential", "data:pipeline", "analysis:standard"};
  auto o = worker_options_from(config, m);
  o.concurrency = 4;
  o.lease_ms = 30'000;
  o.idle_wait = std::chrono::milliseconds(200);
  o.heartbeat_interval = std::chrono::milliseconds(500);
  o.backoff_initial = std::chrono::milliseconds(50);
  o.backoff_max = std::chrono::milliseconds(500);
  o.progress_interval = std::chrono::milliseconds(50);
  o.grace = std::chrono::milliseconds(30'000);
  return o;
}

inline const TaskRegistry& builtin_registry() {
  static const TaskRegistry r = [] {
    TaskRegistry reg;
    register_builtin_tasks(reg);
    return reg;
  }();
  return r;
}

// Runs a Worker in a child process; the child dies by SIGALRM if it hangs, so a
// broken worker fails the test instead of hanging it. The child writes its stats to
// STATE_DIR/stats-<machine>.json.
inline pid_t fork_worker(Worker::StoreFactory factory, Config config, WorkerOptions options,
                         unsigned watchdog_s = 240) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) {
    return pid;
  }
  ::alarm(watchdog_s);
  int rc = 1;
  try {
    setup_logging(config, options.machine.machine_id);
    Worker worker(std::move(factory), config, options, builtin_registry());
    SignalGuard guard(worker);
    rc = worker.run();
    auto s = worker.stats();
    Json stats = {{"claimed", s.claimed},   {"completed", s.completed}, {"failed", s.failed},
                  {"released", s.released}, {"dropped", s.dropped},     {"late", s.spooled_delivered_late}};
    std::filesystem::create_directories(options.state_dir);
    std::ofstream(options.state_dir / ("stats-" + options.machine.machine_id + ".json")) << stats.dump();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "worker child: %s\n", e.what());
    rc = 3;
  }
  spdlog::shutdown();
  std::fflush(nullptr);
  ::_exit(rc);
}

// Blocks until the child exits; returns its exit code, or 128+signal.
inline int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return WEXITSTATUS(status);
}

// For store states that have no event to wait on: checks `pred` every 20 ms until
// it holds or `limit` passes.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

inline Task make_task(const std::string& type, Json config, const std::string& queue, Priority p = Priority::medium) {
  Task t;
  t.task_type = type;
  t.config = std::move(config);
  t.queue = queue;
  t.priority = p;
  normalise(t, SystemClock().now_ms());
  return t;
}

inline Json read_stats(const Config& config, const std::string& machine) {
  return Json::parse(read_file(config.state_dir / ("stats-" + machine + ".json")));
}

} // namespace nfl::test
