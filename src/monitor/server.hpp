#pragma once
// The dashboard's HTTP server: the page, /metrics, /healthz and the JSON API (see
// docs/monitoring.md). Store calls are serialised (one store connection serves all).
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "model/task.hpp"
#include "store/task_store.hpp"

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
};

// Throws InputError when `host` is not a loopback address and `token` is empty.
void check_bind_allowed(const std::string& host, const std::string& token);
bool is_loopback_host(const std::string& host);

// Constant-time comparison (the time does not depend on where the strings differ).
bool tokens_equal(std::string_view a, std::string_view b);

// The /api/status document.
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
  std::mutex m_store_mutex;
  std::thread m_thread;
  int m_port = 0;
};

// Serves until SIGINT or SIGTERM, then stops cleanly (the `dashboard` command).
void serve_until_signal(DashboardServer& server);

// The page (HTML with its script), embedded in the binary.
std::string_view dashboard_html();

} // namespace nfl::monitor
