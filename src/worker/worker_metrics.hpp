#pragma once
// The worker's own counters, served by `nfl-compute worker --metrics-port` (names and
// meanings: docs/monitoring.md). What the store cannot know: how this process's
// claims, outcomes and store calls went. Unlabelled children are resolved once here so
// the hot path is one relaxed atomic add each.
#include <string>
#include <string_view>

#include "util/metrics_registry.hpp"

namespace nfl {

// Store calls the worker times, one `op` label each.
// complete_claim: a completion that also claimed the slot's next task (one call).
enum class StoreOp { claim_wait, renew, complete, complete_claim, fail, release, get, heartbeat, status, ping, count_ };

class WorkerMetrics {
public:
  explicit WorkerMetrics(metrics::Registry& registry);

  metrics::Registry& registry() { return m_registry; }

  metrics::Counter& claims;
  metrics::Counter& retries;      // claims of a task's second or later attempt
  metrics::Counter& lease_losses; // the store answered lease_lost (fencing) to renew, complete, fail or release
  metrics::Counter& cancellations; // the store answered cancelled
  metrics::Counter& timeouts;
  metrics::Counter& dropped;      // computed results the store refused
  metrics::Counter& store_outages;
  metrics::Gauge& slots;
  metrics::Gauge& busy_slots;

  // An accepted completion: the counter and the duration histogram move together, so
  // the histogram's _count equals the completions of that type.
  void completed(const std::string& task_type, double wall_seconds);
  // terminal: the store marks the task failed (not retryable, or out of attempts).
  void failed(const std::string& task_type, bool terminal);
  void released(std::string_view reason);
  // RAII: times one store call.
  metrics::ScopedTimer time(StoreOp op) { return metrics::ScopedTimer(*m_store_calls[static_cast<int>(op)]); }

private:
  metrics::Registry& m_registry;
  metrics::Family<metrics::Counter>& m_completions;
  metrics::Family<metrics::Histogram>& m_durations;
  metrics::Family<metrics::Counter>& m_failures;
  metrics::Family<metrics::Counter>& m_releases;
  metrics::Histogram* m_store_calls[static_cast<int>(StoreOp::count_)];
};

} // namespace nfl
