#include "worker/worker.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "util/clock.hpp"
#include "util/error.hpp"
#include "worker/gpu_fallback.hpp"
#include "worker/result_log.hpp"
#include "worker/spool.hpp"
#include "worker/worker_metrics.hpp"

namespace nfl {

WorkerOptions worker_options_from(const Config& config, const MachineInfo& machine) {
  WorkerOptions o;
  o.queues = machine.queues;
  o.concurrency = config.max_concurrent_tasks;
  o.lease_ms = static_cast<Millis>(config.lease_seconds) * 1000;
  o.machine = machine;
  o.data_dir = config.data_dir;
  o.state_dir = config.state_dir;
  o.default_timeout_ms = static_cast<Millis>(config.task_timeout_hours * 3600.0 * 1000.0);
  o.gpu_fallback_wait = std::chrono::seconds(config.gpu_fallback_wait_s);
  return o;
}

namespace {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

enum class StopReason { none, timeout, cancelled, lease_lost, shutdown };

std::string_view to_string(StopReason r) {
  switch (r) {
  case StopReason::none: return "none";
  case StopReason::timeout: return "timeout";
  case StopReason::cancelled: return "cancelled";
  case StopReason::lease_lost: return "lease_lost";
  case StopReason::shutdown: return "shutdown";
  }
  return "?";
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A task in a slot, shared between its slot thread and the supervisor.
struct Running {
  Lease lease;
  std::stop_source stop;
  std::atomic<StopReason> reason{StopReason::none};
  std::atomic<bool> finished{false}; // the handler returned: renew answers no longer matter
  TimePoint deadline;
  Millis timeout_ms = 0;
  std::mutex mutex; // guards the fields below
  double progress = 0.0;
  std::string message;
  bool progress_dirty = false;
  TimePoint last_renew;
  TimePoint last_progress_push;

  void request(StopReason r) {
    StopReason expected = StopReason::none;
    reason.compare_exchange_strong(expected, r);
    stop.request_stop();
  }
};

// An outcome that the store has not acknowledged yet (it was unavailable).
struct Undelivered {
  enum class Kind { complete, fail, release } kind;
  Json entry; // complete: the spool entry; fail/release: id, token, error/reason, retryable/delay
};

// A connection made on demand and dropped after a failure, so that the next use
// reconnects (backends may keep a broken connection object otherwise).
class StoreHandle {
public:
  StoreHandle(const Worker::StoreFactory* factory, const std::atomic<std::uint64_t>* epoch)
      : m_factory(factory), m_epoch_source(epoch) {}
  TaskStore& get() {
    if (!m_store) {
      m_epoch = m_epoch_source->load();
      try {
        m_store = (*m_factory)();
      } catch (const StoreUnavailable&) {
        throw;
      } catch (const std::exception& e) {
        throw StoreUnavailable(e.what());
      }
    }
    return *m_store;
  }
  void reset() { m_store.reset(); }
  // Which recovery this connection was made after: a connection older than the last
  // recovery may fail once on its dead socket without a new outage.
  std::uint64_t epoch() const { return m_epoch; }

private:
  const Worker::StoreFactory* m_factory;
  const std::atomic<std::uint64_t>* m_epoch_source;
  std::uint64_t m_epoch = 0;
  std::unique_ptr<TaskStore> m_store;
};

} // namespace

class Worker::Impl {
public:
  Impl(StoreFactory factory, const Config& config, WorkerOptions options, const TaskRegistry& registry)
      : m_factory(std::move(factory)), m_config(config), m_options(std::move(options)), m_registry(registry) {
    if (m_options.concurrency < 1) {
      throw InputError(fmt::format("--concurrency: '{}'; expected at least 1", m_options.concurrency));
    }
    if (m_options.queues.empty()) {
      throw InputError("--queues: this worker serves no queue; expected at least one of the served queues");
    }
    m_options.machine.queues = m_options.queues;
    // Set before run(): the metrics endpoint answers from the start, and a first
    // scrape must not report a worker without slots.
    m_metrics.slots.set(m_options.concurrency);
  }

