#include "monitor/metrics.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "monitor/scoreboard.hpp"
#include "util/error.hpp"

namespace nfl::monitor {

namespace {

constexpr std::size_t k_page = 1000;
constexpr Millis k_minute = 60'000;
constexpr Millis k_hour = 60 * k_minute;

using metrics::TextWriter;

auto u64(std::int64_t n) { return static_cast<std::uint64_t>(std::max<std::int64_t>(0, n)); }

bool newer(const Task& a, const Task& b) { return a.finished_at_ms > b.finished_at_ms; }

// Keeps the newest `keep` of `v` (newest first) once it holds twice that many: the
// trimming work stays linear in the number of tasks.
template <class T, class Newer>
void keep_newest(std::vector<T>& v, std::size_t keep, Newer newer_than, bool final) {
  if (v.size() < 2 * keep && !final) {
    return;
  }
  if (v.size() > keep) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(keep), v.end(), newer_than);
    v.resize(keep);
  }
  if (final) {
    std::sort(v.begin(), v.end(), newer_than);
  }
}

// Pages through every task; `list` is the (timed) store call.
template <class List>
TaskAggregates fold_all(List&& list, Millis now_ms) {
  AggregateBuilder builder(now_ms);
  TaskFilter filter;
  filter.limit = k_page;
  for (;;) {
    auto page = list(filter);
    for (const auto& t : page) {
      builder.add(t);
    }
    if (page.size() < k_page) {
      break;
    }
    filter.offset += page.size();
  }
  return builder.finish();
}

} // namespace

std::string report_path(const Task& t) {
  if (t.status != TaskStatus::completed || !t.result.is_object()) {
    return {};
  }
  auto it = t.result.find("report");
  if (it == t.result.end() || !it->is_string()) {
    return {};
  }
  auto p = it->get<std::string>();
  return p.ends_with(".html") ? p : std::string();
}

AggregateBuilder::AggregateBuilder(Millis now_ms) {
  m_out.computed_at_ms = now_ms;
  for (auto q : k_queues) {
    for (auto s : k_statuses) {
      m_out.by_queue_status[{std::string(q), std::string(to_string(s))}] = 0;
    }
  }
}

void AggregateBuilder::add(const Task& t) {
  ++m_out.by_queue_status[{t.queue, std::string(to_string(t.status))}];
  if (t.attempts > 1) {
    m_out.retry_attempts += t.attempts - 1;
  }
  if (t.status == TaskStatus::failed) {
    ++m_out.failed_by_type[t.task_type];
    ++m_out.failed_by_queue[t.queue];
    m_out.recent_failures.push_back(t);
    keep_newest(m_out.recent_failures, k_recent_failures_kept, newer, false);
    return;
  }
  if (t.status != TaskStatus::completed) {
    return;
  }
  ++m_out.completed_by_type[t.task_type];
  const Millis minute = t.finished_at_ms / k_minute * k_minute;
  if (t.finished_at_ms > 0 && minute >= m_out.computed_at_ms / k_minute * k_minute - k_hour &&
      minute <= m_out.computed_at_ms + k_hour) {
    ++m_out.completions_by_minute[minute];
  }
  if (auto d = task_duration_seconds(t)) {
    auto& b = m_out.durations_by_type[t.task_type];
    if (b.cumulative.empty()) {
      b.cumulative.assign(std::size(k_duration_buckets) + 1, 0);
    }
    for (std::size_t i = 0; i < std::size(k_duration_buckets); ++i) {
      b.cumulative[i] += *d <= k_duration_buckets[i] ? 1 : 0;
    }
    ++b.cumulative.back();
    b.sum += *d;
    m_out.recent_durations.push_back({t.id, t.task_type, t.finished_at_ms, *d});
    keep_newest(
        m_out.recent_durations, k_recent_durations_kept,
        [](const DurationPoint& x, const DurationPoint& y) { return x.finished_at_ms > y.finished_at_ms; }, false);
  }
  if (!report_path(t).empty() && (!m_out.latest_report || t.finished_at_ms > m_out.latest_report->finished_at_ms)) {
    m_out.latest_report = t;
  }
}

