// `nfl-compute worker` (and the seed's plain `nfl-compute`): runs the Worker on the
// queues this machine serves.
#include <algorithm>
#include <mutex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/context.hpp"
#include "cli/sync_setup.hpp"
#include "sync/sync_loop.hpp"
#include "monitor/metrics.hpp"
#include "monitor/server.hpp"
#include "store/store_factory.hpp"
#include "util/error.hpp"
#include "util/metrics_registry.hpp"
#include "worker/logging.hpp"
#include "worker/task_catalog.hpp"
#include "worker/worker.hpp"

namespace nfl::cli {

namespace {

// What a worker's /metrics scrape reads: its own counters and the cheap store-level
// gauges over a connection of its own (never a slot's), opened on the first scrape
// and again after the store stopped answering. The per-task families stay with the
// dashboard: a busy worker should not page through every task.
class WorkerScrape {
public:
  WorkerScrape(Config config, metrics::Registry& registry)
      : m_config(std::move(config)), m_registry(registry), m_store_metrics(registry, options()) {}

  std::string render() {
    std::lock_guard lock(m_mutex);
    // The worker's own counters are read before the store: a counter moves only after
    // the store accepted the change, so no scrape shows a completion or failure that
    // the store's gauges in the same scrape do not. (This scrape's own store-call
    // timings show in the next one.)
    const std::string own = m_registry.render();
    metrics::TextWriter w;
    const Millis now = SystemClock().now_ms();
    try {
      if (!m_store) {
        m_store = open_store(m_config);
      }
    } catch (const std::exception& e) {
      spdlog::debug("metrics: no store connection: {}", e.what());
    }
    if (!m_store) {
      monitor::StoreMetrics::render_unavailable(now, w);
    } else if (!m_store_metrics.render(*m_store, now, w)) {
      m_store.reset();
    }
    return w.take() + own;
  }

private:
  static monitor::StoreMetricsOptions options() {
    monitor::StoreMetricsOptions o;
    o.task_aggregates = false;
    o.reclaim_expired = false;
    return o;
  }
  Config m_config;
  metrics::Registry& m_registry;
  std::mutex m_mutex;
  std::unique_ptr<TaskStore> m_store;
  monitor::StoreMetrics m_store_metrics;
};

} // namespace

void add_worker_command(CLI::App& app, Context& ctx) {
  struct Options {
    std::vector<std::string> queues;
    std::optional<int> concurrency;
    bool burst = false;
    std::optional<double> grace_s;
    std::optional<int> metrics_port;
    std::string metrics_host = "127.0.0.1";
  };
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("worker", "Claim and run tasks from this machine's queues (the default action)");
  sub->add_option("--queues", o->queues, "Only these queues, in this order (comma-separated)")->delimiter(',');
  sub->add_option("--concurrency", o->concurrency, "Tasks at once (default MAX_CONCURRENT_TASKS)")
      ->check(CLI::Range(1, 1024));
  sub->add_flag("--burst", o->burst, "Exit 0 once no claimable work is left");
  sub->add_option("--grace", o->grace_s, "Seconds running tasks may finish after SIGTERM/SIGINT (default 30)")
      ->check(CLI::Range(0.0, 86400.0));
  sub->add_option("--metrics-port", o->metrics_port,
                  "Serve this worker's Prometheus metrics on http://HOST:PORT/metrics (0: any free port)")
      ->check(CLI::Range(0, 65535));
  sub->add_option("--metrics-host", o->metrics_host, "Address for --metrics-port (default 127.0.0.1)");
  sub->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      const Config config = ctx.config();
      const auto& id = ctx.identity();
      std::vector<std::string> queues = id.queues;
      if (!o->queues.empty()) {
        queues.clear();
        for (const auto& q : split_list(o->queues)) {
          if (!is_known_queue(q)) {
            throw InputError(fmt::format("--queues: '{}' is not a queue; expected some of {}", q, queue_list()));
          }
          if (std::find(queues.begin(), queues.end(), q) == queues.end()) {
            queues.push_back(q);
          }
        }
      }
      setup_logging(config, id.machine_id);
      if (ctx.globals.verbose) {
        spdlog::set_level(spdlog::level::debug);
      }
      for (const auto& q : queues) {
        if (std::find(id.queues.begin(), id.queues.end(), q) == id.queues.end()) {
          spdlog::warn("serving {} although this machine's profile {} does not (--queues asked for it)", q,
                       id.profile);
        }
      }
      MachineInfo machine;
      machine.machine_id = id.machine_id;
      machine.profile = id.profile;
      machine.queues = queues;
      machine.hardware = hardware_to_json(id.hardware);
      auto options = worker_options_from(config, machine);
      options.queues = queues;
      if (o->concurrency) {
        options.concurrency = *o->concurrency;
      }
      options.burst = o->burst;
      options.burst_waits_for_others = !config.sync_enabled;
      if (o->grace_s) {
        options.grace = std::chrono::milliseconds(static_cast<std::int64_t>(*o->grace_s * 1000.0));
      }
      Worker worker([config] { return open_store(config); }, config, options, default_task_registry());
      std::unique_ptr<WorkerScrape> scrape;
      std::unique_ptr<monitor::MetricsServer> metrics_server;
      if (o->metrics_port) {
        scrape = std::make_unique<WorkerScrape>(config, worker.metrics());
        metrics_server = std::make_unique<monitor::MetricsServer>(o->metrics_host, *o->metrics_port,
                                                                  [s = scrape.get()] { return s->render(); });
        int port = 0;
        try {
          port = metrics_server->bind();
        } catch (const std::runtime_error& e) {
          throw InputError(fmt::format("--metrics-port {}: {}", *o->metrics_port, e.what()));
        }
        metrics_server->start();
        spdlog::info("metrics on http://{}:{}/metrics", o->metrics_host, port);
      }
      // Folder sync beside the worker (SYNC_ENABLED): one round before the first claim,
      // then every GOOGLE_DRIVE_SYNC_INTERVAL, and a last one after the drain.
      std::unique_ptr<sync::SyncLoop> sync_loop;
      if (config.sync_enabled) {
        sync_loop = std::make_unique<sync::SyncLoop>([config] { return open_store(config); }, sync_options_from(ctx),
                                                     std::chrono::seconds(config.sync_interval_s));
        sync_loop->run_round();
        sync_loop->start();
      }
      SignalGuard signals(worker);
      const int rc = worker.run();
      if (sync_loop) {
        sync_loop->stop();
      }
      if (metrics_server) {
        metrics_server->stop();
      }
      return rc;
    };
  });
}

} // namespace nfl::cli