  int run();
  void request_stop();
  WorkerStats stats() const {
    WorkerStats s;
    s.claimed = m_claimed;
    s.completed = m_completed;
    s.failed = m_failed;
    s.released = m_released;
    s.dropped = m_dropped;
    s.spooled_delivered_late = m_late;
    return s;
  }
  metrics::Registry& metrics_registry() { return m_metrics_registry; }

private:
  // --- store health: one log line per change of state ---
  // Returns false when only a connection from before the last recovery failed (it
  // is dropped and the call may be retried at once), true for a real outage.
  bool store_failed(StoreHandle& handle, const std::string& what) {
    const bool stale = handle.epoch() < m_epoch.load();
    handle.reset();
    if (stale) {
      return false;
    }
    std::lock_guard lock(m_health_mutex);
    if (m_store_ok) {
      m_store_ok = false;
      m_store_ok_fast = false;
      m_outage_start = SteadyClock::now();
      m_metrics.store_outages.inc();
      spdlog::warn("store unavailable: {}; running tasks continue, results are spooled in {}", what,
                   m_spool ? m_spool->file().parent_path().string() : std::string("spool"));
    }
    return true;
  }
  void store_succeeded() {
    if (m_store_ok_fast.load(std::memory_order_acquire)) {
      return; // the common case: no lock per claim and delivery
    }
    std::lock_guard lock(m_health_mutex);
    if (!m_store_ok) {
      m_store_ok = true;
      m_store_ok_fast = true;
      ++m_epoch;
      auto secs = std::chrono::duration<double>(SteadyClock::now() - m_outage_start).count();
      spdlog::info("store reachable again after {:.1f} s", secs);
      m_cv.notify_all();
    }
  }
  bool store_ok() const { return m_store_ok_fast.load(std::memory_order_acquire); }
  void count_refusal(LeaseResult r) {
    if (r == LeaseResult::lease_lost) {
      m_metrics.lease_losses.inc();
    } else if (r == LeaseResult::cancelled) {
      m_metrics.cancellations.inc();
    }
  }

  // Waits `d` or until a stop request (stage >= min_stage) arrives.
  void backoff_wait(std::chrono::milliseconds d, int min_stage = 1) {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, d, [&] { return m_stage >= min_stage; });
  }

  ClaimRequest claim_request() const {
    return ClaimRequest{m_options.queues, m_options.machine.machine_id, m_options.lease_ms};
  }

  bool burst_done(StoreHandle& store);
  void slot_loop(int index);
  void supervisor_loop();
  // `next`: where a completion that also claimed (complete_and_claim) leaves the
  // slot's next lease.
  void run_task(StoreHandle& store, const std::shared_ptr<Running>& running, std::optional<Lease>& next);
  bool wants_next_claim();
  void finish_complete(StoreHandle& store, const Running& running, std::optional<Lease>& next, Json result,
                       const Accounting& acct,
                       Millis finished_at_ms);
  bool deliver(TaskStore& store, const Undelivered& u, bool late, std::optional<Lease>* next = nullptr);
  void deliver_or_queue(StoreHandle& store, Undelivered u, std::optional<Lease>* next = nullptr);
  void deliver_backlog(StoreHandle& store);
  bool write_record(const Json& entry);
  void write_held_records();
  void renew_all(StoreHandle& store, bool force);
  void heartbeat(StoreHandle& store);
  void log_event(std::string_view event, const Task& t, const std::string& extra = {}) const {
    spdlog::info("{} task={} type={} queue={} machine={} attempt={}{}{}", event, t.id, t.task_type, t.queue,
                 m_options.machine.machine_id, t.attempts, extra.empty() ? "" : " ", extra);
  }

  StoreFactory m_factory;
  const Config& m_config;
  WorkerOptions m_options;
  const TaskRegistry& m_registry;
  GpuFallback m_gpu_fallback{m_options.queues, m_options.gpu_fallback_wait};
  std::atomic<std::uint64_t> m_epoch{0}; // recoveries so far

  std::unique_ptr<Spool> m_spool;
  std::unique_ptr<ResultLog> m_results;

  mutable std::mutex m_health_mutex;
  bool m_store_ok = true;
  std::atomic<bool> m_store_ok_fast{true}; // m_store_ok, readable without the lock
  TimePoint m_outage_start;

  // Guarded by m_mutex.
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  int m_stage = 0; // 0 running, 1 stop requested (graceful), 2 immediate
  bool m_claims_over = false; // burst: nothing claimable is left
  TimePoint m_grace_end;
  bool m_grace_fired = false;
  std::vector<std::shared_ptr<Running>> m_running;   // by slot, null when idle
  int m_busy = 0;                                    // slots holding a task
  std::deque<Undelivered> m_backlog;                 // for the supervisor
  bool m_supervisor_exit = false;
  // Result records DATA_DIR could not take (full, read-only): their spool entries stay
  // outstanding, the supervisor retries them, and no slot claims until all are written.
  std::deque<Json> m_held;
  bool m_data_ok = true;
  TimePoint m_data_outage_start;
  std::size_t m_held_written = 0; // since the outage started

