// `nfl-compute hardware`, `health` and `config`: this machine and its settings.
#include <fmt/format.h>

#include "analytics/evaluation/report.hpp"
#include "analytics/gpu/device.hpp"
#include "cli/context.hpp"
#include "sync/snapshot.hpp"
#include "sync/syncer.hpp"
#include "monitor/health.hpp"
#include "monitor/scoreboard.hpp"
#include "monitor/server.hpp"
#include "util/error.hpp"

namespace nfl::cli {

namespace {

bool is_secret(std::string_view name) { return name == "REDIS_PASSWORD" || name == "DASHBOARD_TOKEN"; }

std::string_view source_label(ValueSource s) {
  switch (s) {
  case ValueSource::default_value: return "default";
  case ValueSource::env_file: return "env file";
  case ValueSource::environment: return "environment";
  case ValueSource::flag: return "command line";
  }
  return "";
}

void print_hardware(Context& ctx, const MachineIdentity& id) {
  const auto& hw = id.hardware;
  auto& out = ctx.out;
  std::string queues;
  for (const auto& q : id.queues) {
    queues += (queues.empty() ? "" : ", ") + q;
  }
  out << fmt::format("{:<10}{} ({})\n", "machine:", id.machine_id,
                     id.machine_id_overridden ? "MACHINE_ID" : "from the host name");
  if (id.profile_overridden) {
    out << fmt::format("{:<10}{} (HARDWARE_PROFILE; detected {})\n", "profile:", id.profile, id.detected_profile);
  } else {
    out << fmt::format("{:<10}{} (detected)\n", "profile:", id.profile);
  }
  out << fmt::format("{:<10}{}\n", "queues:", queues);
  out << fmt::format("{:<10}{} cores, {}{}\n", "cpu:", hw.cpu_cores, hw.arch,
                     hw.apple_silicon ? ", " + hw.apple_chip : std::string());
  out << fmt::format("{:<10}{:.1f} GiB", "memory:", hw.memory_gib);
  if (hw.memory_available_gib > 0) {
    out << fmt::format(" ({:.1f} GiB available)", hw.memory_available_gib);
  }
  out << "\n";
  out << fmt::format("{:<10}{} {}{}\n", "os:", hw.os, hw.os_release, hw.os_name.empty() ? "" : " (" + hw.os_name + ")");
  if (hw.gpus.empty()) {
    out << fmt::format("{:<10}none found (NVML: libnvidia-ml.so.1, then nvidia-smi)\n", "gpus:");
  } else {
    out << fmt::format("{:<10}{} via {}\n", "gpus:", hw.gpus.size(), hw.gpu_source);
    for (std::size_t i = 0; i < hw.gpus.size(); ++i) {
      const auto& g = hw.gpus[i];
      out << fmt::format("  {}: {}, {:.1f} GiB ({:.1f} GiB free)\n", i, g.name, g.memory_total_gib, g.memory_free_gib);
    }
  }
  out << fmt::format("{:<10}{}\n", "cuda:", analytics::gpu::describe(analytics::gpu::cuda_status()));
}

} // namespace

void add_hardware_command(CLI::App& app, Context& ctx) {
  auto json = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("hardware", "This machine: id, profile, served queues, CPU, memory, GPUs");
  sub->add_flag("--json", *json, "As JSON");
  sub->callback([json, &ctx] {
    ctx.action = [json, &ctx] {
      ctx.config();
      const auto& id = ctx.identity();
      if (*json) {
        Json j = identity_to_json(id);
        const auto cuda = analytics::gpu::cuda_status();
        j["cuda"] = {{"built", cuda.built},         {"build", cuda.build_info}, {"available", cuda.available},
                     {"device", cuda.device_name},  {"reason", cuda.reason},    {"device_label", analytics::gpu::device_label(cuda)}};
        ctx.out << j.dump(2) << "\n";
      } else {
        print_hardware(ctx, id);
      }
      return 0;
    };
  });
}

void add_health_command(CLI::App& app, Context& ctx) {
  auto json = std::make_shared<bool>(false);
  auto require_worker = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("health", "Exit 0 when the backend answers, worker heartbeats are fresh and "
                                           "DATA_DIR is writable; 1 otherwise");
  sub->add_flag("--json", *json, "As JSON (the /healthz document)");
  sub->add_flag("--require-worker", *require_worker, "Unhealthy until some machine has sent a heartbeat");
  sub->callback([json, require_worker, &ctx] {
    ctx.action = [json, require_worker, &ctx] {
      // Docker HEALTHCHECK reads 0 healthy, 1 unhealthy (2 is reserved): every failure is 1.
      try {
        const auto& config = ctx.config();
        auto checks = monitor::check_health(ctx.store(), {config.data_dir, *require_worker});
        const bool ok = monitor::all_ok(checks);
        if (*json) {
          ctx.out << monitor::health_to_json(checks).dump(2) << "\n";
        } else {
          std::string line;
          for (const auto& c : checks) {
            if (!c.ok || ok) {
              // The backend first and unnamed keeps the line's start stable for scripts ("ok: sqlite:...").
              line += line.empty() && c.name == "backend" ? c.detail : (line.empty() ? "" : "; ") + c.name + ": " + c.detail;
            }
          }
          ctx.out << (ok ? "ok: " : "unhealthy: ") << line << "\n";
        }
        return ok ? 0 : 1;
      } catch (const std::exception& e) {
        ctx.out << "unhealthy: " << e.what() << "\n";
        return 1;
      }
    };
  });
}

void add_config_command(CLI::App& app, Context& ctx) {
  auto template_only = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("config", "Every setting with its value and source (secrets redacted)");
  sub->add_flag("--template", *template_only, "Print the .env.template text instead");
  sub->callback([template_only, &ctx] {
    ctx.action = [template_only, &ctx] {
      if (*template_only) {
        ctx.out << "# nfl-compute settings. Copy to .env and edit; the process environment wins over .env.\n"
                   "# Generated by `nfl-compute config --template`.\n";
        for (const auto& v : config_variables()) {
          ctx.out << fmt::format("\n# {}\n# Accepted: {}\n{}={}\n", v.meaning, v.accepted, v.name, v.default_text);
        }
        return 0;
      }
      const auto& env = ctx.raw_environment();
      for (const auto& v : config_variables()) {
        auto it = env.find(v.name);
        std::string value = it == env.end() ? v.default_text : it->second;
        if (is_secret(v.name) && !value.empty()) {
          value = "<redacted>";
        }
        ctx.out << fmt::format("{}={}  # {}\n", v.name, value, source_label(ctx.source_of(v.name)));
      }
      return 0;
    };
  });
}

void add_scoreboard_command(CLI::App& app, Context& ctx) {
  auto json = std::make_shared<bool>(false);
  auto* board = app.add_subcommand("scoreboard", "Per task type: count, success rate, median and p95 duration; "
                                                 "per machine: tasks done, CPU and GPU hours");
  board->add_flag("--json", *json, "As JSON");
  board->callback([json, &ctx] {
    ctx.action = [json, &ctx] {
      ctx.config();
      const auto score = monitor::compute_scoreboard(ctx.store());
      if (*json) {
        ctx.out << monitor::scoreboard_to_json(score).dump(2) << "\n";
      } else {
        ctx.out << monitor::render_scoreboard(score);
      }
      return 0;
    };
  });

  auto host = std::make_shared<std::string>("127.0.0.1");
  auto port = std::make_shared<int>(8050);
  auto* dash = app.add_subcommand("dashboard", "Serve the web dashboard, /metrics, /healthz and /api/ "
                                               "(127.0.0.1:8050; see docs/monitoring.md)");
  dash->add_option("--host", *host, "Address to listen on (non-loopback needs DASHBOARD_TOKEN)")
      ->capture_default_str();
  dash->add_option("--port", *port, "Port to listen on")->check(CLI::Range(1, 65535))->capture_default_str();
  dash->callback([host, port, &ctx] {
    ctx.action = [host, port, &ctx] {
      const auto& config = ctx.config();
      monitor::check_bind_allowed(*host, config.dashboard_token);
      monitor::ServerOptions options;
      options.host = *host;
      options.port = *port;
      options.token = config.dashboard_token;
      options.chartjs = std::string(analytics::eval::embedded_chartjs());
      options.data_dir = config.data_dir;
      options.sync_metrics = [state_dir = config.state_dir] {
        // Read on each scrape: the worker's sync thread (another process) writes it.
        auto state = sync::Syncer::read_state(state_dir);
        std::map<std::string, monitor::SyncMachineMetrics> rows;
        Millis now = system_clock()->now_ms();
        for (const auto& [id, peer] : state.peers) {
          auto& row = rows[id];
          row.machine_id = id;
          row.conflicts = static_cast<std::uint64_t>(peer.conflicts);
          if (peer.observed_at_ms > 0) {
            row.last_snapshot_age_seconds = static_cast<double>(now - peer.observed_at_ms) / 1000.0;
          }
        }
        for (const auto& file : state.skipped) {
          auto name = sync::parse_snapshot_name(file.file);
          std::string id = name ? name->machine_id : std::string("unknown");
          rows[id].machine_id = id;
          ++rows[id].skipped_files;
        }
        std::vector<monitor::SyncMachineMetrics> out;
        for (auto& [id, row] : rows) {
          out.push_back(row);
        }
        return out;
      };
      monitor::DashboardServer server(ctx.store(), options);
      server.bind();
      ctx.err << fmt::format("nfl-compute: dashboard on http://{}:{}/ ({}; Ctrl-C stops)\n",
                             host->find(':') != std::string::npos ? "[" + *host + "]" : *host, server.port(),
                             config.dashboard_token.empty() ? "read-only: DASHBOARD_TOKEN not set"
                                                            : "actions need DASHBOARD_TOKEN");
      monitor::serve_until_signal(server);
      return 0;
    };
  });
}

} // namespace nfl::cli
