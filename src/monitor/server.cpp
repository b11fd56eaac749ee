#include "monitor/server.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include "monitor/health.hpp"
#include "monitor/metrics.hpp"
#include "monitor/scoreboard.hpp"
#include "monitor/security_headers.hpp"
#include "util/error.hpp"

namespace nfl::monitor {

namespace {

constexpr int k_throughput_minutes = 60;
constexpr std::size_t k_max_list_limit = 1000;

void send_json(httplib::Response& res, int code, const Json& body) {
  res.status = code;
  // Invalid UTF-8 (a query parameter echoed in an error, a task's text) becomes U+FFFD
  // instead of a type_error, which in the exception handler would end the process.
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int code, const std::string& message) {
  send_json(res, code, {{"error", message}});
}

Json running_json(const Task& t, Millis now_ms) {
  return {{"id", t.id},
          {"name", t.name},
          {"task_type", t.task_type},
          {"queue", t.queue},
          {"machine_id", t.machine_id},
          {"attempts", t.attempts},
          {"max_attempts", t.max_attempts},
          {"progress", t.progress},
          {"progress_message", t.progress_message},
          {"started_at_ms", t.started_at_ms},
          {"elapsed_seconds", t.started_at_ms > 0 ? static_cast<double>(now_ms - t.started_at_ms) / 1000.0 : 0.0}};
}

// Binds `server` to host:port (0: any free port) and returns the port.
int bind_server(httplib::Server& server, const std::string& host, int port) {
  // httplib also sets SO_REUSEPORT, which lets a second process bind a port already in
  // use (two workers with one --metrics-port would then share scrapes at random).
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  int bound = -1;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
  } else if (server.bind_to_port(host, port)) {
    bound = port;
  }
  if (bound <= 0) {
    throw std::runtime_error(
        fmt::format("cannot listen on {}:{} (in use, or not an address of this machine)", host, port));
  }
  return bound;
}

} // namespace

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") {
    return true;
  }
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return false;
}

void check_bind_allowed(const std::string& host, const std::string& token) {
  if (!is_loopback_host(host) && token.empty()) {
    throw InputError(fmt::format(
        "--host {}: refusing to serve the dashboard on a non-loopback address without DASHBOARD_TOKEN; "
        "set DASHBOARD_TOKEN (actions then need it) or bind 127.0.0.1",
        host));
  }
}

