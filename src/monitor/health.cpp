#include "monitor/health.hpp"

#include <fstream>
#include <system_error>
#include <unistd.h>

#include <fmt/format.h>

namespace nfl::monitor {

namespace {

HealthCheck check_data_dir(const std::filesystem::path& dir) {
  HealthCheck c{"data_dir", false, ""};
  std::error_code ec;
  if (dir.empty()) {
    c.detail = "DATA_DIR is not set";
    return c;
  }
  if (!std::filesystem::exists(dir, ec)) {
    // Not created yet (a fresh install): healthy when it can be created.
    auto parent = std::filesystem::absolute(dir, ec).parent_path();
    while (!parent.empty() && !std::filesystem::exists(parent, ec) && parent != parent.root_path()) {
      parent = parent.parent_path();
    }
    if (::access(parent.c_str(), W_OK | X_OK) != 0) {
      c.detail = fmt::format("{} does not exist and {} is not writable", dir.string(), parent.string());
      return c;
    }
    c.ok = true;
    c.detail = fmt::format("{} does not exist yet (can be created)", dir.string());
    return c;
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    c.detail = fmt::format("{} is not a directory", dir.string());
    return c;
  }
  // Writing a file proves more than access(2): a read-only mount or a full disk fails here.
  const auto probe = dir / fmt::format(".nfl-health-{}", ::getpid());
  {
    std::ofstream f(probe, std::ios::trunc);
    f << "ok\n";
    f.flush();
    if (!f) {
      c.detail = fmt::format("{} is not writable", dir.string());
      std::filesystem::remove(probe, ec);
      return c;
    }
  }
  std::filesystem::remove(probe, ec);
  c.ok = true;
  c.detail = fmt::format("{} is writable", dir.string());
  return c;
}

} // namespace

std::vector<HealthCheck> check_health(TaskStore& store, const HealthOptions& options) {
  std::vector<HealthCheck> checks;
  HealthCheck backend{"backend", false, ""};
  std::vector<MachineInfo> machines;
  try {
    store.ping();
    machines = store.machines();
    backend.ok = true;
    backend.detail = store.describe() + " answers";
  } catch (const std::exception& e) {
    backend.detail = e.what();
  }
  checks.push_back(backend);

  HealthCheck workers{"workers", false, ""};
  if (!backend.ok) {
    workers.detail = "unknown: the backend does not answer";
  } else {
    std::size_t live = 0;
    std::string stale;
    for (const auto& m : machines) {
      if (m.live) {
        ++live;
      } else {
        stale += (stale.empty() ? "" : ", ") + m.machine_id;
      }
    }
    if (machines.empty()) {
      workers.ok = !options.require_worker;
      workers.detail = "no machine has reported yet";
    } else if (live == 0) {
      workers.detail = fmt::format("no fresh heartbeat; stale: {}", stale);
    } else {
      workers.ok = true;
      workers.detail = fmt::format("{} live{}", live, stale.empty() ? "" : fmt::format(", stale: {}", stale));
    }
  }
  checks.push_back(workers);
  checks.push_back(check_data_dir(options.data_dir));
  return checks;
}

bool all_ok(const std::vector<HealthCheck>& checks) {
  for (const auto& c : checks) {
    if (!c.ok) {
      return false;
    }
  }
  return true;
}

Json health_to_json(const std::vector<HealthCheck>& checks) {
  Json j = {{"status", all_ok(checks) ? "ok" : "unhealthy"}, {"checks", Json::object()}};
  for (const auto& c : checks) {
    j["checks"][c.name] = {{"ok", c.ok}, {"detail", c.detail}};
  }
  return j;
}

} // namespace nfl::monitor
