// The SQLite TaskStore: one file, WAL, every write in BEGIN IMMEDIATE so that several
// processes on one machine claim atomically. See docs/store-semantics.md for the
// behaviour and docs/decisions.md ("SQLite backend") for the schema choices.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif

#include <fmt/format.h>
#include <sqlite3.h>

#include "store/store_factory.hpp"
#include "util/error.hpp"
#include "util/ids.hpp"

namespace nfl {

namespace {

namespace fs = std::filesystem;

constexpr int k_schema_version = 1;
constexpr int k_busy_timeout_ms = 10'000;
// claim() does bounded housekeeping so that its cost stays flat however much is due.
constexpr std::int64_t k_reclaim_batch = 100;
constexpr std::int64_t k_promote_batch = 1000;
constexpr int k_kept_error_chars = 1024;
// Without inotify a waiter re-checks this often so another process's add is seen.
constexpr Millis k_fallback_wait_ms = 100;
// Starts the blocked_reason of a task on (or behind) a dependency cycle closed by sync.
constexpr const char* k_cycle_reason = "dependency cycle among ";

// Where a pending task sits. Only `ready` tasks are in the claim index, so a claim
// never walks past tasks that wait for a backoff or for dependencies.
enum QueueState : int { k_none = 0, k_ready = 1, k_delayed = 2, k_waiting = 3 };

constexpr const char* k_schema = R"sql(
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  task_type TEXT NOT NULL,
  queue TEXT NOT NULL,
  priority INTEGER NOT NULL,
  config TEXT NOT NULL,
  depends_on TEXT NOT NULL,
  estimated_hours REAL NOT NULL,
  requires_gpu INTEGER NOT NULL,
  min_gpu_memory REAL NOT NULL,
  min_cpu_cores INTEGER NOT NULL,
  min_memory REAL NOT NULL,
  expected_value REAL NOT NULL,
  created_at TEXT NOT NULL,
  max_attempts INTEGER NOT NULL,
  timeout_s INTEGER NOT NULL,
  extra TEXT NOT NULL,
  cache_key TEXT NOT NULL,
  status TEXT NOT NULL,
  qstate INTEGER NOT NULL DEFAULT 0,
  seq INTEGER NOT NULL DEFAULT 0,
  unmet INTEGER NOT NULL DEFAULT 0,
  token TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  machine_id TEXT NOT NULL DEFAULT '',
  progress REAL NOT NULL DEFAULT 0,
  progress_message TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  result TEXT,
  cached INTEGER NOT NULL DEFAULT 0,
  blocked_reason TEXT NOT NULL DEFAULT '',
  enqueued_at_ms INTEGER NOT NULL DEFAULT 0,
  started_at_ms INTEGER NOT NULL DEFAULT 0,
  finished_at_ms INTEGER NOT NULL DEFAULT 0,
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  not_before_ms INTEGER NOT NULL DEFAULT 0,
  trimmed INTEGER NOT NULL DEFAULT 0,
  wall_seconds REAL NOT NULL DEFAULT 0,
  cpu_seconds REAL NOT NULL DEFAULT 0,
  gpu_seconds REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_ready ON tasks(queue, priority, seq) WHERE qstate = 1;
CREATE INDEX IF NOT EXISTS tasks_delayed ON tasks(not_before_ms) WHERE qstate = 2;
CREATE INDEX IF NOT EXISTS tasks_leases ON tasks(lease_expires_ms) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks(status, queue, qstate);
CREATE INDEX IF NOT EXISTS tasks_by_type ON tasks(task_type);
CREATE INDEX IF NOT EXISTS tasks_completions ON tasks(finished_at_ms) WHERE status = 'completed' AND cached = 0;
CREATE TABLE IF NOT EXISTS deps (
  dep_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  PRIMARY KEY (dep_id, task_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deps_by_task ON deps(task_id);
CREATE TABLE IF NOT EXISTS cache (
  task_type TEXT NOT NULL,
  cache_key TEXT NOT NULL,
  task_id TEXT NOT NULL,
  PRIMARY KEY (task_type, cache_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cache_by_task ON cache(task_id);
CREATE TABLE IF NOT EXISTS machines (
  machine_id TEXT PRIMARY KEY,
  profile TEXT NOT NULL DEFAULT '',
  queues TEXT NOT NULL DEFAULT '[]',
  hardware TEXT NOT NULL DEFAULT '{}',
  last_seen_ms INTEGER NOT NULL DEFAULT 0,
  tasks_done INTEGER NOT NULL DEFAULT 0,
  cpu_hours REAL NOT NULL DEFAULT 0,
  gpu_hours REAL NOT NULL DEFAULT 0,
  wall_hours REAL NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta(key, value) VALUES ('seq', 0), ('rejected_completions', 0);
)sql";

// Column order read by read_task().
constexpr const char* k_task_columns =
    "id, name, task_type, queue, priority, config, depends_on, estimated_hours, requires_gpu, min_gpu_memory, "
    "min_cpu_cores, min_memory, expected_value, created_at, max_attempts, timeout_s, extra, status, attempts, "
    "machine_id, progress, progress_message, error, result, cached, blocked_reason, enqueued_at_ms, started_at_ms, "
    "finished_at_ms, lease_expires_ms, not_before_ms, trimmed, wall_seconds, cpu_seconds, gpu_seconds";

bool is_busy(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// One statement in use: bound, stepped, and reset when it goes out of scope so the
// cached statement is ready for the next caller.
class Query {
public:
  Query(sqlite3* db, sqlite3_stmt* stmt) : m_db(db), m_stmt(stmt) {}
  ~Query() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(m_stmt, i, v));
    return *this;
  }
  Query& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Query& bind(int i, bool v) { return bind(i, static_cast<std::int64_t>(v ? 1 : 0)); }
  Query& bind(int i, double v) {
    check(sqlite3_bind_double(m_stmt, i, v));
    return *this;
  }
  Query& bind(int i, std::string_view v) {
    check(sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Query& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Query& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Query& bind_null(int i) {
    check(sqlite3_bind_null(m_stmt, i));
    return *this;
  }

  // True while a row is available.
  bool step() {
    int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    check(rc);
    return false;
  }
  void run() {
    while (step()) {
    }
  }

  std::int64_t i64(int col) const { return sqlite3_column_int64(m_stmt, col); }
  double f64(int col) const { return sqlite3_column_double(m_stmt, col); }
  bool is_null(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(m_stmt, col);
    if (p == nullptr) {
      return {};
    }
    return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)));
  }
  // Every remaining row's first column: read whole, so the caller may change the
  // rows it names afterwards.
  std::vector<std::string> texts() {
    std::vector<std::string> out;
    while (step()) {
      out.push_back(text(0));
    }
    return out;
  }

private:
  void check(int rc) const {
    if (rc == SQLITE_OK) {
      return;
    }
    std::string msg = fmt::format("sqlite: {} ({})", sqlite3_errmsg(m_db), sqlite3_sql(m_stmt));
    if (is_busy(rc)) {
      throw StoreUnavailable(msg);
    }
    if ((rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_READONLY) {
      throw StoreUnavailable(msg);
    }
    throw InternalError(msg);
  }

  sqlite3* m_db;
  sqlite3_stmt* m_stmt;
};

Json parse_json_column(const std::string& text, std::string_view column, const std::string& id) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    throw InternalError(fmt::format("sqlite: task '{}' has a corrupt {} column: {}", id, column, e.what()));
  }
}

Task read_task(const Query& q) {
  Task t;
  t.id = q.text(0);
  t.name = q.text(1);
  t.task_type = q.text(2);
  t.queue = q.text(3);
  t.priority = static_cast<Priority>(std::clamp<std::int64_t>(q.i64(4), 0, 4));
  t.config = parse_json_column(q.text(5), "config", t.id);
  for (const auto& d : parse_json_column(q.text(6), "depends_on", t.id)) {
    t.depends_on.push_back(d.get<std::string>());
  }
  t.estimated_hours = q.f64(7);
  t.requires_gpu = q.i64(8) != 0;
  t.min_gpu_memory = q.f64(9);
  t.min_cpu_cores = static_cast<int>(q.i64(10));
  t.min_memory = q.f64(11);
  t.expected_value = q.f64(12);
  t.created_at = q.text(13);
  t.max_attempts = static_cast<int>(q.i64(14));
  t.timeout_s = q.i64(15);
  t.extra = parse_json_column(q.text(16), "extra", t.id);
  t.status = parse_status(q.text(17), "sqlite column 'status'");
  t.attempts = static_cast<int>(q.i64(18));
  t.machine_id = q.text(19);
  t.progress = q.f64(20);
  t.progress_message = q.text(21);
  t.error = q.text(22);
  t.result = q.is_null(23) ? Json() : parse_json_column(q.text(23), "result", t.id);
  t.cached = q.i64(24) != 0;
  t.blocked_reason = q.text(25);
  t.enqueued_at_ms = q.i64(26);
  t.started_at_ms = q.i64(27);
  t.finished_at_ms = q.i64(28);
  t.lease_expires_ms = q.i64(29);
  t.not_before_ms = q.i64(30);
  t.trimmed = q.i64(31) != 0;
  t.wall_seconds = q.f64(32);
  t.cpu_seconds = q.f64(33);
  t.gpu_seconds = q.f64(34);
  return t;
}

double jitter_factor() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return 1.0 + std::uniform_real_distribution<double>(0.0, 0.25)(rng);
}

// Wakes waiters in this and other processes: every writer that makes work claimable
// writes one byte to `<db>.wake`; waiters hold an inotify watch on it.
// Binds ?1-?17 to the task's definition columns (id, name, task_type, queue, priority,
// config, depends_on, estimated_hours, requires_gpu, min_gpu_memory, min_cpu_cores,
// min_memory, expected_value, created_at, max_attempts, timeout_s, extra): shared by
// add and import, whose statements list those columns first.
Query& bind_definition(Query& q, const Task& t) {
  return q.bind(1, t.id)
      .bind(2, t.name)
      .bind(3, t.task_type)
      .bind(4, t.queue)
      .bind(5, static_cast<int>(t.priority))
      .bind(6, t.config.dump())
      .bind(7, Json(t.depends_on).dump())
      .bind(8, t.estimated_hours)
      .bind(9, t.requires_gpu)
      .bind(10, t.min_gpu_memory)
      .bind(11, t.min_cpu_cores)
      .bind(12, t.min_memory)
      .bind(13, t.expected_value)
      .bind(14, t.created_at)
      .bind(15, t.max_attempts)
      .bind(16, t.timeout_s)
      .bind(17, (t.extra.is_object() ? t.extra : Json::object()).dump());
}

class WakeWatch {
public:
  explicit WakeWatch(const fs::path& wake_file) {
#ifdef __linux__
    m_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (m_fd >= 0 && ::inotify_add_watch(m_fd, wake_file.c_str(), IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE) < 0) {
      ::close(m_fd);
      m_fd = -1;
    }
#else
    (void)wake_file;
#endif
  }
  ~WakeWatch() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  WakeWatch(const WakeWatch&) = delete;
  WakeWatch& operator=(const WakeWatch&) = delete;

