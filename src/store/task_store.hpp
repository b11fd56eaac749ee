#pragma once
// The contract every backend keeps (SQLite, Redis). One conformance suite
// (tests/store/conformance_test.cpp) runs against each; backend-internal tests live
// in their own files. Times are milliseconds from the store's Clock.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/task.hpp"
#include "util/clock.hpp"

namespace nfl {

struct MachineInfo {
  std::string machine_id;
  std::string profile;            // gpu_high | gpu_standard | cpu_arm_high | cpu_x86
  std::vector<std::string> queues; // served, in claim order
  Json hardware = Json::object();  // cores, memory, gpus, os ... as detected
  Millis last_seen_ms = 0;
  bool live = false;              // last_seen within the machine TTL
  // Lifetime odometer, summed over completed attempts.
  std::int64_t tasks_done = 0;
  double cpu_hours = 0.0;
  double gpu_hours = 0.0;
  double wall_hours = 0.0;
};

struct ClaimRequest {
  std::vector<std::string> queues; // in order of preference
  std::string machine_id;
  Millis lease_ms = 30'000;
};

// What a claim hands the worker. `token` fences every later call for this attempt.
struct Lease {
  Task task; // full task, status running, attempts incremented
  std::string token;
  Millis expires_ms = 0;
};

enum class AddOutcome {
  added,          // new task, pending (or waiting for dependencies)
  already_exists, // same id present: nothing changed
  cached,         // completed at once from a cached identical task's result
};

// Result of a call that must hold the current lease.
enum class LeaseResult {
  ok,
  lease_lost, // token no longer current (expired and reclaimed, or a duplicate): rejected and counted
  cancelled,  // the task was cancelled while running: stop working on it
  not_found,
};
std::string_view to_string(LeaseResult r);

struct Accounting {
  double wall_seconds = 0.0;
  double cpu_seconds = 0.0;
  double gpu_seconds = 0.0;
};

// What complete_and_claim hands back: the completion's outcome and the next lease.
// The checks both backends make before a claim: every queue one of the six, a positive
// lease. InputError naming what was wrong.
void check_queue_names(const std::vector<std::string>& queues);
void check_claim_request(const ClaimRequest& req);

struct CompleteAndClaim {
  LeaseResult completed = LeaseResult::ok;
  std::optional<Lease> next;
};

struct TaskFilter {
  std::optional<TaskStatus> status;
  std::optional<std::string> task_type;
  std::optional<std::string> queue;
  std::size_t limit = 1000;
  std::size_t offset = 0;
};

struct QueueCounts {
  std::int64_t pending = 0; // claimable now or after a backoff; excludes tasks waiting on dependencies
  std::int64_t running = 0;
};

struct StoreStatus {
  std::map<std::string, QueueCounts> queues;     // all six, always present
  std::map<std::string, std::int64_t> counts;    // all six statuses, always present
  std::vector<Task> running;                     // with machine, attempts, progress
  std::vector<MachineInfo> machines;
  std::int64_t rejected_completions = 0;         // late or duplicate completions refused
  std::int64_t completed_last_5m = 0;
  std::int64_t completed_last_1h = 0;
};

// One task state to install on behalf of folder sync (src/sync), with a compare-and-set
// guard so a sync never overwrites what a local worker did since the export it read.
struct TaskImport {
  // The state to install: definition and status fields as merged. lease_expires_ms
  // (running) and not_before_ms (pending) are what this machine wants locally.
  Task task;
  // Install only if the stored task still has this status and attempt count;
  // nullopt: only if the id is absent from the store.
  std::optional<TaskStatus> expected_status;
  int expected_attempts = 0;
};

struct StoreOptions {
  std::shared_ptr<Clock> clock = system_clock();
  bool enable_caching = true;
  Millis machine_ttl_ms = 60'000;   // a machine not seen for this long is stale
  Millis retry_base_ms = 1'000;     // backoff: base * 2^(attempt-1), with jitter, capped
  Millis retry_max_ms = 300'000;
  Millis default_timeout_ms = 6LL * 3600 * 1000; // TASK_TIMEOUT_HOURS
};

class TaskStore {
public:
  virtual ~TaskStore() = default;

  // Adds tasks in one atomic round trip. Tasks must be normalise()d. Rejects the whole
  // batch with InputError if a dependency id is neither in the store nor in the batch.
  virtual std::vector<AddOutcome> add(std::span<const Task> tasks) = 0;

  // Atomically claims the best claimable task from req.queues (queue order, then
  // priority, then FIFO); first reclaims expired leases and promotes due retries.
  virtual std::optional<Lease> claim(const ClaimRequest& req) = 0;

