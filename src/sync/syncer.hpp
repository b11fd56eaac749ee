#pragma once
// One sync round between this machine's store and the shared folder (docs/sync.md):
//   1. note local changes: every task whose state differs from what sync last saw
//      becomes a stamped record (submit/cancel/requeue also stamp the user version);
//   2. merge the newest valid snapshot of every other machine (a streaming merge-join
//      by task id of the replica, the snapshots and the store's export);
//   3. install merged states that differ locally (compare-and-set, so a concurrent
//      local worker always wins the race) and park pending tasks that another live
//      machine owns (rendezvous hashing), taking over those of dead machines;
//   4. publish: BGSAVE/checkpoint the store, write this machine's snapshot atomically,
//      keep its newest 10, update sync_metadata.
// Rounds are serialised across processes by a lock file in STATE_DIR/sync/.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/task_store.hpp"
#include "sync/hlc.hpp"
#include "sync/snapshot.hpp"

namespace nfl::sync {

struct SyncOptions {
  std::string machine_id;
  std::vector<std::string> queues; // what this machine serves, for ownership
  std::filesystem::path data_dir;  // shared: machine_dumps/, sync_metadata/
  std::filesystem::path state_dir; // private: sync/replica.snap, sync/state.json
  // A machine whose snapshots stop changing for this long is dead: others take over
  // its pending and running tasks (SYNC_TAKEOVER_SECONDS).
  Millis takeover_ms = 900'000;
  std::size_t keep_snapshots = 10;
  std::size_t import_batch = 500;
  SnapshotLimits limits;
  std::shared_ptr<Clock> clock = system_clock();
};

struct SkippedFile {
  std::string file;
  std::string reason;
  std::uint64_t size = 0;
  Millis at_ms = 0;
};

struct PeerState {
  std::string machine_id;
  std::string last_file;         // newest valid snapshot merged
  Hlc last_created;              // its creation stamp
  Millis last_created_unix_ms = 0; // its creation time by that machine's clock
  Hlc heartbeat;                 // newest stamp seen for the machine, direct or relayed
  Millis observed_at_ms = 0;     // this machine's clock when that stamp was first seen
  std::int64_t conflicts = 0;    // concurrent edits met merging its snapshots (all resolved)
  std::int64_t duplicates = 0;   // completions of a task already completed elsewhere
  std::uint64_t records = 0;
};

struct SyncRoundReport {
  std::size_t local_changes = 0;
  std::size_t snapshots_merged = 0;
  std::size_t imported = 0;
  std::size_t import_skipped = 0; // changed locally meanwhile: retried next round
  std::size_t parked = 0;
  std::size_t unparked = 0;
  std::size_t conflicts = 0;
  std::size_t duplicates = 0;
  std::vector<SkippedFile> skipped; // newly seen bad files
  std::string snapshot_file;
  std::uint64_t snapshot_bytes = 0;
  std::uint64_t records = 0;
  double seconds = 0.0;
};

struct SyncState {
  Hlc hlc;
  std::map<std::string, PeerState> peers;
  std::vector<SkippedFile> skipped; // most recent last, bounded
  std::map<std::string, Millis> parked; // task id -> until (pending parked, or remote lease end)
  std::int64_t rounds = 0;
  std::int64_t conflicts_total = 0;
  std::int64_t duplicates_total = 0;
  Millis last_round_ms = 0;
  Json last_round = Json::object();
};

Json to_json(const SyncState& s);
SyncState sync_state_from_json(const Json& j);
Json to_json(const SyncRoundReport& r);

class Syncer {
public:
  Syncer(TaskStore& store, SyncOptions options);

  SyncRoundReport run_once();

  // The persisted state (peers, skipped files, totals); empty state before any round.
  static SyncState read_state(const std::filesystem::path& state_dir);

private:
  TaskStore& m_store;
  SyncOptions m_options;
};

// Every task's canonical state, one JSON object per line, sorted by id: what "machines
// hold the same state" means (local-only fields such as lease expiry excluded).
std::string export_canonical(TaskStore& store);

} // namespace nfl::sync