  bool active() const { return m_fd >= 0; }

  // Returns when the wake file changes or after `ms`.
  void wait(Millis ms) {
    pollfd p{m_fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::clamp<Millis>(ms, 0, 60'000)));
    if (rc > 0) {
      drain(); // so the next wait blocks until a new write
    }
  }

  // Forgets changes seen so far (a kept watch collects them while nobody waits).
  void drain() {
    char buf[4096];
    while (m_fd >= 0 && ::read(m_fd, buf, sizeof buf) > 0) {
    }
  }

private:
  int m_fd = -1;
};

// Connections of one process to one database file take turns through this mutex
// before BEGIN IMMEDIATE, so the worker's slots queue on a futex instead of polling
// SQLite's lock; other processes still meet the busy handler below.
std::shared_ptr<std::mutex> writer_lock_for(const fs::path& db_path) {
  static std::mutex registry_mutex;
  static std::map<std::string, std::weak_ptr<std::mutex>> registry;
  std::error_code ec;
  auto canonical = fs::weakly_canonical(db_path, ec);
  const std::string key = ec ? db_path.string() : canonical.string();
  std::lock_guard lock(registry_mutex);
  auto& slot = registry[key];
  auto mutex = slot.lock();
  if (!mutex) {
    mutex = std::make_shared<std::mutex>();
    slot = mutex;
  }
  return mutex;
}

// SQLite's own busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries: right for
// long writers, but our transactions last tens of microseconds, so a worker process
// meeting another one's lock waited milliseconds per claim. Yield first, then sleep
// from 50 µs doubling to 5 ms, up to k_busy_timeout_ms in all.
int busy_handler(void* first_try, int tries) {
  auto& start = *static_cast<std::chrono::steady_clock::time_point*>(first_try);
  const auto now = std::chrono::steady_clock::now();
  if (tries == 0) {
    start = now;
  }
  if (now - start >= std::chrono::milliseconds(k_busy_timeout_ms)) {
    return 0;
  }
  if (tries < 8) {
    std::this_thread::yield();
  } else {
    const int shift = std::min(tries - 8, 7);
    std::this_thread::sleep_for(std::chrono::microseconds(std::min(50 << shift, 5000)));
  }
  return 1;
}

class SqliteStore final : public TaskStore {
public:
  SqliteStore(fs::path db_path, StoreOptions options)
      : m_path(std::move(db_path)), m_wake_path(m_path.string() + ".wake"), m_options(std::move(options)) {
    if (!m_options.clock) {
      m_options.clock = system_clock();
    }
    std::error_code ec;
    if (m_path.has_parent_path()) {
      fs::create_directories(m_path.parent_path(), ec);
      if (ec) {
        throw StoreUnavailable(fmt::format("sqlite: cannot create directory '{}' for the database: {}",
                                           m_path.parent_path().string(), ec.message()));
      }
    }
    int rc = sqlite3_open_v2(m_path.c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
      sqlite3_close(m_db);
      throw StoreUnavailable(fmt::format("sqlite: cannot open '{}': {}", m_path.string(), msg));
    }
    try {
      sqlite3_busy_handler(m_db, busy_handler, &m_busy_first_try);
      std::string mode = pragma_text("PRAGMA journal_mode=WAL");
      if (mode != "wal") {
        throw StoreUnavailable(fmt::format(
            "sqlite: '{}' cannot use WAL mode (got '{}'); put STATE_DIR on a local file system", m_path.string(),
            mode));
      }
      // WAL + NORMAL survives process crashes; a power cut may lose the last commits.
      exec("PRAGMA synchronous=NORMAL");
      init_schema();
      m_wake_fd = ::open(m_wake_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (m_wake_fd < 0) {
        throw StoreUnavailable(
            fmt::format("sqlite: cannot open wake file '{}': {}", m_wake_path.string(), std::strerror(errno)));
      }
    } catch (...) {
      close_all();
      throw;
    }
  }

  ~SqliteStore() override { close_all(); }

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  std::vector<AddOutcome> add(std::span<const Task> tasks) override {
    for (const Task& t : tasks) {
      validate_for_add(t);
    }
    check_no_dependency_cycle(tasks);
    bool wake = false;
    auto outcomes = write_tx([&] {
      std::vector<AddOutcome> out;
      out.reserve(tasks.size());
      Millis now = now_ms();
      for (const Task& t : tasks) {
        out.push_back(add_one(t, now, wake));
      }
      return out;
    });
    if (wake) {
      touch_wake();
    }
    return outcomes;
  }

  std::optional<Lease> claim(const ClaimRequest& req) override {
    check_claim_request(req);
    std::size_t moved = 0;
    auto lease = write_tx([&] { return claim_locked(req, moved); });
    if (moved > 0) {
      // Reclaimed or promoted work may suit another waiter's queues.
      touch_wake();
    }
    return lease;
  }

  CompleteAndClaim complete_and_claim(const std::string& id, const std::string& token, const Json& result,
                                      const Accounting& accounting, const ClaimRequest& next) override {
    check_claim_request(next);
    bool wake = false;
    std::size_t moved = 0;
    // One transaction: its commit writes each touched page to the WAL once for both.
    auto out = write_tx([&] {
      CompleteAndClaim r;
      r.completed = complete_locked(id, token, result, accounting, wake);
      r.next = claim_locked(next, moved);
      return r;
    });
    if (wake || moved > 0) {
      touch_wake();
    }
    return out;
  }

  std::optional<Lease> claim_wait(const ClaimRequest& req, std::chrono::milliseconds timeout) override {
    Millis deadline = monotonic_ms() + timeout.count();
    // Busy queue: no watch at all. Creating and closing an inotify watch per call cost
    // about a millisecond of every claim (close waits for an RCU grace period), so the
    // store keeps one, made on the first idle wait. A second thread waiting on the same
    // store at once gets its own, so neither drains the other's wake-up.
    if (auto lease = claim(req)) {
      return lease;
    }
    std::unique_lock kept(m_watch_mutex, std::try_to_lock);
    std::optional<WakeWatch> own;
    WakeWatch* watch = nullptr;
    if (kept.owns_lock()) {
      if (!m_watch) {
        m_watch.emplace(m_wake_path);
      }
      watch = &*m_watch;
      watch->drain();
    } else {
      watch = &own.emplace(m_wake_path);
    }
    // The watch exists (and is drained) before this claim, so an add between the
    // claim and the wait still wakes us.
    for (;;) {
      if (auto lease = claim(req)) {
        return lease;
      }
      Millis left = deadline - monotonic_ms();
      if (left <= 0) {
        return std::nullopt;
      }
      Millis wait = left;
      if (auto due = next_due_in_ms()) {
        wait = std::min(wait, std::max<Millis>(*due, 1));
      }
      if (watch->active()) {
        watch->wait(wait);
      } else {
        std::unique_lock lock(m_wake_mutex);
        std::uint64_t seen = m_wake_generation;
        m_wake_cv.wait_for(lock, std::chrono::milliseconds(std::min(wait, k_fallback_wait_ms)),
                           [&] { return m_wake_generation != seen; });
      }
    }
  }

  LeaseResult renew(const std::string& id, const std::string& token, Millis lease_ms, std::optional<double> progress,
                    std::optional<std::string> message) override {
    return write_tx([&] {
      LeaseResult r = check_lease_locked(id, token);
      if (r != LeaseResult::ok) {
        return r;
      }
      auto q = query("UPDATE tasks SET lease_expires_ms = ?2, progress = COALESCE(?3, progress), "
                     "progress_message = COALESCE(?4, progress_message) WHERE id = ?1");
      q.bind(1, id).bind(2, now_ms() + std::max<Millis>(lease_ms, 1));
      if (progress) {
        q.bind(3, std::clamp(*progress, 0.0, 100.0));
      } else {
        q.bind_null(3);
      }
      if (message) {
        q.bind(4, *message);
      } else {
        q.bind_null(4);
      }
      q.run();
      return LeaseResult::ok;
    });
  }

  LeaseResult complete(const std::string& id, const std::string& token, const Json& result,
                       const Accounting& accounting) override {
    bool wake = false;
    auto r = write_tx([&] { return complete_locked(id, token, result, accounting, wake); });
    if (wake) {
      touch_wake();
    }
    return r;
  }

  LeaseResult fail(const std::string& id, const std::string& token, const std::string& error,
                   bool retryable) override {
    bool wake = false;
    auto r = write_tx([&] {
      LeaseResult lr = check_lease_locked(id, token);
      if (lr != LeaseResult::ok) {
        return lr;
      }
      Millis now = now_ms();
      int attempts = 0;
      int max_attempts = 0;
      {
        auto q = query("SELECT attempts, max_attempts FROM tasks WHERE id = ?1");
        q.bind(1, id);
        q.step();
        attempts = static_cast<int>(q.i64(0));
        max_attempts = static_cast<int>(q.i64(1));
      }
      if (retryable && attempts < max_attempts) {
        Millis not_before = now + backoff_ms(attempts);
        requeue_delayed_locked(id, not_before, now);
        query("UPDATE tasks SET error = ?2 WHERE id = ?1").bind(1, id).bind(2, error).run();
        wake = true;
      } else {
        finish_failed_locked(id, error, now);
      }
      return LeaseResult::ok;
    });
    if (wake) {
      touch_wake();
    }
    return r;
  }

  LeaseResult release(const std::string& id, const std::string& token, Millis delay_ms,
                      const std::string& reason) override {
    auto r = write_tx([&] {
      LeaseResult lr = check_lease_locked(id, token);
      if (lr != LeaseResult::ok) {
        return lr;
      }
      Millis now = now_ms();
      requeue_delayed_locked(id, now + std::max<Millis>(delay_ms, 0), now);
      query("UPDATE tasks SET attempts = MAX(attempts - 1, 0), progress_message = ?2 WHERE id = ?1")
          .bind(1, id)
          .bind(2, reason)
          .run();
      return LeaseResult::ok;
    });
    if (r == LeaseResult::ok) {
      touch_wake();
    }
    return r;
  }

  bool requeue(const std::string& id) override {
    bool wake = false;
    bool done = write_tx([&] {
      std::string status;
      bool trimmed = false;
      {
        auto q = query("SELECT status, trimmed FROM tasks WHERE id = ?1");
        q.bind(1, id);
        if (!q.step()) {
          return false;
        }
        status = q.text(0);
        trimmed = q.i64(1) != 0;
      }
      if (status != "failed" && status != "cancelled" && status != "blocked") {
        return false;
      }
      if (trimmed) {
        throw InputError(fmt::format(
            "requeue: task '{}' was trimmed by retention (its config is gone); submit it again instead", id));
      }
      query("UPDATE tasks SET attempts = 0, error = '', blocked_reason = '', finished_at_ms = 0, machine_id = '', "
            "progress = 0, progress_message = '', result = NULL, cached = 0, token = '', lease_expires_ms = 0, "
            "not_before_ms = 0 WHERE id = ?1")
          .bind(1, id)
          .run();
      wake |= enqueue_or_wait_locked(id);
      wake |= unblock_dependents_locked(id);
      return true;
    });
    if (wake) {
      touch_wake();
    }
    return done;
  }

  bool cancel(const std::string& id) override {
    return write_tx([&] {
      std::string status;
      {
        auto q = query("SELECT status FROM tasks WHERE id = ?1");
        q.bind(1, id);
        if (!q.step()) {
          return false;
        }
        status = q.text(0);
      }
      if (status != "pending" && status != "blocked" && status != "running") {
        return false;
      }
      query("UPDATE tasks SET status = 'cancelled', qstate = 0, token = '', lease_expires_ms = 0, "
            "finished_at_ms = ?2 WHERE id = ?1")
          .bind(1, id)
          .bind(2, now_ms())
          .run();
      block_dependents_locked(id, fmt::format("dependency '{}' was cancelled", id));
      return true;
    });
  }

  std::optional<Task> get(const std::string& id) override {
    std::lock_guard lock(m_mutex);
    return load_locked(id);
  }

  std::vector<Task> list(const TaskFilter& filter) override {
    std::string sql = fmt::format("SELECT {} FROM tasks WHERE 1", k_task_columns);
    if (filter.status) {
      sql += " AND status = ?1";
    }
    if (filter.task_type) {
      sql += " AND task_type = ?2";
    }
    if (filter.queue) {
      sql += " AND queue = ?3";
    }
    sql += " ORDER BY rowid LIMIT ?4 OFFSET ?5";
    std::lock_guard lock(m_mutex);
    auto q = query(sql);
    if (filter.status) {
      q.bind(1, to_string(*filter.status));
    }
    if (filter.task_type) {
      q.bind(2, *filter.task_type);
    }
    if (filter.queue) {
      q.bind(3, *filter.queue);
    }
    q.bind(4, static_cast<std::int64_t>(std::min<std::size_t>(filter.limit, INT64_MAX)));
    q.bind(5, static_cast<std::int64_t>(std::min<std::size_t>(filter.offset, INT64_MAX)));
    std::vector<Task> out;
    while (q.step()) {
      out.push_back(read_task(q));
    }
    return out;
  }

  std::size_t reclaim_expired() override {
    std::size_t total = 0;
    for (;;) {
      std::size_t n = write_tx([&] { return reclaim_locked(now_ms(), k_reclaim_batch); });
      total += n;
      if (n < static_cast<std::size_t>(k_reclaim_batch)) {
        break;
      }
    }
    if (total > 0) {
      touch_wake();
    }
    return total;
  }

  void heartbeat(const MachineInfo& machine) override {
    if (machine.machine_id.empty()) {
      throw InputError("heartbeat: machine_id must not be empty");
    }
    write_tx([&] {
      query("INSERT INTO machines(machine_id, profile, queues, hardware, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5) "
            "ON CONFLICT(machine_id) DO UPDATE SET profile = excluded.profile, queues = excluded.queues, "
            "hardware = excluded.hardware, last_seen_ms = excluded.last_seen_ms")
          .bind(1, machine.machine_id)
          .bind(2, machine.profile)
          .bind(3, Json(machine.queues).dump())
          .bind(4, machine.hardware.dump())
          .bind(5, now_ms())
          .run();
    });
  }

  std::vector<MachineInfo> machines() override {
    std::lock_guard lock(m_mutex);
    return machines_locked();
  }

  StoreStatus status() override {
    std::lock_guard lock(m_mutex);
    // One read transaction: a consistent snapshot across the queries below.
    exec("BEGIN");
    try {
      StoreStatus s;
      for (auto queue : k_queues) {
        s.queues[std::string(queue)] = QueueCounts{};
      }
      for (auto st : k_statuses) {
        s.counts[std::string(to_string(st))] = 0;
      }
      {
        auto q = query("SELECT status, queue, qstate, count(*) FROM tasks GROUP BY status, queue, qstate");
        while (q.step()) {
          std::string st = q.text(0);
          std::string queue = q.text(1);
          std::int64_t qstate = q.i64(2);
          std::int64_t n = q.i64(3);
          s.counts[st] += n;
          if (st == "pending" && (qstate == k_ready || qstate == k_delayed)) {
            s.queues[queue].pending += n;
          } else if (st == "running") {
            s.queues[queue].running += n;
          }
        }
      }
      {
        auto q = query(fmt::format("SELECT {} FROM tasks WHERE status = 'running' ORDER BY started_at_ms, rowid",
                                   k_task_columns));
        while (q.step()) {
          s.running.push_back(read_task(q));
        }
      }
      s.machines = machines_locked();
      {
        auto q = query("SELECT value FROM meta WHERE key = 'rejected_completions'");
        if (q.step()) {
          s.rejected_completions = q.i64(0);
        }
      }
      Millis now = now_ms();
      auto completions_since = [&](Millis since) {
        auto q = query("SELECT count(*) FROM tasks WHERE status = 'completed' AND cached = 0 AND finished_at_ms > ?1");
        q.bind(1, since);
        q.step();
        return q.i64(0);
      };
      s.completed_last_5m = completions_since(now - 5 * 60'000);
      s.completed_last_1h = completions_since(now - 60 * 60'000);
      exec("COMMIT");
      return s;
    } catch (...) {
      exec_noexcept("ROLLBACK");
      throw;
    }
  }

  std::size_t trim_finished(Millis older_than_ms) override {
    return write_tx([&] {
      query("DELETE FROM cache WHERE task_id IN (SELECT id FROM tasks WHERE status IN ('completed', 'failed', "
            "'cancelled') AND finished_at_ms < ?1 AND trimmed = 0)")
          .bind(1, older_than_ms)
          .run();
      query("UPDATE tasks SET config = '{}', result = NULL, trimmed = 1, error = substr(error, 1, ?2) "
            "WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at_ms < ?1 AND trimmed = 0")
          .bind(1, older_than_ms)
          .bind(2, k_kept_error_chars)
          .run();
      return static_cast<std::size_t>(sqlite3_changes(m_db));
    });
  }

  void export_tasks(const std::function<void(std::span<const Task>)>& sink, std::size_t page_size) override {
    if (page_size == 0) {
      throw InputError("export_tasks: page_size must be at least 1");
    }
    // Keyset pages (id > last id), each read under the lock and handed over after it
    // is released, so a slow sink never stalls the workers of this process. Each task
    // is consistent; the export as a whole is not one point in time, which the
    // import's compare-and-set guard makes harmless.
    std::string after;
    std::vector<Task> page;
    page.reserve(std::min<std::size_t>(page_size, 5000));
    for (;;) {
      page.clear();
      {
        std::lock_guard lock(m_mutex);
        auto q = query(fmt::format("SELECT {} FROM tasks WHERE id > ?1 ORDER BY id LIMIT ?2", k_task_columns));
        q.bind(1, after).bind(2, static_cast<std::int64_t>(std::min<std::size_t>(page_size, INT64_MAX)));
        while (q.step()) {
          page.push_back(read_task(q));
        }
      }
      if (page.empty()) {
        return;
      }
      after = page.back().id;
      sink(std::span<const Task>(page));
      if (page.size() < page_size) {
        return;
      }
    }
  }

  std::size_t import_tasks(std::span<const TaskImport> items) override {
    for (const auto& item : items) {
      validate_for_import(item.task);
    }
    std::size_t installed = write_tx([&] {
      std::size_t n = 0;
      Millis now = now_ms();
      for (const auto& item : items) {
        if (import_one_locked(item, now)) {
          ++n;
        }
      }
      return n;
    });
    if (installed > 0) {
      // Whatever was installed may be claimable now, or change when the next lease
      // expires or backoff ends: every waiter re-checks.
      touch_wake();
    }
    return installed;
  }

  void import_machine(const MachineInfo& machine) override {
    if (machine.machine_id.empty()) {
      throw InputError("import_machine: field 'machine_id' must not be empty");
    }
    write_tx([&] {
      query("INSERT INTO machines(machine_id, profile, queues, hardware, last_seen_ms, tasks_done, cpu_hours, "
            "gpu_hours, wall_hours) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(machine_id) DO UPDATE "
            "SET profile = excluded.profile, queues = excluded.queues, hardware = excluded.hardware, "
            "last_seen_ms = excluded.last_seen_ms, tasks_done = excluded.tasks_done, cpu_hours = excluded.cpu_hours, "
            "gpu_hours = excluded.gpu_hours, wall_hours = excluded.wall_hours")
          .bind(1, machine.machine_id)
          .bind(2, machine.profile)
          .bind(3, Json(machine.queues).dump())
          .bind(4, machine.hardware.dump())
          .bind(5, machine.last_seen_ms)
          .bind(6, machine.tasks_done)
          .bind(7, machine.cpu_hours)
          .bind(8, machine.gpu_hours)
          .bind(9, machine.wall_hours)
          .run();
    });
  }

  bool reroute(const std::string& id, const std::string& queue) override {
    if (!is_known_queue(queue)) {
      throw InputError(fmt::format("reroute: field 'queue' is '{}'; expected one of the six queues ({})", queue,
                                   queue_list()));
    }
    bool claimable = false;
    bool moved = write_tx([&] {
      std::int64_t qstate = 0;
      {
        auto q = query("SELECT qstate FROM tasks WHERE id = ?1 AND status = 'pending'");
        q.bind(1, id);
        if (!q.step()) {
          return false;
        }
        qstate = q.i64(0);
      }
      // priority and seq stay, so the task takes the same place in the new queue's
      // (queue, priority, seq) order as it had in the old one.
      query("UPDATE tasks SET queue = ?2 WHERE id = ?1").bind(1, id).bind(2, queue).run();
      claimable = qstate == k_ready || qstate == k_delayed;
      return true;
    });
    if (claimable) {
      touch_wake();
    }
    return moved;
  }

  void persist() override {
    std::lock_guard lock(m_mutex);
    int rc = sqlite3_wal_checkpoint_v2(m_db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (is_busy(rc)) {
      // Another process still reads an old snapshot, so the log cannot be restarted;
      // FULL still copies every committed frame into the database file and syncs it.
      rc = sqlite3_wal_checkpoint_v2(m_db, nullptr, SQLITE_CHECKPOINT_FULL, nullptr, nullptr);
    }
    if (rc != SQLITE_OK) {
      std::string why = sqlite3_errmsg(m_db);
      std::string msg = fmt::format("sqlite '{}': persist: WAL checkpoint did not complete: {}{}", m_path.string(),
                                    why, is_busy(rc) ? " (another process held the database past the busy timeout)"
                                                     : "");
      if (is_busy(rc) || (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL) {
        throw StoreUnavailable(msg);
      }
      throw InternalError(msg);
    }
  }

  void ping() override {
    std::lock_guard lock(m_mutex);
    auto q = query("SELECT count(*) FROM meta");
    q.step();
  }

  std::string describe() const override { return "sqlite:" + m_path.string(); }

private:
  Millis now_ms() const { return m_options.clock->now_ms(); }

  // ---- connection plumbing ----

  void exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = fmt::format("sqlite '{}': {} ({})", m_path.string(), err ? err : sqlite3_errstr(rc), sql);
      sqlite3_free(err);
      if (is_busy(rc) || (rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL ||
          (rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_READONLY) {
        throw StoreUnavailable(msg);
      }
      throw InternalError(msg);
    }
  }

  void exec_noexcept(const char* sql) noexcept { sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr); }

  std::string pragma_text(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(m_db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      throw StoreUnavailable(fmt::format("sqlite '{}': {}", m_path.string(), sqlite3_errmsg(m_db)));
    }
    std::string out;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const auto* p = sqlite3_column_text(stmt, 0);
      out = p ? reinterpret_cast<const char*>(p) : "";
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      throw StoreUnavailable(fmt::format("sqlite '{}': {} ({})", m_path.string(), sqlite3_errstr(rc), sql));
    }
    return out;
  }

  void init_schema() {
    std::lock_guard lock(m_mutex);
    exec("BEGIN IMMEDIATE");
    try {
      int version = std::stoi(pragma_text("PRAGMA user_version"));
      if (version > k_schema_version) {
        throw StoreUnavailable(fmt::format("sqlite '{}': schema version {} is newer than this build supports ({})",
                                           m_path.string(), version, k_schema_version));
      }
      exec(k_schema);
      exec(fmt::format("PRAGMA user_version = {}", k_schema_version).c_str());
      exec("COMMIT");
    } catch (...) {
      exec_noexcept("ROLLBACK");
      throw;
    }
  }

  void close_all() noexcept {
    for (auto& [sql, stmt] : m_statements) {
      sqlite3_finalize(stmt);
    }
    m_statements.clear();
    if (m_db) {
      sqlite3_close(m_db);
      m_db = nullptr;
    }
    if (m_wake_fd >= 0) {
      ::close(m_wake_fd);
      m_wake_fd = -1;
    }
  }

  // Prepared once per connection, reused (caller holds m_mutex).
  Query query(const std::string& sql) {
    auto it = m_statements.find(sql);
    if (it == m_statements.end()) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v3(m_db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
        throw InternalError(fmt::format("sqlite: cannot prepare '{}': {}", sql, sqlite3_errmsg(m_db)));
      }
      it = m_statements.emplace(sql, stmt).first;
    }
    return Query(m_db, it->second);
  }

  // Runs `f` in BEGIN IMMEDIATE: the write lock is taken up front, so two processes
  // never both read the same queue head and then race to update it.
  template <class F> auto write_tx(F&& f) -> decltype(f()) {
    std::lock_guard lock(m_mutex);
    std::lock_guard writer(*m_writer);
    exec("BEGIN IMMEDIATE");
    try {
      if constexpr (std::is_void_v<decltype(f())>) {
        f();
        exec("COMMIT");
      } else {
        auto r = f();
        exec("COMMIT");
        return r;
      }
    } catch (...) {
      exec_noexcept("ROLLBACK");
      throw;
    }
  }

  void touch_wake() {
    // A one-byte write at offset 0: an inotify IN_MODIFY for every watcher, and the file never grows.
    if (m_wake_fd >= 0) {
      [[maybe_unused]] auto n = ::pwrite(m_wake_fd, "w", 1, 0);
    }
    {
      std::lock_guard lock(m_wake_mutex);
      ++m_wake_generation;
    }
    m_wake_cv.notify_all();
  }

  // Milliseconds (store clock) until a backoff ends or a lease expires, if any.
  std::optional<Millis> next_due_in_ms() {
    std::lock_guard lock(m_mutex);
    std::optional<Millis> due;
    for (const char* sql : {"SELECT min(not_before_ms) FROM tasks WHERE qstate = 2",
                            "SELECT min(lease_expires_ms) FROM tasks WHERE status = 'running'"}) {
      auto q = query(sql);
      if (q.step() && !q.is_null(0)) {
        Millis at = q.i64(0);
        due = due ? std::min(*due, at) : at;
      }
    }
    if (due) {
      return *due - now_ms();
    }
    return std::nullopt;
  }

  // ---- state transitions (caller holds m_mutex inside a write transaction) ----

  // `moved` counts reclaimed leases and promoted retries (their queues need a wake-up).
  std::optional<Lease> claim_locked(const ClaimRequest& req, std::size_t& moved) {
    Millis now = now_ms();
    moved += reclaim_locked(now, k_reclaim_batch);
    moved += promote_due_locked(now);
    for (const auto& queue : req.queues) {
      std::string id;
      {
        auto q = query("SELECT id FROM tasks WHERE qstate = 1 AND queue = ?1 ORDER BY priority, seq LIMIT 1");
        q.bind(1, queue);
        if (!q.step()) {
          continue;
        }
        id = q.text(0);
      }
      std::string token = random_hex(32);
      Millis expires = now + req.lease_ms;
      query("UPDATE tasks SET status = 'running', qstate = 0, machine_id = ?2, attempts = attempts + 1, "
            "started_at_ms = ?3, lease_expires_ms = ?4, token = ?5, progress = 0, progress_message = '', "
            "blocked_reason = '', not_before_ms = 0 WHERE id = ?1")
          .bind(1, id)
          .bind(2, req.machine_id)
          .bind(3, now)
          .bind(4, expires)
          .bind(5, token)
          .run();
      return Lease{*load_locked(id), token, expires};
    }
    return std::nullopt;
  }

  // `wake` is set when a dependent entered its queue.
  LeaseResult complete_locked(const std::string& id, const std::string& token, const Json& result,
                              const Accounting& accounting, bool& wake) {
    LeaseResult lr = check_lease_locked(id, token);
    if (lr == LeaseResult::lease_lost) {
      query("UPDATE meta SET value = value + 1 WHERE key = 'rejected_completions'").run();
    }
    if (lr != LeaseResult::ok) {
      return lr;
    }
    Millis now = now_ms();
    std::string machine_id, task_type, key;
    {
      auto q = query("SELECT machine_id, task_type, cache_key FROM tasks WHERE id = ?1");
      q.bind(1, id);
      q.step();
      machine_id = q.text(0);
      task_type = q.text(1);
      key = q.text(2);
    }
    query("UPDATE tasks SET status = 'completed', qstate = 0, token = '', result = ?2, finished_at_ms = ?3, "
          "lease_expires_ms = 0, progress = 100, wall_seconds = ?4, cpu_seconds = ?5, gpu_seconds = ?6 "
          "WHERE id = ?1")
        .bind(1, id)
        .bind(2, result.dump())
        .bind(3, now)
        .bind(4, accounting.wall_seconds)
        .bind(5, accounting.cpu_seconds)
        .bind(6, accounting.gpu_seconds)
        .run();
    if (!machine_id.empty()) {
      query("INSERT INTO machines(machine_id, tasks_done, wall_hours, cpu_hours, gpu_hours) "
            "VALUES (?1, 1, ?2, ?3, ?4) ON CONFLICT(machine_id) DO UPDATE SET tasks_done = tasks_done + 1, "
            "wall_hours = wall_hours + excluded.wall_hours, cpu_hours = cpu_hours + excluded.cpu_hours, "
            "gpu_hours = gpu_hours + excluded.gpu_hours")
          .bind(1, machine_id)
          .bind(2, accounting.wall_seconds / 3600.0)
          .bind(3, accounting.cpu_seconds / 3600.0)
          .bind(4, accounting.gpu_seconds / 3600.0)
          .run();
    }
    if (m_options.enable_caching) {
      query("INSERT INTO cache(task_type, cache_key, task_id) VALUES (?1, ?2, ?3) "
            "ON CONFLICT(task_type, cache_key) DO UPDATE SET task_id = excluded.task_id")
          .bind(1, task_type)
          .bind(2, key)
          .bind(3, id)
          .run();
    }
    wake |= refresh_dependents_locked(id, now);
    return LeaseResult::ok;
  }

  void validate_for_add(const Task& t) const {
    if (auto why = id_problem(t.id); !why.empty()) {
      throw InputError(fmt::format("task field 'id': '{}' {} (normalise() the task before adding it)", t.id, why));
    }
    if (t.task_type.empty()) {
      throw InputError(fmt::format("task '{}': field 'task_type' must not be empty", t.id));
    }
    if (!is_known_queue(t.queue)) {
      throw InputError(fmt::format("task '{}': field 'queue' is '{}'; expected one of the six queues "
                                   "(normalise() the task before adding it)",
                                   t.id, t.queue));
    }
    if (t.max_attempts < 1) {
      throw InputError(fmt::format("task '{}': field 'max_attempts' must be at least 1, got {}", t.id,
                                   t.max_attempts));
    }
  }

  std::int64_t next_seq_locked() {
    auto q = query("UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value");
    if (!q.step()) {
      throw InternalError("sqlite: meta row 'seq' is missing");
    }
    return q.i64(0);
  }

  std::optional<Task> load_locked(const std::string& id) {
    auto q = query(fmt::format("SELECT {} FROM tasks WHERE id = ?1", k_task_columns));
    q.bind(1, id);
    if (!q.step()) {
      return std::nullopt;
    }
    return read_task(q);
  }

  std::optional<std::string> status_of_locked(const std::string& id) {
    auto q = query("SELECT status FROM tasks WHERE id = ?1");
    q.bind(1, id);
    if (!q.step()) {
      return std::nullopt;
    }
    return q.text(0);
  }

  std::vector<std::string> dependencies_locked(const std::string& id) {
    return query("SELECT dep_id FROM deps WHERE task_id = ?1").bind(1, id).texts();
  }

  std::vector<std::string> dependents_locked(const std::string& id) {
    return query("SELECT task_id FROM deps WHERE dep_id = ?1").bind(1, id).texts();
  }

  // The tasks waiting on `id` that are in `status` (read whole before the caller
  // changes any of them).
  std::vector<std::string> dependents_in_status_locked(const std::string& id, const char* status) {
    return query("SELECT t.id FROM deps d JOIN tasks t ON t.id = d.task_id WHERE d.dep_id = ?1 AND t.status = ?2")
        .bind(1, id)
        .bind(2, status)
        .texts();
  }

  struct DependencyState {
    std::int64_t unmet = 0;
    std::string blocked_reason; // non-empty when a dependency failed, was cancelled or is blocked
  };

  DependencyState dependency_state_locked(const std::string& id) {
    DependencyState ds;
    // LEFT JOIN: an imported task may name a dependency that is not here yet (it
    // arrives with a later sync); it counts as unmet, with no reason to block.
    auto q = query("SELECT d.dep_id, t.status, t.blocked_reason FROM deps d LEFT JOIN tasks t ON t.id = d.dep_id "
                   "WHERE d.task_id = ?1");
    q.bind(1, id);
    while (q.step()) {
      std::string st = q.text(1);
      if (st == "completed") {
        continue;
      }
      ++ds.unmet;
      if (ds.blocked_reason.empty()) {
        if (st == "failed") {
          ds.blocked_reason = fmt::format("dependency '{}' failed", q.text(0));
        } else if (st == "cancelled") {
          ds.blocked_reason = fmt::format("dependency '{}' was cancelled", q.text(0));
        } else if (st == "blocked") {
          std::string inner = q.text(2);
          ds.blocked_reason = inner.empty() ? fmt::format("dependency '{}' is blocked", q.text(0)) : inner;
        }
      }
    }
    return ds;
  }

  AddOutcome add_one(const Task& t, Millis now, bool& wake) {
    if (status_of_locked(t.id)) {
      return AddOutcome::already_exists;
    }
    for (const auto& d : t.depends_on) {
      if (!status_of_locked(d)) {
        throw InputError(fmt::format("task '{}': depends_on names unknown task '{}' (not in the store nor earlier "
                                     "in this batch); nothing was added",
                                     t.id, d));
      }
    }
    check_no_cycle_through_waiting_locked(t);
    std::string key = cache_key(t);
    std::optional<std::string> cached_result;
    if (m_options.enable_caching) {
      auto q = query("SELECT t.result FROM cache c JOIN tasks t ON t.id = c.task_id WHERE c.task_type = ?1 AND "
                     "c.cache_key = ?2 AND t.status = 'completed' AND t.trimmed = 0 AND t.result IS NOT NULL");
      q.bind(1, t.task_type).bind(2, key);
      if (q.step()) {
        cached_result = q.text(0);
      }
    }
    {
      auto q = query(
          "INSERT INTO tasks(id, name, task_type, queue, priority, config, depends_on, estimated_hours, requires_gpu, "
          "min_gpu_memory, min_cpu_cores, min_memory, expected_value, created_at, max_attempts, timeout_s, extra, "
          "cache_key, status, enqueued_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
          "?15, ?16, ?17, ?18, 'pending', ?19)");
      bind_definition(q, t)
          .bind(18, key)
          .bind(19, now);
      q.run();
    }
    for (const auto& d : t.depends_on) {
      query("INSERT OR IGNORE INTO deps(dep_id, task_id) VALUES (?1, ?2)").bind(1, d).bind(2, t.id).run();
    }
    if (cached_result) {
      query("UPDATE tasks SET status = 'completed', cached = 1, result = ?2, finished_at_ms = ?3, progress = 100 "
            "WHERE id = ?1")
          .bind(1, t.id)
          .bind(2, *cached_result)
          .bind(3, now)
          .run();
      // Imported tasks may already wait on this id.
      wake |= refresh_dependents_locked(t.id, now);
      return AddOutcome::cached;
    }
    if (enqueue_or_wait_locked(t.id, true)) {
      wake = true;
    } else {
      // Blocked from the start: imported tasks that already wait on this id follow it.
      std::optional<std::string> reason;
      {
        auto q = query("SELECT blocked_reason FROM tasks WHERE id = ?1 AND status = 'blocked'");
        q.bind(1, t.id);
        if (q.step()) {
          reason = q.text(0);
        }
      }
      if (reason) {
        block_dependents_locked(t.id, *reason);
      }
    }
    return AddOutcome::added;
  }

  // Folder sync installs tasks before their dependencies exist (docs/sync.md), so tasks
  // may already wait on an id being added. When t's dependencies lead back to one of
  // them, adding t would close a cycle that no batch check sees: refuse it, naming the
  // shortest such cycle. The walk skips completed tasks (they wait for nothing), as the
  // import check does (dependency_cycle_locked). One indexed lookup when nothing waits.
  void check_no_cycle_through_waiting_locked(const Task& t) {
    if (t.depends_on.empty()) {
      return;
    }
    {
      auto q = query("SELECT 1 FROM deps WHERE dep_id = ?1 LIMIT 1");
      q.bind(1, t.id);
      if (!q.step()) {
        return;
      }
    }
    std::unordered_map<std::string, std::string> reached_from; // task -> the task depending on it
    std::deque<std::string> frontier;
    for (const auto& d : t.depends_on) {
      if (reached_from.emplace(d, t.id).second) {
        frontier.push_back(d);
      }
    }
    while (!frontier.empty()) {
      std::string at = std::move(frontier.front());
      frontier.pop_front();
      if (auto status = status_of_locked(at); !status || *status == "completed") {
        continue;
      }
      for (auto& n : dependencies_locked(at)) {
        if (n == t.id) {
          std::vector<std::string> back = {at};
          while (back.back() != t.id) {
            back.push_back(reached_from.at(back.back()));
          }
          std::string cycle;
          for (auto it = back.rbegin(); it != back.rend(); ++it) {
            cycle += *it + " -> ";
          }
          throw_dependency_cycle(t.id, cycle + t.id);
        }
        if (reached_from.emplace(n, at).second) {
          frontier.push_back(std::move(n));
        }
      }
    }
  }

  // Puts a pending (or about to be pending) task where its dependencies say: waiting,
  // ready with a new sequence number, or (on add) blocked behind a failed dependency.
  // A requeued task waits instead, as the contract says. True when it became ready.
  bool enqueue_or_wait_locked(const std::string& id, bool block_on_failed_dependency = false) {
    DependencyState ds = dependency_state_locked(id);
    if (block_on_failed_dependency && !ds.blocked_reason.empty()) {
      query("UPDATE tasks SET status = 'blocked', qstate = 0, unmet = ?2, blocked_reason = ?3 WHERE id = ?1")
          .bind(1, id)
          .bind(2, ds.unmet)
          .bind(3, ds.blocked_reason)
          .run();
      return false;
    }
    if (ds.unmet > 0) {
      query("UPDATE tasks SET status = 'pending', qstate = 3, unmet = ?2 WHERE id = ?1")
          .bind(1, id)
          .bind(2, ds.unmet)
          .run();
      return false;
    }
    query("UPDATE tasks SET status = 'pending', qstate = 1, unmet = 0, seq = ?2 WHERE id = ?1")
        .bind(1, id)
        .bind(2, next_seq_locked())
        .run();
    return true;
  }

  // A pending task with every dependency completed: parked until not_before if that
  // is in the future, else queued with a new sequence number.
  void make_ready_locked(const std::string& id, Millis not_before, Millis now) {
    bool due = not_before <= now;
    query("UPDATE tasks SET status = 'pending', qstate = ?2, unmet = 0, seq = ?3, not_before_ms = ?4 WHERE id = ?1")
        .bind(1, id)
        .bind(2, static_cast<int>(due ? k_ready : k_delayed))
        .bind(3, next_seq_locked())
        .bind(4, due ? std::int64_t{0} : not_before)
        .run();
  }

  // `id` changed status: each dependent's unmet count is recomputed from the deps table
  // (not kept as a counter: imports bring ids in any order, and a dependency may even
  // go back from completed), and a pending dependent enters or leaves the queue to
  // match. True when any became ready or delayed.
  bool refresh_dependents_locked(const std::string& id, Millis now) {
    bool ready = false;
    for (const auto& dependent : dependents_locked(id)) {
      std::string status;
      std::int64_t qstate = 0;
      Millis not_before = 0;
      {
        auto q = query("SELECT status, qstate, not_before_ms FROM tasks WHERE id = ?1");
        q.bind(1, dependent);
        if (!q.step()) {
          continue;
        }
        status = q.text(0);
        qstate = q.i64(1);
        not_before = q.i64(2);
      }
      std::int64_t unmet = dependency_state_locked(dependent).unmet;
      if (status == "pending" && unmet == 0 && qstate != k_ready && qstate != k_delayed) {
        make_ready_locked(dependent, not_before, now);
        ready = true;
      } else if (status == "pending" && unmet > 0) {
        query("UPDATE tasks SET qstate = 3, unmet = ?2 WHERE id = ?1").bind(1, dependent).bind(2, unmet).run();
      } else {
        query("UPDATE tasks SET unmet = ?2 WHERE id = ?1").bind(1, dependent).bind(2, unmet).run();
      }
    }
    return ready;
  }

  void validate_for_import(const Task& t) const {
    if (auto why = id_problem(t.id); !why.empty()) {
      throw InputError(fmt::format("import_tasks: task field 'id': '{}' {}", t.id, why));
    }
    if (t.task_type.empty()) {
      throw InputError(fmt::format("import_tasks: task '{}': field 'task_type' must not be empty", t.id));
    }
    if (!is_known_queue(t.queue)) {
      throw InputError(fmt::format("import_tasks: task '{}': field 'queue' is '{}'; expected one of the six "
                                   "queues ({})",
                                   t.id, t.queue, queue_list()));
    }
    if (t.max_attempts < 1) {
      throw InputError(fmt::format("import_tasks: task '{}': field 'max_attempts' must be at least 1, got {}", t.id,
                                   t.max_attempts));
    }
  }

  struct DependencyCycle {
    std::string reason;
    std::vector<std::string> members; // empty: blocked behind a cycle, not on one
  };

  // When `id` with dependencies `deps` lies on a dependency cycle among the tasks here
  // that are not completed (a completed task waits for nothing): the cycle's tasks (its
  // strongly connected component) and the reason naming them, sorted bytewise, so every
  // machine that holds the same tasks writes the same text whatever order they came in
  // (import-24.lua builds it alike). Else, when a dependency is blocked by a cycle, that
  // reason (the bytewise least), as the task would have got had it arrived first.
  std::optional<DependencyCycle> dependency_cycle_locked(const std::string& id, const std::vector<std::string>& deps) {
    constexpr std::size_t k_names_shown = 8;
    // Forward: everything `id` waits on, transitively.
    std::unordered_set<std::string> forward;
    std::vector<std::string> stack(deps.begin(), deps.end());
    bool closes = false;
    while (!stack.empty()) {
      std::string x = std::move(stack.back());
      stack.pop_back();
      if (x == id) {
        closes = true;
        continue;
      }
      if (forward.contains(x)) {
        continue;
      }
      if (auto status = status_of_locked(x); !status || *status == "completed") {
        continue;
      }
      forward.insert(x);
      for (auto& d : dependencies_locked(x)) {
        stack.push_back(std::move(d));
      }
    }
    if (!closes) {
      std::optional<DependencyCycle> behind;
      for (const auto& d : deps) {
        auto q = query("SELECT blocked_reason FROM tasks WHERE id = ?1 AND status = 'blocked'");
        q.bind(1, d);
        if (q.step() && q.text(0).starts_with(k_cycle_reason) && (!behind || q.text(0) < behind->reason)) {
          behind = DependencyCycle{q.text(0), {}};
        }
      }
      return behind;
    }
    // Backward among those: what also waits on `id` is on a cycle with it.
    std::vector<std::string> members{id};
    std::unordered_set<std::string> in_members{id};
    stack = {id};
    while (!stack.empty()) {
      std::string x = std::move(stack.back());
      stack.pop_back();
      auto q = query("SELECT task_id FROM deps WHERE dep_id = ?1");
      q.bind(1, x);
      while (q.step()) {
        std::string d = q.text(0);
        if (forward.contains(d) && in_members.insert(d).second) {
          members.push_back(d);
          stack.push_back(std::move(d));
        }
      }
    }
    std::sort(members.begin(), members.end()); // bytewise, as the Lua side sorts
    std::string reason = k_cycle_reason;
    for (std::size_t i = 0; i < members.size() && i < k_names_shown; ++i) {
      reason += (i > 0 ? ", " : "") + members[i];
    }
    if (members.size() > k_names_shown) {
      reason += fmt::format(" and {} more", members.size() - k_names_shown);
    }
    return DependencyCycle{std::move(reason), std::move(members)};
  }

  // The cycle's other tasks and everything behind them (transitively) that is pending or
  // blocked by a smaller cycle take `reason`: a cycle that grows as tasks arrive ends
  // with one reason throughout, as if its tasks had come in one call.
  void block_cycle_locked(const DependencyCycle& cycle) {
    std::unordered_set<std::string> seen(cycle.members.begin(), cycle.members.end());
    std::vector<std::string> stack(cycle.members.begin(), cycle.members.end());
    auto block = [&](const std::string& x) {
      query("UPDATE tasks SET status = 'blocked', qstate = 0, blocked_reason = ?2 WHERE id = ?1 AND "
            "(status = 'pending' OR (status = 'blocked' AND substr(blocked_reason, 1, ?3) = ?4))")
          .bind(1, x)
          .bind(2, cycle.reason)
          .bind(3, static_cast<std::int64_t>(std::string_view(k_cycle_reason).size()))
          .bind(4, std::string(k_cycle_reason))
          .run();
    };
    for (const auto& m : cycle.members) {
      block(m);
    }
    while (!stack.empty()) {
      std::string x = std::move(stack.back());
      stack.pop_back();
      auto dependents =
          query("SELECT t.id FROM deps d JOIN tasks t ON t.id = d.task_id WHERE d.dep_id = ?1 AND "
                "(t.status = 'pending' OR (t.status = 'blocked' AND substr(t.blocked_reason, 1, ?2) = ?3))")
              .bind(1, x)
              .bind(2, static_cast<std::int64_t>(std::string_view(k_cycle_reason).size()))
              .bind(3, std::string(k_cycle_reason))
              .texts();
      for (auto& d : dependents) {
        if (seen.insert(d).second) {
          block(d);
          stack.push_back(std::move(d));
        }
      }
    }
  }

  // One TaskImport: the guard, then the whole row and its deps rows, then the derived
  // state its status implies (docs/store-semantics.md, "Sync operations").
  bool import_one_locked(const TaskImport& item, Millis now) {
    std::optional<std::string> old_status;
    {
      auto q = query("SELECT status, attempts FROM tasks WHERE id = ?1");
      q.bind(1, item.task.id);
      if (q.step()) {
        old_status = q.text(0);
        if (!item.expected_status || *old_status != to_string(*item.expected_status) ||
            q.i64(1) != item.expected_attempts) {
          return false;
        }
      } else if (item.expected_status) {
        return false;
      }
    }
    // Merged definitions can close a dependency cycle that add() could never see
    // (docs/sync.md, "Dependency cycles"): such a pending task is installed blocked.
    std::optional<Task> cycle_blocked;
    std::optional<DependencyCycle> cycle;
    if (item.task.status == TaskStatus::pending) {
      cycle = dependency_cycle_locked(item.task.id, item.task.depends_on);
      if (cycle) {
        cycle_blocked = item.task;
        cycle_blocked->status = TaskStatus::blocked;
        cycle_blocked->blocked_reason = cycle->reason;
      }
    }
    const Task& t = cycle_blocked ? *cycle_blocked : item.task;

    // An upsert, not INSERT OR REPLACE: the rowid (list() order) of a known task stays.
    std::string token = t.status == TaskStatus::running ? random_hex(32) : std::string();
    {
      auto q = query(
          "INSERT INTO tasks(id, name, task_type, queue, priority, config, depends_on, estimated_hours, requires_gpu, "
          "min_gpu_memory, min_cpu_cores, min_memory, expected_value, created_at, max_attempts, timeout_s, extra, "
          "cache_key, status, qstate, seq, unmet, token, attempts, machine_id, progress, progress_message, error, "
          "result, cached, blocked_reason, enqueued_at_ms, started_at_ms, finished_at_ms, lease_expires_ms, "
          "not_before_ms, trimmed, wall_seconds, cpu_seconds, gpu_seconds) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
          "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, 0, 0, 0, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, "
          "?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
          "task_type = excluded.task_type, queue = excluded.queue, priority = excluded.priority, "
          "config = excluded.config, depends_on = excluded.depends_on, estimated_hours = excluded.estimated_hours, "
          "requires_gpu = excluded.requires_gpu, min_gpu_memory = excluded.min_gpu_memory, "
          "min_cpu_cores = excluded.min_cpu_cores, min_memory = excluded.min_memory, "
          "expected_value = excluded.expected_value, created_at = excluded.created_at, "
          "max_attempts = excluded.max_attempts, timeout_s = excluded.timeout_s, extra = excluded.extra, "
          "cache_key = excluded.cache_key, status = excluded.status, qstate = 0, seq = 0, unmet = 0, "
          "token = excluded.token, attempts = excluded.attempts, machine_id = excluded.machine_id, "
          "progress = excluded.progress, progress_message = excluded.progress_message, error = excluded.error, "
          "result = excluded.result, cached = excluded.cached, blocked_reason = excluded.blocked_reason, "
          "enqueued_at_ms = excluded.enqueued_at_ms, started_at_ms = excluded.started_at_ms, "
          "finished_at_ms = excluded.finished_at_ms, lease_expires_ms = excluded.lease_expires_ms, "
          "not_before_ms = excluded.not_before_ms, trimmed = excluded.trimmed, wall_seconds = excluded.wall_seconds, "
          "cpu_seconds = excluded.cpu_seconds, gpu_seconds = excluded.gpu_seconds");
      bind_definition(q, t)
          .bind(18, cache_key(t))
          .bind(19, to_string(t.status))
          .bind(20, token)
          .bind(21, t.attempts)
          .bind(22, t.machine_id)
          .bind(23, t.progress)
          .bind(24, t.progress_message)
          .bind(25, t.error);
      if (t.result.is_null()) {
        q.bind_null(26);
      } else {
        q.bind(26, t.result.dump());
      }
      q.bind(27, t.cached)
          .bind(28, t.blocked_reason)
          .bind(29, t.enqueued_at_ms)
          .bind(30, t.started_at_ms)
          .bind(31, t.finished_at_ms)
          .bind(32, t.lease_expires_ms)
          .bind(33, t.not_before_ms)
          .bind(34, t.trimmed)
          .bind(35, t.wall_seconds)
          .bind(36, t.cpu_seconds)
          .bind(37, t.gpu_seconds);
      q.run();
    }
    query("DELETE FROM deps WHERE task_id = ?1").bind(1, t.id).run();
    for (const auto& d : t.depends_on) {
      query("INSERT OR IGNORE INTO deps(dep_id, task_id) VALUES (?1, ?2)").bind(1, d).bind(2, t.id).run();
    }

    switch (t.status) {
    case TaskStatus::pending: {
      // Dependencies first (missing ids wait for a later sync), then the backoff.
      std::int64_t unmet = dependency_state_locked(t.id).unmet;
      if (unmet > 0) {
        query("UPDATE tasks SET qstate = 3, unmet = ?2 WHERE id = ?1").bind(1, t.id).bind(2, unmet).run();
      } else {
        make_ready_locked(t.id, t.not_before_ms, now);
      }
      break;
    }
    case TaskStatus::completed:
      if (m_options.enable_caching && !t.cached && !t.trimmed && !t.result.is_null()) {
        // A cache entry whose source is still a usable completed task stays: the
        // first result wins, as on the machine that computed it.
        query("INSERT INTO cache(task_type, cache_key, task_id) VALUES (?1, ?2, ?3) "
              "ON CONFLICT(task_type, cache_key) DO UPDATE SET task_id = excluded.task_id WHERE NOT EXISTS "
              "(SELECT 1 FROM tasks s WHERE s.id = cache.task_id AND s.status = 'completed' AND s.trimmed = 0 "
              "AND s.result IS NOT NULL)")
            .bind(1, t.task_type)
            .bind(2, cache_key(t))
            .bind(3, t.id)
            .run();
      }
      break;
    case TaskStatus::running: // the lease index is the status column; only reclaim ends it
    case TaskStatus::failed:
    case TaskStatus::cancelled:
    case TaskStatus::blocked:
      break;
    }

    refresh_dependents_locked(t.id, now);
    if (t.status == TaskStatus::failed) {
      block_dependents_locked(t.id, fmt::format("dependency '{}' failed", t.id));
    } else if (t.status == TaskStatus::cancelled) {
      block_dependents_locked(t.id, fmt::format("dependency '{}' was cancelled", t.id));
    } else if (cycle) {
      block_cycle_locked(DependencyCycle{cycle->reason, cycle->members.empty() ? std::vector<std::string>{t.id}
                                                                               : cycle->members});
    } else if (t.status == TaskStatus::blocked) {
      block_dependents_locked(t.id, t.blocked_reason.empty() ? fmt::format("dependency '{}' is blocked", t.id)
                                                             : t.blocked_reason);
    } else if (old_status && (*old_status == "failed" || *old_status == "cancelled" || *old_status == "blocked")) {
      unblock_dependents_locked(t.id);
    }
    return true;
  }

  void requeue_delayed_locked(const std::string& id, Millis not_before, Millis now) {
    bool due = not_before <= now;
    query("UPDATE tasks SET status = 'pending', qstate = ?2, seq = ?3, not_before_ms = ?4, token = '', "
          "lease_expires_ms = 0 WHERE id = ?1")
        .bind(1, id)
        .bind(2, static_cast<int>(due ? k_ready : k_delayed))
        .bind(3, next_seq_locked())
        .bind(4, due ? std::int64_t{0} : not_before)
        .run();
  }

  void finish_failed_locked(const std::string& id, const std::string& error, Millis now) {
    query("UPDATE tasks SET status = 'failed', qstate = 0, token = '', lease_expires_ms = 0, error = ?2, "
          "finished_at_ms = ?3 WHERE id = ?1")
        .bind(1, id)
        .bind(2, error)
        .bind(3, now)
        .run();
    block_dependents_locked(id, fmt::format("dependency '{}' failed", id));
  }

  Millis backoff_ms(int attempts) const {
    double base = static_cast<double>(m_options.retry_base_ms) * std::pow(2.0, std::max(attempts - 1, 0));
    double capped = std::min(static_cast<double>(m_options.retry_max_ms), base);
    return static_cast<Millis>(capped * jitter_factor());
  }

  // Every task that (transitively) waits on `id` becomes blocked, naming the root.
  void block_dependents_locked(const std::string& id, const std::string& reason) {
    std::vector<std::string> frontier{id};
    while (!frontier.empty()) {
      std::string current = std::move(frontier.back());
      frontier.pop_back();
      for (auto& dependent : dependents_in_status_locked(current, "pending")) {
        query("UPDATE tasks SET status = 'blocked', qstate = 0, blocked_reason = ?2 WHERE id = ?1")
            .bind(1, dependent)
            .bind(2, reason)
            .run();
        frontier.push_back(std::move(dependent));
      }
    }
  }

  // After `id` was requeued: its blocked dependents (transitively) wait again, unless
  // another of their dependencies still failed. True when any became ready.
  bool unblock_dependents_locked(const std::string& id) {
    bool ready = false;
    std::vector<std::string> frontier{id};
    while (!frontier.empty()) {
      std::string current = std::move(frontier.back());
      frontier.pop_back();
      for (auto& dependent : dependents_in_status_locked(current, "blocked")) {
        if (!dependency_state_locked(dependent).blocked_reason.empty()) {
          continue;
        }
        query("UPDATE tasks SET blocked_reason = '' WHERE id = ?1").bind(1, dependent).run();
        ready |= enqueue_or_wait_locked(dependent);
        frontier.push_back(std::move(dependent));
      }
    }
    return ready;
  }

  LeaseResult check_lease_locked(const std::string& id, const std::string& token) {
    auto q = query("SELECT status, token FROM tasks WHERE id = ?1");
    q.bind(1, id);
    if (!q.step()) {
      return LeaseResult::not_found;
    }
    std::string st = q.text(0);
    if (st == "cancelled") {
      return LeaseResult::cancelled;
    }
    if (st != "running" || token.empty() || q.text(1) != token) {
      return LeaseResult::lease_lost;
    }
    return LeaseResult::ok;
  }

  std::size_t reclaim_locked(Millis now, std::int64_t limit) {
    struct Expired {
      std::string id;
      std::string machine_id;
      int attempts;
      int max_attempts;
    };
    std::vector<Expired> expired;
    {
      auto q = query("SELECT id, machine_id, attempts, max_attempts FROM tasks WHERE status = 'running' AND "
                     "lease_expires_ms <= ?1 ORDER BY lease_expires_ms LIMIT ?2");
      q.bind(1, now).bind(2, limit);
      while (q.step()) {
        expired.push_back({q.text(0), q.text(1), static_cast<int>(q.i64(2)), static_cast<int>(q.i64(3))});
      }
    }
    for (const auto& e : expired) {
      if (e.attempts < e.max_attempts) {
        requeue_delayed_locked(e.id, now, now);
        query("UPDATE tasks SET error = ?2 WHERE id = ?1")
            .bind(1, e.id)
            .bind(2, fmt::format("lease expired on machine '{}' during attempt {}", e.machine_id, e.attempts))
            .run();
      } else {
        finish_failed_locked(
            e.id, fmt::format("lease expired on machine '{}' after {} of {} attempts", e.machine_id, e.attempts,
                              e.max_attempts),
            now);
      }
    }
    return expired.size();
  }

  std::size_t promote_due_locked(Millis now) {
    query("UPDATE tasks SET qstate = 1, not_before_ms = 0 WHERE id IN (SELECT id FROM tasks WHERE qstate = 2 AND "
          "not_before_ms <= ?1 ORDER BY not_before_ms LIMIT ?2)")
        .bind(1, now)
        .bind(2, k_promote_batch)
        .run();
    return static_cast<std::size_t>(sqlite3_changes(m_db));
  }

  std::vector<MachineInfo> machines_locked() {
    std::vector<MachineInfo> out;
    Millis now = now_ms();
    auto q = query("SELECT machine_id, profile, queues, hardware, last_seen_ms, tasks_done, cpu_hours, gpu_hours, "
                   "wall_hours FROM machines ORDER BY machine_id");
    while (q.step()) {
      MachineInfo m;
      m.machine_id = q.text(0);
      m.profile = q.text(1);
      Json queues = parse_json_column(q.text(2), "machines.queues", m.machine_id);
      for (const auto& queue : queues) {
        m.queues.push_back(queue.get<std::string>());
      }
      m.hardware = parse_json_column(q.text(3), "machines.hardware", m.machine_id);
      m.last_seen_ms = q.i64(4);
      m.live = m.last_seen_ms > 0 && now - m.last_seen_ms <= m_options.machine_ttl_ms;
      m.tasks_done = q.i64(5);
      m.cpu_hours = q.f64(6);
      m.gpu_hours = q.f64(7);
      m.wall_hours = q.f64(8);
      out.push_back(std::move(m));
    }
    return out;
  }

  fs::path m_path;
  fs::path m_wake_path;
  StoreOptions m_options;
  sqlite3* m_db = nullptr;
  int m_wake_fd = -1;
  std::mutex m_mutex; // one connection; SQLite handles other processes, this handles other threads
  std::unordered_map<std::string, sqlite3_stmt*> m_statements;
  // Fallback wake-up within this process where inotify is unavailable.
  std::mutex m_wake_mutex;
  std::condition_variable m_wake_cv;
  std::uint64_t m_wake_generation = 0;
  std::shared_ptr<std::mutex> m_writer = writer_lock_for(m_path); // after m_path: members start in order
  std::chrono::steady_clock::time_point m_busy_first_try; // busy_handler's (m_mutex held while SQLite calls it)
  std::mutex m_watch_mutex;            // held by the thread waiting on m_watch
  std::optional<WakeWatch> m_watch;    // made on the first idle claim_wait, kept
};

} // namespace

std::unique_ptr<TaskStore> make_sqlite_store(const std::filesystem::path& db_path, StoreOptions options) {
  return std::make_unique<SqliteStore>(db_path, std::move(options));
}

} // namespace nfl