TaskAggregates AggregateBuilder::finish() {
  keep_newest(m_out.recent_failures, k_recent_failures_kept, newer, true);
  keep_newest(
      m_out.recent_durations, k_recent_durations_kept,
      [](const DurationPoint& x, const DurationPoint& y) { return x.finished_at_ms > y.finished_at_ms; }, true);
  std::reverse(m_out.recent_durations.begin(), m_out.recent_durations.end()); // oldest first, for the chart
  return std::move(m_out);
}

TaskAggregates compute_aggregates(TaskStore& store, Millis now_ms) {
  return fold_all([&](const TaskFilter& f) { return store.list(f); }, now_ms);
}

StoreMetrics::StoreMetrics(metrics::Registry& registry, StoreMetricsOptions options)
    : m_options(std::move(options)),
      m_calls(registry.histogram_family("nfl_compute_store_call_duration_seconds",
                                        "Store calls this process made, by operation (claim_wait includes waiting "
                                        "for work while the queues are empty).",
                                        {"op"}, metrics::k_store_call_buckets)),
      m_reclaims(registry.counter("nfl_compute_lease_reclaims_total",
                                  "Expired leases this process's scrapes reclaimed (reclaims made inside workers' "
                                  "claims are not counted: the store keeps no such counter).")) {}

const TaskAggregates& StoreMetrics::aggregates(TaskStore& store, Millis now_ms) {
  const auto now = std::chrono::steady_clock::now();
  if (!m_aggregates || now - m_aggregates_at >= m_options.aggregate_ttl) {
    m_aggregates = fold_all([&](const TaskFilter& f) { return timed("list", [&] { return store.list(f); }); }, now_ms);
    m_aggregates_at = now;
  }
  return *m_aggregates;
}

void StoreMetrics::render_unavailable(Millis now_ms, TextWriter& w) {
  w.family("nfl_compute_store_up", "gauge", "1 when the task store answered this scrape, else 0.");
  w.sample("nfl_compute_store_up", {}, 0.0);
  w.family("nfl_compute_scrape_timestamp_seconds", "gauge", "Store clock time of this scrape.");
  w.sample("nfl_compute_scrape_timestamp_seconds", {}, static_cast<double>(now_ms) / 1000.0);
}

