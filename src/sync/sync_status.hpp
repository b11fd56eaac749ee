#pragma once
// What `sync --status` and `status` show about folder sync: per other machine the last
// snapshot seen, its age, whether the machine counts as live, conflicts and duplicates;
// the files skipped and why. One JSON document (stable for scripts), rendered by the CLI.
#include "model/task.hpp"
#include "sync/syncer.hpp"

namespace nfl::sync {

Json sync_status_document(const SyncState& state, Millis now_ms, Millis takeover_ms, bool enabled);

} // namespace nfl::sync
