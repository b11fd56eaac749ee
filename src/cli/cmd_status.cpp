// `nfl-compute status [--json] [--watch]` (and the seed's `--status`).
#include <chrono>
#include <thread>

#include "cli/context.hpp"
#include "cli/status_view.hpp"
#include "cli/sync_setup.hpp"
#include "util/error.hpp"

namespace nfl::cli {

namespace {

// Failed counts per queue come from the failed tasks themselves; past this many we
// skip the breakdown rather than make status slow.
constexpr std::int64_t k_failed_breakdown_limit = 10'000;

Json current_document(Context& ctx) {
  auto& store = ctx.store();
  auto status = store.status();
  std::map<std::string, std::int64_t> failed_by_queue;
  auto failed = status.counts.contains("failed") ? status.counts.at("failed") : 0;
  if (failed > 0 && failed <= k_failed_breakdown_limit) {
    TaskFilter filter;
    filter.status = TaskStatus::failed;
    filter.limit = static_cast<std::size_t>(failed);
    for (const auto& t : store.list(filter)) {
      ++failed_by_queue[t.queue];
    }
  }
  Json doc = status_document(status, failed_by_queue, store.describe(), system_clock()->now_ms());
  const Config& config = ctx.config();
  if (config.sync_enabled || std::filesystem::exists(config.state_dir / "sync" / "state.json")) {
    doc["sync"] = sync_document(config);
  }
  return doc;
}

} // namespace

void add_status_command(CLI::App& app, Context& ctx) {
  struct Options {
    bool json = false;
    bool watch = false;
    double interval = 2.0;
  };
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("status", "Queues, task counts, machines, running tasks, throughput");
  sub->add_flag("--json", o->json, "Print the status document (stable contract, docs/cli.md)");
  sub->add_flag("--watch", o->watch, "Refresh until interrupted");
  sub->add_option("--interval", o->interval, "Seconds between refreshes with --watch (default 2)")
      ->check(CLI::Range(0.2, 3600.0));
  sub->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      ctx.config();
      for (;;) {
        auto doc = current_document(ctx);
        if (o->json) {
          ctx.out << doc.dump(o->watch ? -1 : 2) << "\n";
        } else {
          if (o->watch && ctx.colour()) {
            ctx.out << "\x1b[H\x1b[2J"; // home and clear: refresh in place on a terminal
          }
          ctx.out << render_status(doc, ctx.colour());
          if (doc.contains("sync")) {
            ctx.out << "\n" << render_sync(doc["sync"], ctx.colour());
          }
        }
        ctx.out.flush();
        if (!o->watch) {
          return 0;
        }
        // A refresh period for a person watching, not a synchronisation.
        std::this_thread::sleep_for(std::chrono::duration<double>(o->interval));
        if (!ctx.colour() && !o->json) {
          ctx.out << "\n";
        }
      }
    };
  });
}

} // namespace nfl::cli
