#pragma once
// /metrics in the Prometheus text exposition format (version 0.0.4), computed from the
// store on each scrape so any process with store access can serve it.
#include <string>
#include <vector>

#include "model/task.hpp"
#include "store/task_store.hpp"

namespace nfl::monitor {

// Upper bounds (seconds) of the task duration histogram's buckets; +Inf is implied.
inline constexpr double k_duration_buckets[] = {1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600};

// Metric names and label values follow docs/monitoring.md. When the store does not
// answer, only nfl_compute_store_up 0 and the scrape time are reported.
std::string render_metrics(TaskStore& store, Millis now_ms);

// Escapes a label value (backslash, quote, newline) as the format requires.
std::string escape_label(std::string_view value);

} // namespace nfl::monitor