  // Blocks until a task may be claimable in req.queues or `timeout` passes, woken by
  // the backend's event (Redis list, SQLite file notification); then tries claim().
  virtual std::optional<Lease> claim_wait(const ClaimRequest& req, std::chrono::milliseconds timeout) = 0;

  // Extends the lease and records progress (0-100) when given.
  virtual LeaseResult renew(const std::string& id, const std::string& token, Millis lease_ms,
                            std::optional<double> progress = std::nullopt,
                            std::optional<std::string> message = std::nullopt) = 0;

  // Records the result once. Only the current token is accepted; else lease_lost
  // and the rejected completion is counted.
  virtual LeaseResult complete(const std::string& id, const std::string& token, const Json& result,
                               const Accounting& accounting) = 0;

  // complete(), then claim(next), in one round trip where the backend can (one script
  // on Redis, one transaction on SQLite): a worker slot hands in a result and takes its
  // next task at once. The claim happens whatever the completion's outcome.
  virtual CompleteAndClaim complete_and_claim(const std::string& id, const std::string& token, const Json& result,
                                              const Accounting& accounting, const ClaimRequest& next) {
    CompleteAndClaim out;
    out.completed = complete(id, token, result, accounting);
    out.next = claim(next);
    return out;
  }

  // Records a failed attempt: retried with backoff while attempts < max_attempts and
  // `retryable`, else terminal failed (dependents become blocked).
  virtual LeaseResult fail(const std::string& id, const std::string& token, const std::string& error,
                           bool retryable = true) = 0;

  // Hands an unfinished task back to its queue without counting the attempt
  // (graceful shutdown); `delay_ms` postpones it (e.g. waiting for an input).
  virtual LeaseResult release(const std::string& id, const std::string& token, Millis delay_ms = 0,
                              const std::string& reason = {}) = 0;

  // failed | cancelled | blocked -> pending, attempts reset. False if not in those states.
  virtual bool requeue(const std::string& id) = 0;
  // pending | blocked -> cancelled; running -> cancelled and the holder's lease ends.
  virtual bool cancel(const std::string& id) = 0;

  virtual std::optional<Task> get(const std::string& id) = 0;
  virtual std::vector<Task> list(const TaskFilter& filter) = 0;

  // Moves running tasks whose lease expired back to pending (or to failed when out of
  // attempts). claim() does this too; exposed for monitors. Returns how many.
  virtual std::size_t reclaim_expired() = 0;

  virtual void heartbeat(const MachineInfo& machine) = 0;
  virtual std::vector<MachineInfo> machines() = 0;

  virtual StoreStatus status() = 0;

  // Drops config and result of tasks finished before `older_than_ms` (keeps a
  // summary). Never touches pending or running tasks. Returns how many trimmed.
  virtual std::size_t trim_finished(Millis older_than_ms) = 0;

  // ---- folder sync (src/sync) and GPU fallback ----

  // Every task with its full state, ordered by id (bytewise), handed to `sink` a page
  // at a time so a million tasks never sit in one vector. No transaction or statement
  // is held open while `sink` runs: it may call any other method of the store.
  virtual void export_tasks(const std::function<void(std::span<const Task>)>& sink,
                            std::size_t page_size = 5000) = 0;

  // Installs merged states (see TaskImport). Per item: skipped unless the guard holds.
  // Derived state is rebuilt as the status implies: pending -> delayed until
  // not_before_ms if in the future, else waiting while any dependency is not completed
  // in the store (missing ids included: they may arrive later), else queued with a new
  // sequence number; running -> in the lease index until lease_expires_ms with a fresh
  // token no worker holds (so only reclaim ends it); completed -> cache entry, and
  // waiting dependents already in the store are queued; failed/cancelled -> waiting
  // dependents become blocked; blocked -> as given. Wakes waiters. Returns how many
  // were installed. Atomic per call on SQLite, per item on Redis.
  virtual std::size_t import_tasks(std::span<const TaskImport> items) = 0;

  // Records another machine's record exactly as given (last_seen_ms and odometer
  // included), as read from its snapshot.
  virtual void import_machine(const MachineInfo& machine) = 0;

  // Moves a pending task (queued, delayed or waiting) to another of the six queues,
  // keeping its place in priority/FIFO order. False when the task is not pending.
  virtual bool reroute(const std::string& id, const std::string& queue) = 0;

  // Makes everything written so far durable on disk now: Redis BGSAVE and wait for it
  // to finish; SQLite WAL checkpoint. Snapshots call it first, as the seed did.
  virtual void persist() = 0;

  // Throws StoreUnavailable if the backend does not answer.
  virtual void ping() = 0;

  // A short label: "sqlite:/path/to/db" or "redis://host:port/prefix".
  virtual std::string describe() const = 0;
};

} // namespace nfl