bool tokens_equal(std::string_view a, std::string_view b) {
  // Walk the longer length whatever the inputs so timing reveals neither content nor prefix.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

Json status_json(const StoreStatus& st, const TaskAggregates& agg, const std::string& backend,
                 std::size_t recent_limit, Millis now_ms) {
  Json queues = Json::object();
  for (const auto& [q, c] : st.queues) {
    auto failed = agg.failed_by_queue.find(q);
    queues[q] = {{"pending", c.pending},
                 {"running", c.running},
                 {"failed", failed == agg.failed_by_queue.end() ? 0 : failed->second}};
  }
  Json counts = Json::object();
  for (const auto& [s, n] : st.counts) {
    counts[s] = n;
  }
  Json machines = Json::array();
  for (const auto& m : st.machines) {
    std::int64_t running = 0;
    for (const auto& t : st.running) {
      running += t.machine_id == m.machine_id ? 1 : 0;
    }
    machines.push_back({{"machine_id", m.machine_id},
                        {"profile", m.profile},
                        {"queues", m.queues},
                        {"hardware", m.hardware},
                        {"last_seen_ms", m.last_seen_ms},
                        {"heartbeat_age_seconds", static_cast<double>(now_ms - m.last_seen_ms) / 1000.0},
                        {"live", m.live},
                        {"running", running},
                        {"tasks_done", m.tasks_done},
                        {"cpu_hours", m.cpu_hours},
                        {"gpu_hours", m.gpu_hours}});
  }
  Json running = Json::array();
  for (const auto& t : st.running) {
    running.push_back(running_json(t, now_ms));
  }
  Json failures = Json::array();
  for (std::size_t i = 0; i < agg.recent_failures.size() && i < recent_limit; ++i) {
    const auto& t = agg.recent_failures[i];
    failures.push_back({{"id", t.id},
                        {"name", t.name},
                        {"task_type", t.task_type},
                        {"queue", t.queue},
                        {"machine_id", t.machine_id},
                        {"attempts", t.attempts},
                        {"error", t.error},
                        {"finished_at_ms", t.finished_at_ms}});
  }
  // Completions per minute over the last hour, oldest first, for the throughput chart.
  Json per_minute = Json::array();
  const Millis minute = 60'000;
  const Millis end = (now_ms / minute + 1) * minute;
  for (int i = 0; i < k_throughput_minutes; ++i) {
    const Millis start = end - (k_throughput_minutes - i) * minute;
    auto it = agg.completions_by_minute.find(start);
    per_minute.push_back({{"minute_ms", start}, {"completed", it == agg.completions_by_minute.end() ? 0 : it->second}});
  }
  Json durations = Json::array();
  for (const auto& d : agg.recent_durations) {
    durations.push_back({{"id", d.id}, {"task_type", d.task_type}, {"finished_at_ms", d.finished_at_ms}, {"seconds", d.seconds}});
  }
  Json report = nullptr;
  if (agg.latest_report) {
    report = {{"task_id", agg.latest_report->id}, {"path", report_path(*agg.latest_report)}, {"url", "/report/latest"}};
  }
  return {{"backend", backend},
          {"now_ms", now_ms},
          {"queues", queues},
          {"counts", counts},
          {"machines", machines},
          {"running", running},
          {"recent_failures", failures},
          {"rejected_completions", st.rejected_completions},
          {"throughput", {{"completed_last_5m", st.completed_last_5m},
                          {"completed_last_1h", st.completed_last_1h},
                          {"per_minute", per_minute}}},
          {"durations", durations},
          {"latest_report", report}};
}

Json status_json(TaskStore& store, std::size_t recent_limit, Millis now_ms) {
  const auto st = store.status();
  return status_json(st, compute_aggregates(store, now_ms), store.describe(), recent_limit, now_ms);
}

DashboardServer::DashboardServer(TaskStore& store, ServerOptions options)
    : m_store(store),
      m_options(std::move(options)),
      m_server(std::make_unique<httplib::Server>()),
      m_store_metrics(m_registry, StoreMetricsOptions{.task_aggregates = true,
                                                      .reclaim_expired = true,
                                                      .aggregate_ttl = m_options.aggregate_ttl,
                                                      .sync = m_options.sync_metrics}) {
  routes();
}

DashboardServer::~DashboardServer() { stop(); }

int DashboardServer::bind() {
  check_bind_allowed(m_options.host, m_options.token);
  m_port = bind_server(*m_server, m_options.host, m_options.port);
  return m_port;
}

void DashboardServer::serve() { m_server->listen_after_bind(); }

void DashboardServer::start() {
  // The socket is already bound and listening, so clients queue in the backlog until
  // the accept loop runs: no readiness wait is needed.
  m_thread = std::thread([this] { serve(); });
}

void DashboardServer::stop() {
  m_server->stop();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void serve_until_signal(DashboardServer& server) {
  // Blocked here so the server's threads inherit the mask and only the watcher sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &set, &old);
  std::atomic<bool> done = false;
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&set, &sig);
    if (!done) {
      spdlog::info("dashboard: signal {}, stopping", sig);
      server.stop();
    }
  });
  server.serve();
  done = true;
  pthread_kill(watcher.native_handle(), SIGTERM); // wakes sigwait when serve() ended by itself
  watcher.join();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void DashboardServer::routes() {
  auto& s = *m_server;
  s.set_payload_max_length(m_options.max_body_bytes);
  // Security headers on every answer, errors included, and the DNS-rebinding guard (security_headers.hpp).
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (host_header_allowed(req.get_header_value("Host"), is_loopback_host(m_options.host))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    send_error(res, 421, "this dashboard listens on loopback and answers only to a loopback Host name");
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_post_routing_handler(apply_security_headers);
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const InputError& e) {
      send_error(res, 400, e.what());
    } catch (const std::exception& e) {
      send_error(res, 503, e.what());
    } catch (...) {
      send_error(res, 500, "internal error");
    }
  });
  auto now = [this] { return m_options.clock->now_ms(); };

  s.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::string(dashboard_html()), "text/html; charset=utf-8");
  });
  s.Get("/chart.js", [this](const httplib::Request&, httplib::Response& res) {
    if (m_options.chartjs.empty()) {
      res.status = 404;
      res.set_content("// Chart.js was not embedded in this build (install libjs-chart.js)\n", "text/javascript");
      return;
    }
    res.set_content(m_options.chartjs, "text/javascript");
  });
  s.Get("/metrics", [this, now](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(m_store_mutex);
    metrics::TextWriter w;
    m_store_metrics.render(m_store, now(), w);
    m_registry.render(w);
    res.set_content(w.take(), "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(m_store_mutex);
    auto checks = m_store_metrics.timed("health", [&] { return check_health(m_store, {m_options.data_dir, false}); });
    send_json(res, all_ok(checks) ? 200 : 503, health_to_json(checks));
  });
  s.Get("/api/status", [this, now](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(m_store_mutex);
    const Millis t = now();
    const auto st = m_store_metrics.timed("status", [&] { return m_store.status(); });
    const auto& agg = m_store_metrics.aggregates(m_store, t);
    send_json(res, 200, status_json(st, agg, m_store.describe(), m_options.recent_limit, t));
  });
  s.Get("/api/scoreboard", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(m_store_mutex);
    // Medians need every duration, so the scoreboard reads every task (on demand only:
    // the page does not poll it).
    send_json(res, 200, scoreboard_to_json(m_store_metrics.timed("scoreboard", [&] { return compute_scoreboard(m_store); })));
  });
  s.Get("/api/tasks", [this](const httplib::Request& req, httplib::Response& res) {
    TaskFilter filter;
    if (req.has_param("status")) {
      filter.status = parse_status(req.get_param_value("status"), "status");
    }
    if (req.has_param("queue")) {
      auto q = req.get_param_value("queue");
      if (!is_known_queue(q)) {
        throw InputError(fmt::format("queue: unknown queue '{}'", q));
      }
      filter.queue = q;
    }
    if (req.has_param("type")) {
      filter.task_type = req.get_param_value("type");
    }
    for (auto [name, field] : {std::pair{"limit", &filter.limit}, std::pair{"offset", &filter.offset}}) {
      if (req.has_param(name)) {
        const auto text = req.get_param_value(name);
        std::size_t value = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || p != text.data() + text.size() ||
            (std::string_view(name) == "limit" && (value == 0 || value > k_max_list_limit))) {
          throw InputError(fmt::format("{}: expected a whole number{}, got '{}'", name,
                                       std::string_view(name) == "limit" ? " from 1 to 1000" : "", text));
        }
        *field = value;
      }
    }
    std::lock_guard lock(m_store_mutex);
    Json out = Json::array();
    for (const auto& t : m_store_metrics.timed("list", [&] { return m_store.list(filter); })) {
      out.push_back(task_to_json(t));
    }
    send_json(res, 200, {{"tasks", out}, {"limit", filter.limit}, {"offset", filter.offset}});
  });
  s.Get(R"(/api/tasks/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(m_store_mutex);
    auto t = m_store_metrics.timed("get", [&] { return m_store.get(req.matches[1]); });
    if (!t) {
      send_error(res, 404, fmt::format("no task with id '{}'", std::string(req.matches[1])));
      return;
    }
    send_json(res, 200, task_to_json(*t));
  });
  s.Post(R"(/api/tasks/([^/]+)/(requeue|cancel))", [this](const httplib::Request& req, httplib::Response& res) {
    if (m_options.token.empty()) {
      send_error(res, 403, "read-only: actions need DASHBOARD_TOKEN to be set where the dashboard runs");
      return;
    }
    const auto auth = req.get_header_value("Authorization");
    constexpr std::string_view bearer = "Bearer ";
    if (!auth.starts_with(bearer) || !tokens_equal(std::string_view(auth).substr(bearer.size()), m_options.token)) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, 401, "missing or wrong token: send Authorization: Bearer <DASHBOARD_TOKEN>");
      return;
    }
    const std::string id = req.matches[1];
    const std::string action = req.matches[2];
    std::lock_guard lock(m_store_mutex);
    auto t = m_store_metrics.timed("get", [&] { return m_store.get(id); });
    if (!t) {
      send_error(res, 404, fmt::format("no task with id '{}'", id));
      return;
    }
    const bool done = m_store_metrics.timed(action, [&] { return action == "requeue" ? m_store.requeue(id) : m_store.cancel(id); });
    if (!done) {
      send_error(res, 409, fmt::format("cannot {} task '{}' while it is {}", action, id, to_string(t->status)));
      return;
    }
    spdlog::info("dashboard: {} {}", action, id);
    send_json(res, 200, task_to_json(*m_store.get(id)));
  });
  s.Get("/report/latest", [this](const httplib::Request&, httplib::Response& res) {
    std::string path;
    {
      std::lock_guard lock(m_store_mutex);
      const auto& agg = m_store_metrics.aggregates(m_store, m_options.clock->now_ms());
      // Served from this machine's artifact layout, never from the path a result
      // records: a result is data, and the server must not read outside DATA_DIR.
      // Task ids are safe tokens (no '/' or leading '.'), so the path stays inside.
      if (agg.latest_report) {
        path = (m_options.data_dir / "artifacts" / agg.latest_report->id / "report.html").string();
      }
    }
    std::ifstream f(path, std::ios::binary);
    if (path.empty() || !f) {
      send_error(res, 404, "no report yet: run a reporting task");
      return;
    }
    std::ostringstream text;
    text << f.rdbuf();
    res.set_content(text.str(), "text/html; charset=utf-8");
  });
}

} // namespace nfl::monitor

namespace nfl::monitor {

MetricsServer::MetricsServer(std::string host, int port, Render render)
    : m_host(std::move(host)), m_requested_port(port), m_server(std::make_unique<httplib::Server>()) {
  m_server->set_payload_max_length(1024);
  m_server->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(std::string("metrics: ") + e.what() + "\n", "text/plain");
    }
  });
  m_server->Get("/metrics", [render = std::move(render)](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

MetricsServer::~MetricsServer() { stop(); }

int MetricsServer::bind() {
  m_port = bind_server(*m_server, m_host, m_requested_port);
  return m_port;
}

void MetricsServer::start() {
  // Already listening: scrapes wait in the backlog until the accept loop runs.
  m_thread = std::thread([this] { m_server->listen_after_bind(); });
}

void MetricsServer::stop() {
  m_server->stop();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

} // namespace nfl::monitor
