#pragma once
// Health checks shared by `nfl-compute health` and /healthz: the backend answers,
// some worker's heartbeat is fresh, and the data directory is writable.
#include <filesystem>
#include <string>
#include <vector>

#include "model/task.hpp"
#include "store/task_store.hpp"

namespace nfl::monitor {

struct HealthCheck {
  std::string name; // backend | workers | data_dir
  bool ok = false;
  std::string detail;
};

struct HealthOptions {
  std::filesystem::path data_dir;
  // Workers: when false, no machine having reported is healthy (a fresh install);
  // a machine that did report but is stale is always unhealthy.
  bool require_worker = false;
};

std::vector<HealthCheck> check_health(TaskStore& store, const HealthOptions& options);
bool all_ok(const std::vector<HealthCheck>& checks);
Json health_to_json(const std::vector<HealthCheck>& checks);

} // namespace nfl::monitor
