#include "sync/sync_status.hpp"

namespace nfl::sync {

Json sync_status_document(const SyncState& state, Millis now_ms, Millis takeover_ms, bool enabled) {
  Json machines = Json::array();
  for (const auto& [id, p] : state.peers) {
    Millis silent = p.observed_at_ms > 0 ? now_ms - p.observed_at_ms : -1;
    machines.push_back({{"machine_id", id},
                        {"last_snapshot", p.last_file},
                        {"snapshot_created_unix_ms", p.last_created_unix_ms},
                        {"last_heard_ms_ago", silent},
                        {"live", silent >= 0 && silent <= takeover_ms},
                        {"records", p.records},
                        {"conflicts_detected", p.conflicts},
                        {"conflicts_resolved", p.conflicts},
                        {"duplicates", p.duplicates}});
  }
  Json skipped = Json::array();
  for (const auto& f : state.skipped) {
    skipped.push_back({{"file", f.file}, {"reason", f.reason}, {"size", f.size}, {"at_ms", f.at_ms}});
  }
  return Json{{"enabled", enabled},
              {"rounds", state.rounds},
              {"last_round_ms_ago", state.last_round_ms > 0 ? now_ms - state.last_round_ms : -1},
              {"last_round", state.last_round},
              {"takeover_seconds", takeover_ms / 1000},
              {"conflicts_total", state.conflicts_total},
              {"duplicates_total", state.duplicates_total},
              {"parked_tasks", state.parked.size()},
              {"machines", machines},
              {"skipped_files", skipped}};
}

} // namespace nfl::sync
