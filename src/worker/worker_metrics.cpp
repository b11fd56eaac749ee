#include "worker/worker_metrics.hpp"

#include <iterator>

namespace nfl {

namespace {

constexpr const char* k_op_names[] = {"claim_wait", "renew",     "complete", "complete_claim", "fail",
                                      "release",    "get",       "heartbeat", "status",        "ping"};
static_assert(std::size(k_op_names) == static_cast<std::size_t>(StoreOp::count_));

} // namespace

WorkerMetrics::WorkerMetrics(metrics::Registry& r)
    : claims(r.counter("nfl_compute_worker_claims_total", "Tasks this worker claimed.")),
      retries(r.counter("nfl_compute_worker_retries_total",
                        "Claims of a task's second or later attempt (after a failure or an expired lease).")),
      lease_losses(r.counter("nfl_compute_worker_lease_losses_total",
                             "Store answers lease_lost to renew, complete, fail or release (the fencing token was "
                             "no longer current).")),
      cancellations(r.counter("nfl_compute_worker_cancellations_total",
                              "Store answers cancelled to renew, complete, fail or release.")),
      timeouts(r.counter("nfl_compute_worker_timeouts_total", "Attempts stopped for exceeding their timeout.")),
      dropped(r.counter("nfl_compute_worker_dropped_results_total",
                        "Computed results the store refused (lease lost or cancelled).")),
      store_outages(r.counter("nfl_compute_worker_store_outages_total",
                              "Times the store became unavailable to this worker.")),
      slots(r.gauge("nfl_compute_worker_slots", "Task slots (--concurrency).")),
      busy_slots(r.gauge("nfl_compute_worker_busy_slots", "Slots running a task now.")),
      m_registry(r),
      m_completions(r.counter_family("nfl_compute_worker_completions_total",
                                     "Completions the store accepted from this worker, by task type.", {"task_type"})),
      m_durations(r.histogram_family("nfl_compute_worker_task_duration_seconds",
                                     "Wall time of this worker's accepted completions, by task type.", {"task_type"},
                                     metrics::k_task_duration_buckets)),
      m_failures(r.counter_family("nfl_compute_worker_failures_total",
                                  "Failed attempts the store recorded, by task type; kind=terminal when the task "
                                  "is then failed for good (not retryable or out of attempts), else retryable.",
                                  {"task_type", "kind"})),
      m_releases(r.counter_family("nfl_compute_worker_releases_total",
                                  "Tasks handed back without counting the attempt, by reason.", {"reason"})) {
  auto& calls = r.histogram_family("nfl_compute_store_call_duration_seconds",
                                   "Store calls this process made, by operation (claim_wait includes waiting for "
                                   "work while the queues are empty).",
                                   {"op"}, metrics::k_store_call_buckets);
  for (std::size_t i = 0; i < std::size(k_op_names); ++i) {
    m_store_calls[i] = &calls.labels({k_op_names[i]});
  }
}

void WorkerMetrics::completed(const std::string& task_type, double wall_seconds) {
  m_completions.labels({task_type}).inc();
  m_durations.labels({task_type}).observe(wall_seconds);
}

void WorkerMetrics::failed(const std::string& task_type, bool terminal) {
  m_failures.labels({task_type, terminal ? "terminal" : "retryable"}).inc();
}

void WorkerMetrics::released(std::string_view reason) { m_releases.labels({reason}).inc(); }

} // namespace nfl
