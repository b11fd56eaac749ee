// `nfl-compute sync` (one round now), `sync --status [--json]`, `sync --export FILE`.
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "cli/context.hpp"
#include "cli/sync_setup.hpp"
#include "sync/sync_status.hpp"
#include "util/error.hpp"

namespace nfl::cli {

sync::SyncOptions sync_options_from(Context& ctx) {
  const Config& config = ctx.config();
  const auto& id = ctx.identity();
  sync::SyncOptions o;
  o.machine_id = id.machine_id;
  o.queues = id.queues;
  o.data_dir = config.data_dir;
  o.state_dir = config.state_dir;
  o.takeover_ms = takeover_ms(config);
  return o;
}

Millis takeover_ms(const Config& config) {
  return 1000LL * (config.sync_takeover_s > 0 ? config.sync_takeover_s : 3LL * config.sync_interval_s);
}

Json sync_document(const Config& config) {
  return sync::sync_status_document(sync::Syncer::read_state(config.state_dir), system_clock()->now_ms(),
                                    takeover_ms(config), config.sync_enabled);
}

std::string render_sync(const Json& doc, bool colour) {
  std::string out = fmt::format("Sync ({}; {} rounds; takeover after {}s of silence)\n",
                                doc["enabled"].get<bool>() ? "on" : "off", doc["rounds"].get<std::int64_t>(),
                                doc["takeover_seconds"].get<std::int64_t>());
  if (doc["machines"].empty()) {
    out += "  no other machine's snapshot seen yet\n";
  } else {
    out += fmt::format("  {:<16} {:<6} {:>10} {:>9} {:>10}  {}\n", "machine", "state", "heard", "conflicts",
                       "duplicates", "last snapshot");
    for (const auto& m : doc["machines"]) {
      Millis ago = m["last_heard_ms_ago"].get<Millis>();
      bool live = m["live"].get<bool>();
      out += fmt::format("  {:<16} {:<6} {:>10} {:>9} {:>10}  {}\n", m["machine_id"].get<std::string>(),
                         colourise(colour, live ? "32" : "33", live ? "live" : "stale"),
                         ago < 0 ? std::string("never") : format_age(ago), m["conflicts_detected"].get<std::int64_t>(),
                         m["duplicates"].get<std::int64_t>(), m["last_snapshot"].get<std::string>());
    }
  }
  for (const auto& f : doc["skipped_files"]) {
    out += fmt::format("  {} {}: {}\n", colourise(colour, "33", "skipped"), f["file"].get<std::string>(),
                       f["reason"].get<std::string>());
  }
  return out;
}

void add_sync_command(CLI::App& app, Context& ctx) {
  struct Options {
    bool status = false;
    bool json = false;
    std::string export_path;
  };
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("sync", "Snapshot this machine's store to DATA_DIR/machine_dumps and merge the others'");
  sub->add_flag("--status", o->status, "Show what sync has seen: machines, snapshot ages, conflicts, skipped files");
  sub->add_flag("--json", o->json, "With --status: print the document as JSON");
  sub->add_option("--export", o->export_path,
                  "Write every task's canonical state, one JSON line per task sorted by id ('-' for stdout): "
                  "machines that have converged write identical files");
  sub->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      const Config& config = ctx.config();
      if (o->json && !o->status) {
        throw InputError("--json: only with --status");
      }
      if (o->status) {
        Json doc = sync_document(config);
        ctx.out << (o->json ? doc.dump(2) + "\n" : render_sync(doc, ctx.colour()));
        return 0;
      }
      if (!o->export_path.empty()) {
        std::string text = sync::export_canonical(ctx.store());
        if (o->export_path == "-") {
          ctx.out << text;
        } else {
          std::ofstream file(o->export_path, std::ios::binary | std::ios::trunc);
          if (!file || !(file << text) || !file.flush()) {
            throw InputError(fmt::format("--export: cannot write '{}'", o->export_path));
          }
        }
        return 0;
      }
      auto report = sync::Syncer(ctx.store(), sync_options_from(ctx)).run_once();
      ctx.out << fmt::format("sync: {} local changes, {} snapshots merged, {} tasks installed ({} left for next round), "
                             "{} conflicts resolved, {} duplicates recorded\n",
                             report.local_changes, report.snapshots_merged, report.imported, report.import_skipped,
                             report.conflicts, report.duplicates);
      for (const auto& f : report.skipped) {
        ctx.out << fmt::format("sync: skipped {}: {}\n", f.file, f.reason);
      }
      ctx.out << fmt::format("sync: wrote machine_dumps/{} ({} tasks, {} bytes) in {:.2f}s\n", report.snapshot_file,
                             report.records, report.snapshot_bytes, report.seconds);
      return 0;
    };
  });
}

} // namespace nfl::cli