  std::atomic<std::int64_t> m_claimed{0}, m_completed{0}, m_failed{0}, m_released{0}, m_dropped{0}, m_late{0};
  metrics::Registry m_metrics_registry; // served by --metrics-port
  WorkerMetrics m_metrics{m_metrics_registry};
};

void Worker::Impl::request_stop() {
  std::lock_guard lock(m_mutex);
  if (m_stage == 0) {
    m_stage = 1;
    m_grace_end = SteadyClock::now() + m_options.grace;
    spdlog::info("stop requested: no new tasks; {} running get {} s to finish (a second signal stops at once)",
                 m_busy, std::chrono::duration<double>(m_options.grace).count());
  } else if (m_stage == 1) {
    m_stage = 2;
    spdlog::warn("second stop request: handing running tasks back now");
  }
  m_cv.notify_all();
}

int Worker::Impl::run() {
  try {
    m_spool = std::make_unique<Spool>(m_options.state_dir / "spool", m_options.machine.machine_id);
    m_results = std::make_unique<ResultLog>(m_options.data_dir, m_options.machine.machine_id);
    std::filesystem::create_directories(m_options.data_dir / "results");
  } catch (const std::exception& e) {
    spdlog::error("worker cannot start: {}", e.what());
    return 1;
  }
  for (auto& entry : m_spool->adopt_orphans()) {
    m_backlog.push_back({Undelivered::Kind::complete, std::move(entry)});
  }
  m_running.assign(static_cast<std::size_t>(m_options.concurrency), nullptr);
  {
    std::string queues;
    for (const auto& q : m_options.queues) {
      queues += (queues.empty() ? "" : ",") + q;
    }
    spdlog::info("worker starting machine={} profile={} queues={} concurrency={} burst={} lease={} ms",
                 m_options.machine.machine_id, m_options.machine.profile, queues, m_options.concurrency,
                 m_options.burst, m_options.lease_ms);
  }

  std::thread supervisor([this] { supervisor_loop(); });
  std::vector<std::thread> slots;
  for (int i = 0; i < m_options.concurrency; ++i) {
    slots.emplace_back([this, i] { slot_loop(i); });
  }

  // Slots return once no more claims are due (stop request or burst drained) and
  // their task is finished or handed back (the supervisor enforces grace).
  for (auto& t : slots) {
    t.join();
  }
  {
    std::lock_guard lock(m_mutex);
    m_supervisor_exit = true;
    m_cv.notify_all();
  }
  supervisor.join();
  auto left = m_spool->outstanding();
  if (left > 0) {
    spdlog::warn("worker exiting with {} results still spooled in {}; the next worker start delivers them", left,
                 m_spool->file().string());
  }
  spdlog::info("worker stopped machine={} claimed={} completed={} failed={} released={} dropped={}",
               m_options.machine.machine_id, m_claimed.load(), m_completed.load(), m_failed.load(),
               m_released.load(), m_dropped.load());
  m_results.reset();
  m_spool.reset();
  spdlog::default_logger()->flush();
  return 0;
}

// Nothing claimable now. In burst mode the worker still waits while work may come
// back: its own running tasks (their dependents), undelivered results, tasks running
// elsewhere in its queues (their lease may expire), retries waiting out a backoff, and
// tasks waiting on dependencies that run somewhere.
bool Worker::Impl::burst_done(StoreHandle& store) {
  {
    std::lock_guard lock(m_mutex);
    if (m_busy > 0 || !m_backlog.empty() || !m_held.empty()) {
      return false;
    }
  }
  if (m_spool->outstanding() > 0) {
    return false;
  }
  if (!m_options.burst_waits_for_others) {
    return true;
  }
  try {
    auto st = [&] {
      auto timer = m_metrics.time(StoreOp::status);
      return store.get().status();
    }();
    std::int64_t queued = 0;
    std::int64_t all_queued = 0;
    for (const auto& [name, counts] : st.queues) {
      all_queued += counts.pending;
      if (std::find(m_options.queues.begin(), m_options.queues.end(), name) != m_options.queues.end()) {
        queued += counts.pending + counts.running;
      }
    }
    auto count = [&](const char* s) {
      auto it = st.counts.find(s);
      return it == st.counts.end() ? 0 : it->second;
    };
    bool waiting_on_running = count("running") > 0 && count("pending") > all_queued;
    return queued == 0 && !waiting_on_running;
  } catch (const StoreUnavailable& e) {
    store_failed(store, e.what());
    return false;
  }
}

// Each slot claims for itself on its own connection: no claimer thread to hand
// leases over, and an idle slot blocks in claim_wait, so a new task starts within
// the store's wake-up time.
void Worker::Impl::slot_loop(int index) {
  StoreHandle store(&m_factory, &m_epoch);
  auto backoff = m_options.backoff_initial;
  const auto req = claim_request();
  std::optional<Lease> next; // claimed by the last completion (complete_and_claim)
  for (;;) {
    std::optional<Lease> lease = std::exchange(next, std::nullopt);
    if (!lease) {
      {
        // While DATA_DIR cannot take result records, new work would only pile up more.
        std::unique_lock lock(m_mutex);
        m_cv.wait(lock, [&] { return m_stage >= 1 || m_claims_over || m_data_ok; });
        if (m_stage >= 1 || m_claims_over) {
          return;
        }
      }
      try {
        auto timer = m_metrics.time(StoreOp::claim_wait);
        lease = store.get().claim_wait(req, m_options.idle_wait);
        store_succeeded();
        backoff = m_options.backoff_initial;
      } catch (const StoreUnavailable& e) {
        if (store_failed(store, e.what())) {
          backoff_wait(backoff);
          backoff = std::min(backoff * 2, m_options.backoff_max);
        }
        continue;
      } catch (const std::exception& e) {
        spdlog::error("claim failed: {}", e.what());
        store.reset();
        backoff_wait(backoff);
        backoff = std::min(backoff * 2, m_options.backoff_max);
        continue;
      }
      if (!lease) {
        if (m_options.burst && burst_done(store)) {
          std::lock_guard lock(m_mutex);
          if (!m_claims_over) {
            m_claims_over = true;
            spdlog::info("burst: no claimable work left");
          }
          return;
        }
        continue;
      }
    }
    // A lease from the last completion is handled like a claim that was in flight
    // when a stop came (below).
    ++m_claimed;
    m_metrics.claims.inc();
    if (lease->task.attempts > 1) {
      m_metrics.retries.inc();
    }
    auto running = std::make_shared<Running>();
    running->lease = std::move(*lease);
    const auto& t = running->lease.task;
    running->timeout_ms = t.timeout_s > 0 ? t.timeout_s * 1000 : m_options.default_timeout_ms;
    auto now = SteadyClock::now();
    running->deadline = now + std::chrono::milliseconds(running->timeout_ms);
    running->last_renew = now;
    running->last_progress_push = now;
    {
      std::lock_guard lock(m_mutex);
      ++m_busy;
      m_metrics.busy_slots.set(m_busy);
      m_running[static_cast<std::size_t>(index)] = running;
      // The claim was in flight when a stop request came: it counts as claimed
      // before it, so it runs under the grace period like the others (releasing it
      // would only let an idle slot claim it again). Past the grace: hand it back.
      if (m_stage >= 2 || m_grace_fired) {
        running->request(StopReason::shutdown);
      }
    }
    run_task(store, running, next);
    {
      std::lock_guard lock(m_mutex);
      m_running[static_cast<std::size_t>(index)] = nullptr;
      --m_busy;
      m_metrics.busy_slots.set(m_busy);
    }
  }
}

void Worker::Impl::run_task(StoreHandle& store, const std::shared_ptr<Running>& running, std::optional<Lease>& next) {
  const Task& task = running->lease.task;
  const std::string& token = running->lease.token;
  log_event("task_started", task);

  enum class Outcome { completed, failed, waiting, stopped } outcome = Outcome::stopped;
  Json result;
  std::string error;
  bool retryable = true;
  const auto wall_start = SteadyClock::now();
  const double cpu_start = thread_cpu_seconds();
  double child_cpu = 0.0;

  if (running->reason.load() == StopReason::none) {
    const TaskType* type = m_registry.find(task.task_type);
    try {
      if (!type) {
        std::string known;
        for (const auto& n : m_registry.names()) {
          known += (known.empty() ? "" : ", ") + n;
        }
        throw TaskFailure("unknown task type '" + task.task_type + "' (this worker knows: " + known + ")", false);
      }
      admit_gpu_task(task); // min_gpu_memory against the device now
      try {
        type->validate_config(task.config);
      } catch (const InputError& e) {
        throw TaskFailure(std::string("invalid config: ") + e.what(), false);
      }
      TaskContext ctx{.task = task,
                      .config = m_config,
                      .data_dir = m_options.data_dir,
                      .artifact_dir = m_options.data_dir / "artifacts" / task.id,
                      .checkpoint_dir = m_options.data_dir / "checkpoints" / task.id,
                      .dependencies = {},
                      .stop = running->stop.get_token()};
      // checkpoint_dir and artifact_dir are created by whoever writes into them
      // (write_artifacts, exec before it starts the program): no mkdir/rmdir per no-op task.
      for (const auto& dep_id : task.depends_on) {
        auto dep = [&] {
          auto timer = m_metrics.time(StoreOp::get);
          return store.get().get(dep_id);
        }();
        if (dep && dep->result.is_null() && dep->status == TaskStatus::completed) {
          // Retention trimmed it from the store: the result file still has it.
          if (auto rec = find_result_record(m_options.data_dir, dep_id, dep->finished_at_ms)) {
            dep->result = rec->value("result", Json());
          }
        }
        if (dep) {
          ctx.dependencies.emplace(dep_id, std::move(*dep));
        }
      }
      std::weak_ptr<Running> weak = running;
      ctx.report_progress = [weak](double percent, const std::string& message) {
        if (auto r = weak.lock()) {
          std::lock_guard lock(r->mutex);
          r->progress = std::clamp(percent, 0.0, 100.0);
          r->message = message.substr(0, 200);
          r->progress_dirty = true;
        }
      };
      try {
        result = type->run(ctx);
        outcome = Outcome::completed;
      } catch (...) {
        child_cpu = ctx.child_cpu_seconds;
        throw;
      }
      child_cpu = ctx.child_cpu_seconds;
    } catch (const TaskStopped&) {
      outcome = Outcome::stopped;
    } catch (const WaitingForInput& e) {
      outcome = Outcome::waiting;
      error = e.what();
    } catch (const TaskFailure& e) {
      outcome = Outcome::failed;
      error = e.what();
      retryable = e.retryable();
    } catch (const InputError& e) {
      outcome = Outcome::failed;
      error = e.what();
      retryable = false;
    } catch (const StoreUnavailable& e) {
      // Could not load the dependencies: the lease expires and the task runs again.
      store_failed(store, e.what());
      log_event("task_abandoned", task, "reason=store_unavailable");
      return;
    } catch (const std::exception& e) {
      outcome = Outcome::failed;
      error = e.what();
    }
  }
  running->finished = true;
  const StopReason reason = running->reason.load();
  const Millis finished_at_ms = SystemClock().now_ms();
  Accounting acct;
  acct.wall_seconds = std::chrono::duration<double>(SteadyClock::now() - wall_start).count();
  acct.cpu_seconds = std::max(0.0, thread_cpu_seconds() - cpu_start) + child_cpu;
  acct.gpu_seconds = 0.0;

  if (reason == StopReason::cancelled || reason == StopReason::lease_lost) {
    ++m_dropped;
    log_event("task_abandoned", task, fmt::format("reason={}", to_string(reason)));
    return;
  }
  if (outcome == Outcome::completed) {
    // A result computed is kept even if a timeout or shutdown raced with it.
    finish_complete(store, *running, next, std::move(result), acct, finished_at_ms);
    return;
  }
  if (reason == StopReason::timeout) {
    m_metrics.timeouts.inc();
    outcome = Outcome::failed;
    retryable = true;
    error = fmt::format("timeout: attempt exceeded {} s", running->timeout_ms / 1000.0);
  } else if (reason == StopReason::shutdown) {
    log_event("task_released", task, "reason=shutdown");
    deliver_or_queue(store, {Undelivered::Kind::release,
                             Json{{"id", task.id},
                                  {"token", token},
                                  {"delay_ms", 0},
                                  {"reason", "worker shutting down"},
                                  {"metric_reason", "shutdown"}}});
    return;
  }
  if (outcome == Outcome::waiting) {
    log_event("task_waiting", task, "reason=\"" + error + "\"");
    deliver_or_queue(store, {Undelivered::Kind::release,
                             Json{{"id", task.id},
                                  {"token", token},
                                  {"delay_ms", m_options.waiting_for_input_delay.count()},
                                  {"reason", "waiting for input: " + error},
                                  {"metric_reason", "waiting_for_input"}}});
    return;
  }
  if (outcome == Outcome::stopped) {
    // Stopped with no recorded reason (the handler gave up by itself): count it as a failure.
    error = "task stopped without a result";
  }
  log_event("task_failed", task, fmt::format("retryable={} error=\"{}\"", retryable, error.substr(0, 300)));
  // terminal only for the metrics: the store applies the same rule (docs/store-semantics.md).
  deliver_or_queue(store, {Undelivered::Kind::fail,
                           Json{{"id", task.id},
                                {"token", token},
                                {"error", error},
                                {"retryable", retryable},
                                {"task_type", task.task_type},
                                {"terminal", !retryable || task.attempts >= task.max_attempts}}});
}

void Worker::Impl::finish_complete(StoreHandle& store, const Running& running, std::optional<Lease>& next, Json result,
                                   const Accounting& acct, Millis finished_at_ms) {
  const Task& task = running.lease.task;
  Json accounting = {{"wall_seconds", acct.wall_seconds}, {"cpu_seconds", acct.cpu_seconds},
                     {"gpu_seconds", acct.gpu_seconds}};
  Json record = {{"task_id", task.id},
                 {"task_type", task.task_type},
                 {"name", task.name},
                 {"queue", task.queue},
                 {"machine_id", m_options.machine.machine_id},
                 {"attempt", task.attempts},
                 {"finished_at", format_iso8601(finished_at_ms)},
                 {"finished_at_ms", finished_at_ms},
                 {"result", std::move(result)},
                 {"accounting", accounting}};
  Json entry = {{"key", task.id + ":" + running.lease.token},
                {"id", task.id},
                {"token", running.lease.token},
                {"record", std::move(record)}};
  // Noted (no fsync) before the first delivery: a worker killed after the store took
  // the result but before the record was written leaves the entry to the next worker
  // start, whose late delivery recognises it and writes the record. Spooled durably
  // only if this first delivery fails: the fsynced spool is for outages.
  try {
    m_spool->note(entry);
  } catch (const std::exception& e) {
    spdlog::error("task={} spool note failed: {}", task.id, e.what());
  }
  deliver_or_queue(store, {Undelivered::Kind::complete, std::move(entry)}, &next);
}

// Whether a completion should also claim this slot's next task: not while stopping,
// after a burst ran dry, or while DATA_DIR cannot take result records.
bool Worker::Impl::wants_next_claim() {
  std::lock_guard lock(m_mutex);
  return m_stage == 0 && !m_claims_over && m_data_ok && m_backlog.empty();
}

// Sends one outcome; true when the store answered (accepted or refused), false when
// it was unavailable (the caller keeps the outcome for later).
bool Worker::Impl::deliver(TaskStore& store, const Undelivered& u, bool late, std::optional<Lease>* next) {
  const auto& e = u.entry;
  const std::string id = e.at("id").get<std::string>();
  const std::string token = e.at("token").get<std::string>();
  switch (u.kind) {
  case Undelivered::Kind::complete: {
    const Json& record = e.at("record");
    const Json& a = record.at("accounting");
    Accounting acct{a.value("wall_seconds", 0.0), a.value("cpu_seconds", 0.0), a.value("gpu_seconds", 0.0)};
    LeaseResult r = [&] {
      if (next && !late && wants_next_claim()) {
        auto timer = m_metrics.time(StoreOp::complete_claim);
        auto both = store.complete_and_claim(id, token, record.at("result"), acct, claim_request());
        *next = std::move(both.next);
        return both.completed;
      }
      auto timer = m_metrics.time(StoreOp::complete);
      return store.complete(id, token, record.at("result"), acct);
    }();
    bool record_it = r == LeaseResult::ok;
    if (r != LeaseResult::ok && late) {
      // After a crash the store may have taken this very result before the done
      // marker reached the spool: recognise it and still write the result record.
      auto t = [&] {
        auto timer = m_metrics.time(StoreOp::get);
        return store.get(id);
      }();
      // The record's own machine (an adopted spool may be another worker's) and
      // attempt: a later attempt of the same machine with an equal result is not this one.
      record_it = t && t->status == TaskStatus::completed &&
                  t->machine_id == record.value("machine_id", std::string()) &&
                  t->attempts == record.value("attempt", -1) && t->result == record.at("result") &&
                  !find_result_record(m_options.data_dir, id, record.value("finished_at_ms", Millis{0}));
    }
    if (!record_it) {
      count_refusal(r); // not when a late delivery found its own result already taken
    }
    const bool held = record_it && !write_record(e);
    if (r == LeaseResult::ok || record_it) {
      ++m_completed;
      m_metrics.completed(record.value("task_type", ""), acct.wall_seconds);
      if (late) {
        ++m_late;
      }
      std::error_code ec;
      std::filesystem::remove_all(m_options.data_dir / "checkpoints" / id, ec);
      spdlog::info("task_completed task={} type={} queue={} machine={} attempt={} wall_s={:.3f} cpu_s={:.3f}{}", id,
                   record.value("task_type", ""), record.value("queue", ""), m_options.machine.machine_id,
                   record.value("attempt", 0), acct.wall_seconds, acct.cpu_seconds, late ? " delivered=late" : "");
    } else {
      ++m_dropped;
      m_metrics.dropped.inc();
      spdlog::warn("result_dropped task={} machine={} reason={}: the store refused it (reclaimed or cancelled)", id,
                   m_options.machine.machine_id, to_string(r));
    }
    if (!held) {
      m_spool->done(e.at("key").get<std::string>());
    }
    return true;
  }
  case Undelivered::Kind::fail: {
    LeaseResult r = [&] {
      auto timer = m_metrics.time(StoreOp::fail);
      return store.fail(id, token, e.at("error").get<std::string>(), e.at("retryable").get<bool>());
    }();
    count_refusal(r);
    if (r == LeaseResult::ok) {
      ++m_failed;
      m_metrics.failed(e.value("task_type", ""), e.value("terminal", false));
    } else {
      spdlog::warn("fail_ignored task={} reason={}", id, to_string(r));
    }
    return true;
  }
  case Undelivered::Kind::release: {
    LeaseResult r = [&] {
      auto timer = m_metrics.time(StoreOp::release);
      return store.release(id, token, e.at("delay_ms").get<Millis>(), e.at("reason").get<std::string>());
    }();
    count_refusal(r);
    if (r == LeaseResult::ok) {
      ++m_released;
      m_metrics.released(e.value("metric_reason", "other"));
    } else {
      spdlog::warn("release_ignored task={} reason={}", id, to_string(r));
    }
    return true;
  }
  }
  return true;
}

void Worker::Impl::deliver_or_queue(StoreHandle& store, Undelivered u, std::optional<Lease>* next) {
  for (int attempt = 0; attempt < 2 && store_ok(); ++attempt) {
    try {
      // A retry may find the first try applied (its answer lost): deliver as late.
      deliver(store.get(), u, attempt > 0, next);
      store_succeeded();
      return;
    } catch (const StoreUnavailable& e) {
      if (store_failed(store, e.what())) {
        break;
      }
    }
  }
  if (u.kind == Undelivered::Kind::complete) {
    try {
      m_spool->put(u.entry);
    } catch (const std::exception& e) {
      // Without the spool the result lives only in memory until the store is back.
      spdlog::error("task={} spool write failed: {}; the result is kept in memory only",
                    u.entry.value("id", std::string()), e.what());
    }
  }
  std::lock_guard lock(m_mutex);
  m_backlog.push_back(std::move(u));
  m_cv.notify_all();
}

void Worker::Impl::deliver_backlog(StoreHandle& store) {
  for (;;) {
    Undelivered u;
    {
      std::lock_guard lock(m_mutex);
      if (m_backlog.empty()) {
        return;
      }
      u = std::move(m_backlog.front());
      m_backlog.pop_front();
    }
    try {
      deliver(store.get(), u, true);
    } catch (const StoreUnavailable&) {
      std::lock_guard lock(m_mutex);
      m_backlog.push_front(std::move(u));
      throw;
    }
  }
}

// Appends the record of an accepted result; false when DATA_DIR refused it (full,
// read-only, gone): the record is then held (its spool entry stays outstanding, so a
// crash keeps it too) and retried by the supervisor; claiming pauses meanwhile.
bool Worker::Impl::write_record(const Json& entry) {
  try {
    m_results->append(entry.at("record"));
    return true;
  } catch (const std::exception& ex) {
    try {
      m_spool->put(entry);
    } catch (const std::exception& se) {
      spdlog::error("task={} spool write failed: {}; the result record is kept in memory only",
                    entry.value("id", std::string()), se.what());
    }
    std::lock_guard lock(m_mutex);
    m_held.push_back(entry);
    if (m_data_ok) {
      m_data_ok = false;
      m_data_outage_start = SteadyClock::now();
      m_held_written = 0;
      spdlog::error("DATA_DIR unwritable: result records cannot be written under {}: {}; the store has the "
                    "results, their records are held (spooled in {}) and written when it is writable again; "
                    "claiming paused",
                    (m_options.data_dir / "results").string(), ex.what(), m_spool->file().parent_path().string());
    }
    return false;
  }
}

void Worker::Impl::write_held_records() {
  for (;;) {
    Json entry;
    {
      std::lock_guard lock(m_mutex);
      if (m_held.empty()) {
        break;
      }
      entry = m_held.front();
    }
    try {
      m_results->append(entry.at("record"));
    } catch (const std::exception&) {
      return; // still unwritable: the next tick tries again
    }
    m_spool->done(entry.at("key").get<std::string>());
    std::lock_guard lock(m_mutex);
    m_held.pop_front();
    ++m_held_written;
  }
  std::lock_guard lock(m_mutex);
  if (!m_data_ok && m_held.empty()) {
    m_data_ok = true;
    auto secs = std::chrono::duration<double>(SteadyClock::now() - m_data_outage_start).count();
    spdlog::info("DATA_DIR writable again after {:.1f} s: {} held result record(s) written; claiming resumes", secs,
                 m_held_written);
    m_cv.notify_all();
  }
}

void Worker::Impl::heartbeat(StoreHandle& store) {
  auto info = m_options.machine;
  info.queues = m_options.queues;
  auto timer = m_metrics.time(StoreOp::heartbeat);
  store.get().heartbeat(info);
}

void Worker::Impl::renew_all(StoreHandle& store, bool force) {
  std::vector<std::shared_ptr<Running>> running;
  {
    std::lock_guard lock(m_mutex);
    for (const auto& r : m_running) {
      if (r) {
        running.push_back(r);
      }
    }
  }
  const auto now = SteadyClock::now();
  const auto renew_every = std::chrono::milliseconds(std::max<Millis>(m_options.lease_ms / 3, 50));
  for (const auto& r : running) {
    if (r->reason.load() != StopReason::none || r->finished.load()) {
      continue;
    }
    if (now >= r->deadline) {
      log_event("task_timeout", r->lease.task, fmt::format("timeout_s={}", r->timeout_ms / 1000.0));
      r->request(StopReason::timeout);
      continue;
    }
    std::optional<double> progress;
    std::optional<std::string> message;
    bool due = force || now - r->last_renew >= renew_every;
    {
      std::lock_guard lock(r->mutex);
      if (r->progress_dirty && now - r->last_progress_push >= m_options.progress_interval) {
        progress = r->progress;
        message = r->message;
        r->progress_dirty = false;
        r->last_progress_push = now;
        due = true;
      }
    }
    if (!due) {
      continue;
    }
    LeaseResult res = [&] {
      auto timer = m_metrics.time(StoreOp::renew);
      return store.get().renew(r->lease.task.id, r->lease.token, m_options.lease_ms, progress, message);
    }();
    r->last_renew = now;
    if (r->finished.load()) {
      continue; // completed meanwhile: the store no longer knows this lease, as expected
    }
    count_refusal(res);
    if (res == LeaseResult::cancelled) {
      log_event("task_cancelled", r->lease.task);
      r->request(StopReason::cancelled);
    } else if (res != LeaseResult::ok) {
      log_event("lease_lost", r->lease.task, fmt::format("reason={}", to_string(res)));
      r->request(StopReason::lease_lost);
    }
  }
}

void Worker::Impl::supervisor_loop() {
  StoreHandle store(&m_factory, &m_epoch);
  auto next_heartbeat = SteadyClock::now();
  auto next_probe = SteadyClock::now();
  auto backoff = m_options.backoff_initial;
  bool was_ok = true;
  const auto tick = std::chrono::milliseconds(std::clamp<Millis>(m_options.lease_ms / 6, 20, 200));
  for (;;) {
    int stage;
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait_for(lock, tick, [&] { return m_supervisor_exit; });
      if (m_supervisor_exit) {
        break;
      }
      stage = m_stage;
      // Grace is over (or a second request): hand every running task back.
      if ((stage == 2 || (stage == 1 && SteadyClock::now() >= m_grace_end)) && !m_grace_fired) {
        m_grace_fired = true;
        for (const auto& r : m_running) {
          if (r) {
            r->request(StopReason::shutdown);
          }
        }
      }
    }
    write_held_records();
    const auto now = SteadyClock::now();
    const bool ok = store_ok();
    if (!ok && now < next_probe) {
      // Timeouts still apply while the store is away.
      std::lock_guard lock(m_mutex);
      for (const auto& r : m_running) {
        if (r && r->reason.load() == StopReason::none && now >= r->deadline) {
          log_event("task_timeout", r->lease.task, fmt::format("timeout_s={}", r->timeout_ms / 1000.0));
          r->request(StopReason::timeout);
        }
      }
      continue;
    }
    try {
      if (!ok) {
        auto timer = m_metrics.time(StoreOp::ping);
        store.get().ping();
        store_succeeded();
      }
      const bool recovered = !was_ok || !ok;
      was_ok = true;
      if (recovered || now >= next_heartbeat) {
        heartbeat(store);
        next_heartbeat = now + m_options.heartbeat_interval;
      }
      renew_all(store, recovered);
      m_gpu_fallback.tick(store.get());
      deliver_backlog(store);
      backoff = m_options.backoff_initial;
    } catch (const StoreUnavailable& e) {
      if (!store_failed(store, e.what())) {
        continue; // an old connection: the next tick reconnects
      }
      was_ok = false;
      next_probe = SteadyClock::now() + backoff;
      backoff = std::min(backoff * 2, m_options.backoff_max);
    } catch (const std::exception& e) {
      spdlog::error("supervisor: {}", e.what());
      store.reset();
      next_probe = SteadyClock::now() + backoff;
      backoff = std::min(backoff * 2, m_options.backoff_max);
    }
  }
  // Last chance for outcomes that waited for the store (a graceful stop after an outage).
  try {
    deliver_backlog(store);
  } catch (const std::exception&) {
  }
}

Worker::Worker(StoreFactory store_factory, const Config& config, WorkerOptions options, const TaskRegistry& registry)
    : m_impl(std::make_unique<Impl>(std::move(store_factory), config, std::move(options), registry)) {}

Worker::~Worker() = default;

int Worker::run() { return m_impl->run(); }

void Worker::request_stop() { m_impl->request_stop(); }

WorkerStats Worker::stats() const { return m_impl->stats(); }

metrics::Registry& Worker::metrics() { return m_impl->metrics_registry(); }

} // namespace nfl
