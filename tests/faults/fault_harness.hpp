#pragma once
// The fault-injection suite's harness (docs/reliability.md). A scenario builds a Rig
// (a scratch DATA_DIR and STATE_DIR, a backend), submits tasks through the real
// `nfl-compute submit`, runs real `nfl-compute worker --burst` processes, injects its
// fault, waits for the workers to finish, and ends with audit(): every submitted
// task completed exactly once with its one result record, or in a terminal state
// that explains itself. report() prints the scenario's row at once and adds it to the
// summary table printed (and written to NFL_FAULTS_SUMMARY) when the binary ends.
//
// Adding a scenario: one TEST in any tests/faults/*.cpp that ends with
//   auto row = audit(rig, ids); report(row); expect_clean(row);
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/task_store.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace nfl::test::faults {

enum class Backend { redis, sqlite };

// What each submitted task does: `noop_share` of them are noop, the rest sleep for a
// uniform random time in [0, sleep_max_s]. Ids are <prefix>_<n>.
struct TaskMix {
  double noop_share = 0.5;
  double sleep_max_s = 0.05;
  int max_attempts = 20; // faults cost attempts; the audit wants completions, not exhaustion
};

class Rig {
public:
  // `redis_port` is where the test itself reaches Redis (submit, audit); workers use
  // worker_redis_port() (a proxy's port in network scenarios).
  Rig(std::string scenario, Backend backend, int redis_port = 0);
  ~Rig();

  const std::string& scenario() const { return m_scenario; }
  Backend backend() const { return m_backend; }
  std::string backend_name() const { return m_backend == Backend::redis ? "redis" : "sqlite"; }
  const std::filesystem::path& root() const { return m_dir.path(); }
  const std::filesystem::path& data_dir() const { return m_data_dir; }
  const std::filesystem::path& state_dir() const { return m_state_dir; }
  void set_worker_redis_port(int port) { m_worker_port = port; }
  int lease_seconds() const { return m_lease_s; }

  // The environment `nfl-compute` gets (QUEUE_BACKEND, REDIS_*, DATA_DIR, STATE_DIR,
  // MACHINE_ID, LEASE_SECONDS, ...). `for_worker` selects the workers' Redis port.
  std::map<std::string, std::string> env(const std::string& machine_id, bool for_worker) const;

  // Writes `count` tasks to a JSON Lines file (ids <prefix>_<n>).
  std::filesystem::path write_tasks(const std::string& prefix, int count, const TaskMix& mix);
  // `nfl-compute submit --file`; returns the exit code, output in `output`.
  int submit_file(const std::filesystem::path& file, std::string& output) const;
  // write_tasks + submit_file, asserting success; returns the ids.
  std::vector<std::string> submit(const std::string& prefix, int count, const TaskMix& mix);

  // `nfl-compute worker --burst --queues cpu:sequential --concurrency N`, output in
  // log_path(machine_id) (appended across restarts).
  Process spawn_worker(const std::string& machine_id, int concurrency = 4) const;
  std::filesystem::path log_path(const std::string& machine_id) const { return root() / ("worker-" + machine_id + ".log"); }
  // Every worker log's text, for the messages a scenario expects.
  std::string all_logs() const;

  // A direct store connection (the test's own view: watching progress, auditing).
  std::unique_ptr<TaskStore> store() const;

  std::mt19937_64& rng() { return m_rng; }
  std::uint64_t seed() const { return m_seed; }
  double elapsed_s() const;

private:
  std::string m_scenario;
  Backend m_backend;
  int m_redis_port = 0;
  int m_worker_port = 0;
  int m_lease_s = 5; // LEASE_SECONDS' minimum: a killed worker's tasks come back after 5 s
  TempDir m_dir;
  std::filesystem::path m_data_dir;
  std::filesystem::path m_state_dir;
  std::uint64_t m_seed = 0;
  std::mt19937_64 m_rng;
  std::chrono::steady_clock::time_point m_start;
};

// One line of the summary table.
struct Row {
  std::string scenario;
  std::string backend;
  std::int64_t tasks = 0;
  std::int64_t completed = 0;
  std::int64_t terminal_explained = 0; // failed with an error / cancelled: a state that says why
  std::int64_t retried = 0;            // completed on a later attempt: the fault hit them
  std::int64_t suppressed = 0;         // completions the store refused by fencing (duplicates suppressed)
  std::int64_t duplicate_records = 0;  // tasks with more than one result record (must be 0)
  std::int64_t lost = 0;               // neither completed-with-one-record nor explained (must be 0)
  double seconds = 0.0;
  std::string note;                    // faults injected, or why the scenario was skipped
  bool skipped = false;
  std::vector<std::string> problems;   // the first few lost/duplicate tasks, for the failure message
};

// Audits the store and DATA_DIR/results against `ids`.
Row audit(const Rig& rig, const std::vector<std::string>& ids);
// The same against another machine's store and its copy of DATA_DIR (folder sync).
Row audit(const Rig& rig, const std::vector<std::string>& ids, TaskStore& store,
          const std::filesystem::path& data_dir);
// Prints the row now and keeps it for the summary table.
void report(const Row& row);
// A skipped scenario still gets its row, with the reason.
void report_skipped(const std::string& scenario, const std::string& backend, const std::string& why);
// lost == 0, no duplicate records, everything submitted accounted for.
void expect_clean(const Row& row);

// Checks `pred` every 20 ms until it holds or `limit` passes: for states of other
// processes that no event announces (a count in the store, a line in a log).
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit);
// Completed tasks in the store (0 while it does not answer).
std::int64_t completed_count(TaskStore& store);
// Waits for every worker to exit; returns their exit codes.
std::vector<int> wait_all(std::vector<Process>& workers, std::chrono::seconds limit);
// Completion counts at which a scenario injects its `count` faults: one random mark in
// each of `count` equal slices of [lo_share, hi_share] x total, ascending. Faults tied
// to progress rather than to the clock happen as often, and mid-drain, on a fast
// machine as on a slow one (a clock schedule let a fast CI machine drain first).
std::vector<std::int64_t> progress_marks(std::mt19937_64& rng, std::int64_t total, int count, double lo_share,
                                         double hi_share);
// Waits (up to `limit`) until `store` has at least `mark` completed tasks.
bool wait_for_completed(TaskStore& store, std::int64_t mark, std::chrono::milliseconds limit);
// A uniformly random pause in [lo, hi]: the fault schedule, not synchronisation.
void random_pause(std::mt19937_64& rng, std::chrono::milliseconds lo, std::chrono::milliseconds hi);
int count_occurrences(const std::string& text, const std::string& needle);

} // namespace nfl::test::faults