bool StoreMetrics::render(TaskStore& store, Millis now_ms, TextWriter& w) {
  StoreStatus status;
  const TaskAggregates* agg = nullptr;
  double roundtrip = 0.0;
  bool up = true;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    timed("ping", [&] { store.ping(); });
    roundtrip = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (m_options.reclaim_expired) {
      m_reclaims.inc(timed("reclaim_expired", [&] { return store.reclaim_expired(); }));
    }
    status = timed("status", [&] { return store.status(); });
    if (m_options.task_aggregates) {
      agg = &aggregates(store, now_ms);
    }
  } catch (const std::exception& e) {
    spdlog::debug("metrics: store did not answer: {}", e.what());
    up = false;
  }
  if (!up) {
    render_unavailable(now_ms, w);
    return false;
  }
  w.family("nfl_compute_store_up", "gauge", "1 when the task store answered this scrape, else 0.");
  w.sample("nfl_compute_store_up", {}, 1.0);
  w.family("nfl_compute_scrape_timestamp_seconds", "gauge", "Store clock time of this scrape.");
  w.sample("nfl_compute_scrape_timestamp_seconds", {}, static_cast<double>(now_ms) / 1000.0);
  w.family("nfl_compute_store_roundtrip_seconds", "gauge", "Time one ping of the task store took.");
  w.sample("nfl_compute_store_roundtrip_seconds", {}, roundtrip);

  w.family("nfl_compute_tasks_by_status", "gauge", "Tasks in the store by status (all queues).");
  for (const auto& [s, n] : status.counts) {
    w.sample("nfl_compute_tasks_by_status", {{"status", s}}, u64(n));
  }
  w.family("nfl_compute_queue_claimable", "gauge",
           "Pending tasks claimable now or after a backoff (excludes those waiting on dependencies).");
  for (const auto& [q, c] : status.queues) {
    w.sample("nfl_compute_queue_claimable", {{"queue", q}}, u64(c.pending));
  }
  w.family("nfl_compute_queue_running", "gauge", "Tasks running, by queue.");
  for (const auto& [q, c] : status.queues) {
    w.sample("nfl_compute_queue_running", {{"queue", q}}, u64(c.running));
  }
  w.family("nfl_compute_rejected_completions_total", "counter",
           "Late or duplicate completions the store refused (lease lost).");
  w.sample("nfl_compute_rejected_completions_total", {}, u64(status.rejected_completions));
  w.family("nfl_compute_completed_last_5m", "gauge", "Tasks completed in the last 5 minutes.");
  w.sample("nfl_compute_completed_last_5m", {}, u64(status.completed_last_5m));
  w.family("nfl_compute_completed_last_1h", "gauge", "Tasks completed in the last hour.");
  w.sample("nfl_compute_completed_last_1h", {}, u64(status.completed_last_1h));

  if (agg) {
    w.family("nfl_compute_task_aggregates_age_seconds", "gauge",
             "Age of the pass over every task that the per-task families below come from.");
    w.sample("nfl_compute_task_aggregates_age_seconds", {},
             static_cast<double>(std::max<Millis>(0, now_ms - agg->computed_at_ms)) / 1000.0);
    w.family("nfl_compute_tasks", "gauge", "Tasks in the store by queue and status.");
    for (const auto& [key, n] : agg->by_queue_status) {
      w.sample("nfl_compute_tasks", {{"queue", key.first}, {"status", key.second}}, u64(n));
    }
    w.family("nfl_compute_task_completions_total", "counter", "Tasks completed, by task type.");
    for (const auto& [type, n] : agg->completed_by_type) {
      w.sample("nfl_compute_task_completions_total", {{"task_type", type}}, u64(n));
    }
    // A gauge, not a counter: requeueing a failed task lowers it.
    w.family("nfl_compute_task_failures", "gauge", "Tasks in the failed state (out of attempts), by task type.");
    for (const auto& [type, n] : agg->failed_by_type) {
      w.sample("nfl_compute_task_failures", {{"task_type", type}}, u64(n));
    }
    w.family("nfl_compute_task_retry_attempts", "gauge", "Attempts beyond the first, summed over stored tasks.");
    w.sample("nfl_compute_task_retry_attempts", {}, u64(agg->retry_attempts));
    w.family("nfl_compute_task_duration_seconds", "histogram", "Wall time of completed (non-cached) tasks.");
    for (const auto& [type, b] : agg->durations_by_type) {
      for (std::size_t i = 0; i < b.cumulative.size(); ++i) {
        w.sample("nfl_compute_task_duration_seconds_bucket",
                 {{"task_type", type},
                  {"le", i < std::size(k_duration_buckets) ? metrics::format_value(k_duration_buckets[i]) : "+Inf"}},
                 b.cumulative[i]);
      }
      w.sample("nfl_compute_task_duration_seconds_sum", {{"task_type", type}}, b.sum);
      w.sample("nfl_compute_task_duration_seconds_count", {{"task_type", type}}, b.cumulative.back());
    }
  }

  w.family("nfl_compute_machine_heartbeat_age_seconds", "gauge", "Seconds since the machine's last heartbeat.");
  for (const auto& m : status.machines) {
    w.sample("nfl_compute_machine_heartbeat_age_seconds", {{"machine", m.machine_id}},
             static_cast<double>(std::max<Millis>(0, now_ms - m.last_seen_ms)) / 1000.0);
  }
  w.family("nfl_compute_machine_live", "gauge", "1 when the machine's heartbeat is within the machine TTL.");
  for (const auto& m : status.machines) {
    w.sample("nfl_compute_machine_live", {{"machine", m.machine_id}, {"profile", m.profile}}, m.live ? 1.0 : 0.0);
  }
  w.family("nfl_compute_machine_tasks_done_total", "counter", "Tasks the machine completed (odometer).");
  for (const auto& m : status.machines) {
    w.sample("nfl_compute_machine_tasks_done_total", {{"machine", m.machine_id}}, u64(m.tasks_done));
  }
  w.family("nfl_compute_machine_cpu_seconds_total", "counter", "CPU time the machine spent on tasks (odometer).");
  for (const auto& m : status.machines) {
    w.sample("nfl_compute_machine_cpu_seconds_total", {{"machine", m.machine_id}}, m.cpu_hours * 3600.0);
  }
  w.family("nfl_compute_machine_gpu_seconds_total", "counter", "GPU time the machine spent on tasks (odometer).");
  for (const auto& m : status.machines) {
    w.sample("nfl_compute_machine_gpu_seconds_total", {{"machine", m.machine_id}}, m.gpu_hours * 3600.0);
  }
  w.family("nfl_compute_machine_running_tasks", "gauge", "Tasks running on the machine (busy slots).");
  std::map<std::string, std::uint64_t> running_by_machine;
  for (const auto& m : status.machines) {
    running_by_machine[m.machine_id] = 0;
  }
  for (const auto& t : status.running) {
    ++running_by_machine[t.machine_id];
  }
  for (const auto& [machine, n] : running_by_machine) {
    w.sample("nfl_compute_machine_running_tasks", {{"machine", machine}}, n);
  }

  if (m_options.sync) {
    std::vector<SyncMachineMetrics> rows;
    bool sync_up = true;
    try {
      rows = m_options.sync();
    } catch (const std::exception& e) {
      spdlog::warn("metrics: the sync metrics source failed: {}", e.what());
      sync_up = false;
    }
    w.family("nfl_compute_sync_source_up", "gauge", "1 when folder sync reported its figures for this scrape.");
    w.sample("nfl_compute_sync_source_up", {}, sync_up ? 1.0 : 0.0);
    if (sync_up) {
      w.family("nfl_compute_sync_conflicts_total", "counter", "Conflicting task states folder sync resolved.");
      for (const auto& r : rows) {
        w.sample("nfl_compute_sync_conflicts_total", {{"machine", r.machine_id}}, r.conflicts);
      }
      w.family("nfl_compute_sync_skipped_files_total", "counter",
               "Snapshot files folder sync skipped (unreadable, partial, bad checksum or version).");
      for (const auto& r : rows) {
        w.sample("nfl_compute_sync_skipped_files_total", {{"machine", r.machine_id}}, r.skipped_files);
      }
      w.family("nfl_compute_sync_last_snapshot_age_seconds", "gauge", "Seconds since the machine's newest snapshot.");
      for (const auto& r : rows) {
        if (r.last_snapshot_age_seconds) {
          w.sample("nfl_compute_sync_last_snapshot_age_seconds", {{"machine", r.machine_id}},
                   *r.last_snapshot_age_seconds);
        }
      }
    }
  }  return true;
}

std::string render_metrics(TaskStore& store, Millis now_ms) {
  metrics::Registry scratch;
  StoreMetricsOptions options;
  options.reclaim_expired = false;
  options.aggregate_ttl = std::chrono::milliseconds(0);
  StoreMetrics m(scratch, options);
  TextWriter w;
  m.render(store, now_ms, w);
  return w.take();
}

} // namespace nfl::monitor
