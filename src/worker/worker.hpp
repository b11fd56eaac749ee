#pragma once
// The worker daemon: registers the machine, claims tasks from its served queues,
// runs them in `concurrency` slots, renews leases, enforces timeouts, survives store
// outages (results are spooled under STATE_DIR until delivered) and shuts down
// gracefully on request. Behaviour for users: docs/worker.md.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "store/task_store.hpp"
#include "tasks/registry.hpp"

namespace nfl {

namespace metrics {
class Registry;
}

struct WorkerOptions {
  std::vector<std::string> queues; // served queues in claim order (hardware detection, narrowed by --queues)
  int concurrency = 4;             // --concurrency / MAX_CONCURRENT_TASKS
  bool burst = false;              // exit 0 once nothing claimable is left
  // Burst also waits for work that may become claimable later (other workers' leases,
  // retry backoffs). Off under folder sync: tasks parked for, or running on, another
  // machine are that machine's (docs/sync.md), so burst ends when nothing is claimable now.
  bool burst_waits_for_others = true;
  std::chrono::milliseconds grace{30'000}; // --grace: how long running tasks may finish after a stop request
  Millis lease_ms = 30'000;        // LEASE_SECONDS
  MachineInfo machine;             // machine_id, profile, hardware (queues are taken from `queues`)
  std::filesystem::path data_dir;  // results/, checkpoints/, artifacts/, logs/
  std::filesystem::path state_dir; // spool/ (this machine's own, never synced)
  Millis default_timeout_ms = 6LL * 3600 * 1000; // TASK_TIMEOUT_HOURS when the task has no timeout_s

  // Tuning; the defaults suit production, tests shorten them.
  std::chrono::milliseconds heartbeat_interval{10'000};
  std::chrono::milliseconds idle_wait{1'000};        // one blocking claim_wait; bounds how fast a stop is seen while idle
  std::chrono::milliseconds progress_interval{1'000}; // at most one progress write per task per interval
  std::chrono::milliseconds backoff_initial{100};     // store reconnect backoff, doubled up to backoff_max
  std::chrono::milliseconds backoff_max{10'000};
  std::chrono::milliseconds waiting_for_input_delay{60'000}; // WaitingForInput: hand back, retry after this
  std::chrono::milliseconds gpu_fallback_wait{600'000}; // GPU_FALLBACK_WAIT_SECONDS; 0: off (worker/gpu_fallback.hpp)
};

// Options from configuration (MAX_CONCURRENT_TASKS, LEASE_SECONDS, TASK_TIMEOUT_HOURS,
// DATA_DIR, STATE_DIR) for `machine`; queues = machine.queues.
WorkerOptions worker_options_from(const Config& config, const MachineInfo& machine);

// Counters for tests and the final log line.
struct WorkerStats {
  std::int64_t claimed = 0;
  std::int64_t completed = 0;  // accepted by the store
  std::int64_t failed = 0;     // fail() calls (incl. timeouts)
  std::int64_t released = 0;   // handed back (shutdown, waiting for input)
  std::int64_t dropped = 0;    // results the store refused (lease lost, cancelled)
  std::int64_t spooled_delivered_late = 0; // delivered after an outage or a restart
};

class Worker {
public:
  // Makes a new store connection; called once per slot (each slot claims for
  // itself) and once for the supervisor (heartbeats, lease renewal, spool delivery), and again to
  // reconnect after an outage. May throw StoreUnavailable (retried with backoff).
  using StoreFactory = std::function<std::unique_ptr<TaskStore>()>;

  Worker(StoreFactory store_factory, const Config& config, WorkerOptions options, const TaskRegistry& registry);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Blocks until stopped (or, with burst, until no work is left). Returns the
  // process exit code: 0 after a burst drain or a graceful stop, 1 on a fatal error
  // (e.g. the spool folder is not writable).
  int run();

  // Thread-safe; async-signal-unsafe (use install_signal_handlers for signals).
  // First call: stop claiming now, let running tasks finish within `grace`, then
  // hand the rest back (release). Second call: hand everything back now.
  void request_stop();

  WorkerStats stats() const;

  // This worker's counters (worker/worker_metrics.hpp), for --metrics-port. Valid for
  // the worker's lifetime; safe to render from another thread while run() goes on.
  metrics::Registry& metrics();

  class Impl;

private:
  std::unique_ptr<Impl> m_impl;
};

// Installs SIGTERM and SIGINT handlers for the lifetime of the returned guard: the
// first signal calls worker.request_stop() (from a helper thread fed by a self-pipe,
// so the handler itself only write()s); a second signal ends the process at once
// with exit status 128+signal (leases then expire and other workers reclaim the
// tasks; results the store has not taken are lost only if they were not spooled
// during an outage, and those tasks then run again). Restores the previous
// handlers on destruction. Create it before Worker::run().
class SignalGuard {
public:
  explicit SignalGuard(Worker& worker);
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

  class Impl;

private:
  std::unique_ptr<Impl> m_impl;
};

} // namespace nfl
