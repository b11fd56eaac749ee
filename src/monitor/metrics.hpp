#pragma once
// /metrics in the Prometheus text exposition format (version 0.0.4), computed from the
// store so any process with store access can serve it (docs/monitoring.md lists every
// family). Cheap figures (counts by status, queue depths, running tasks, machines) are
// read on each scrape; figures that need every task (by queue and status, by task
// type, durations) come from one paged pass that is cached for a few seconds.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/task.hpp"
#include "store/task_store.hpp"
#include "util/metrics_registry.hpp"

namespace nfl::monitor {

// Upper bounds (seconds) of the task duration histogram's buckets; +Inf is implied.
inline constexpr double k_duration_buckets[] = {1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600};

// ---- hook for folder sync (src/sync fills it; nothing here depends on sync) ----

// One machine's folder-sync figures.
struct SyncMachineMetrics {
  std::string machine_id;
  std::uint64_t conflicts = 0;                     // nfl_compute_sync_conflicts_total
  std::uint64_t skipped_files = 0;                 // nfl_compute_sync_skipped_files_total
  std::optional<double> last_snapshot_age_seconds; // nfl_compute_sync_last_snapshot_age_seconds; none: no snapshot yet
};
// Called on each scrape. Unset: the three sync families are left out. If it throws,
// they are left out of that scrape and nfl_compute_sync_source_up is 0.
using SyncMetricsSource = std::function<std::vector<SyncMachineMetrics>()>;

// ---- figures that need a pass over every task ----

struct DurationPoint {
  std::string id;
  std::string task_type;
  Millis finished_at_ms = 0;
  double seconds = 0.0;
};

struct DurationBuckets {
  std::vector<std::uint64_t> cumulative; // one per k_duration_buckets bound, then +Inf
  double sum = 0.0;
};

struct TaskAggregates {
  Millis computed_at_ms = 0; // store clock when the pass ran
  std::map<std::pair<std::string, std::string>, std::int64_t> by_queue_status; // every queue x status
  std::map<std::string, std::int64_t> completed_by_type;
  std::map<std::string, std::int64_t> failed_by_type;
  std::map<std::string, std::int64_t> failed_by_queue;
  std::int64_t retry_attempts = 0;                         // attempts beyond the first, summed
  std::map<std::string, DurationBuckets> durations_by_type; // completed, non-cached
  std::vector<Task> recent_failures;                       // newest first, at most k_recent_failures_kept
  std::map<Millis, std::int64_t> completions_by_minute;    // minute start -> completions, the hour before the pass
  std::vector<DurationPoint> recent_durations;             // newest k_recent_durations_kept, oldest first
  std::optional<Task> latest_report;                       // newest completed task whose result names a report.html
};

inline constexpr std::size_t k_recent_failures_kept = 100;
inline constexpr std::size_t k_recent_durations_kept = 200;

// Folds tasks into TaskAggregates one page at a time, so a million tasks never sit in
// memory together.
class AggregateBuilder {
public:
  explicit AggregateBuilder(Millis now_ms);
  void add(const Task& t);
  TaskAggregates finish();

private:
  TaskAggregates m_out;
};

// The report path a completed reporting task recorded ("" when none).
std::string report_path(const Task& t);

// One fresh pass (no cache).
TaskAggregates compute_aggregates(TaskStore& store, Millis now_ms);

// ---- the scrape ----

struct StoreMetricsOptions {
  bool task_aggregates = true; // the families that need every task; a worker's scrape leaves them out
  bool reclaim_expired = true; // each scrape reclaims expired leases and counts them (lease_reclaims_total)
  std::chrono::milliseconds aggregate_ttl{5'000}; // how long one pass over every task is reused
  SyncMetricsSource sync;
};

// The store-level families of one process's /metrics. Not thread-safe: the caller
// serialises scrapes (the dashboard holds its store lock). The families this process
// counts itself (store call latency, lease reclaims) are registered in `registry`,
// which the caller renders after render().
class StoreMetrics {
public:
  explicit StoreMetrics(metrics::Registry& registry, StoreMetricsOptions options = {});

  // Appends the store families; when the store does not answer, only
  // nfl_compute_store_up 0 and the scrape time. Returns whether it answered.
  bool render(TaskStore& store, Millis now_ms, metrics::TextWriter& w);
  // What render() writes when there is no store connection at all.
  static void render_unavailable(Millis now_ms, metrics::TextWriter& w);

  // The cached pass, redone when older than aggregate_ttl. May throw StoreUnavailable.
  const TaskAggregates& aggregates(TaskStore& store, Millis now_ms);

  // Runs one store call and observes its time under `op`.
  template <class F>
  decltype(auto) timed(std::string_view op, F&& f) {
    metrics::ScopedTimer timer(m_calls.labels({op}));
    return f();
  }

  const StoreMetricsOptions& options() const { return m_options; }

private:
  StoreMetricsOptions m_options;
  metrics::Family<metrics::Histogram>& m_calls;
  metrics::Counter& m_reclaims;
  std::optional<TaskAggregates> m_aggregates;
  std::chrono::steady_clock::time_point m_aggregates_at;
};

// One scrape with a fresh pass, no reclaim and no process counters (tests, one-off use).
std::string render_metrics(TaskStore& store, Millis now_ms);

// Escapes a label value (backslash, quote, newline) as the format requires.
inline std::string escape_label(std::string_view value) { return metrics::escape_label(value); }

} // namespace nfl::monitor
