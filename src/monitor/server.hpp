#pragma once
// The dashboard's HTTP server: the page, /metrics, /healthz and the JSON API (see
// docs/monitoring.md). Store calls are serialised (one store connection serves all).
// MetricsServer is the /metrics-only server a worker runs for --metrics-port.
#include <chrono>
#include <cstddef>
#include <functional>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "model/task.hpp"
#include "monitor/metrics.hpp"
#include "store/task_store.hpp"
#include "util/metrics_registry.hpp"

namespace httplib {
class Server;
}

namespace nfl::monitor {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8050; // 0: any free port (tests)
  std::string token; // DASHBOARD_TOKEN; empty: read-only API
  std::string chartjs; // Chart.js source served as /chart.js; empty: the page shows tables only
  std::filesystem::path data_dir;
  std::size_t max_body_bytes = 16 * 1024;
  std::size_t recent_limit = 20; // failures and completions shown
  std::shared_ptr<Clock> clock = system_clock(); // the store's clock, for ages
  // How long one pass over every task (per-queue failures, recent failures and
  // durations, throughput per minute, the per-task metric families) is reused by
  // /api/status and /metrics; 0 redoes it on every request.
  std::chrono::milliseconds aggregate_ttl{5'000};
  SyncMetricsSource sync_metrics; // folder sync's figures for /metrics; unset: left out
};

// Throws InputError when `host` is not a loopback address and `token` is empty.
void check_bind_allowed(const std::string& host, const std::string& token);
bool is_loopback_host(const std::string& host);

// Constant-time comparison (the time does not depend on where the strings differ).
bool tokens_equal(std::string_view a, std::string_view b);

// The /api/status document: counts, queues, running tasks and machines from
// store.status(), the rest from `aggregates` (at most k_recent_failures_kept failures).
Json status_json(const StoreStatus& status, const TaskAggregates& aggregates, const std::string& backend,
                 std::size_t recent_limit, Millis now_ms);
// The same with a fresh pass over the store.
Json status_json(TaskStore& store, std::size_t recent_limit, Millis now_ms);

class DashboardServer {
public:
  DashboardServer(TaskStore& store, ServerOptions options);
  ~DashboardServer();
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  // Checks the host/token rule and binds; returns the port (useful with port 0).
  // Throws InputError (refused) or std::runtime_error (address in use).
  int bind();
  void serve();      // blocks until stop()
  void start();      // serve() on a thread
  void stop();       // idempotent
  int port() const { return m_port; }

private:
  void routes();
  TaskStore& m_store;
  ServerOptions m_options;
  std::unique_ptr<httplib::Server> m_server;
  std::mutex m_store_mutex; // guards m_store and m_store_metrics
  metrics::Registry m_registry; // this process's own: store call latency, lease reclaims
  StoreMetrics m_store_metrics;
  std::thread m_thread;
  int m_port = 0;
};

// Serves until SIGINT or SIGTERM, then stops cleanly (the `dashboard` command).
void serve_until_signal(DashboardServer& server);

// GET /metrics only, answered by `render` (called on the server's threads, so it must
// be thread-safe); everything else is 404. No actions, so any host may be bound.
class MetricsServer {
public:
  using Render = std::function<std::string()>;
  MetricsServer(std::string host, int port, Render render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int bind(); // returns the port; throws std::runtime_error when it cannot listen
  void start(); // serves on a thread
  void stop();  // idempotent
  int port() const { return m_port; }

private:
  std::string m_host;
  int m_requested_port;
  std::unique_ptr<httplib::Server> m_server;
  std::thread m_thread;
  int m_port = 0;
};

// The page (HTML with its script), embedded in the binary.
std::string_view dashboard_html();

} // namespace nfl::monitor
