#pragma once
// One task as folder sync sees it: a state-based CRDT (a join semilattice) so that
// machines that have merged the same snapshots hold the same record, whatever the
// order, however often. Two parts, each a semilattice, joined component-wise:
//   - last-writer-wins state, ordered by (user_version, version, origin, state): user
//     actions (submit, cancel, requeue) carry their own stamp so they beat any worker
//     change made without knowledge of them;
//   - the set of completions (stamp, machine, state): a completed task stays completed,
//     the earliest completion is canonical, later ones are kept as recorded duplicates.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/task.hpp"
#include "sync/hlc.hpp"

namespace nfl::sync {

struct Completion {
  Hlc at;
  std::string machine_id;
  std::string state; // canonical task JSON as completed there
  std::uint64_t digest = 0;
};

struct Record {
  std::string id;
  Hlc user_version; // last submit / cancel / requeue
  Hlc version;      // last change of any kind
  Hlc based_on;     // the version that change replaced: tells successors from concurrent edits
  std::string origin;
  // The machine that should run the task while it lives, chosen once by the machine
  // that first published it (rendezvous over the machines it knew to be live) and
  // replicated with the record, so every machine agrees whatever its own view of
  // who is alive. Empty: decide by rendezvous over the live machines.
  std::string assigned;
  std::string state; // canonical task JSON (task_state_json)
  std::uint64_t digest = 0;
  std::vector<Completion> completions; // sorted by (at, machine_id), unique

  // Local bookkeeping, kept in this machine's replica file and never published: what
  // the local store held when sync last looked, so a difference is a local change.
  struct Local {
    std::uint64_t applied_digest = 0; // 0: the local store does not have the task yet
    Hlc applied_version;              // the LWW stamps of the state the local store reflects
    Hlc applied_user_version;
    int applied_status = -1; // TaskStatus, -1 none
  } local;
};

// The state every machine acts on: the canonical completion's if any, else the LWW state.
const std::string& effective_state(const Record& r);
std::uint64_t effective_digest(const Record& r);
bool is_completed(const Record& r);
std::size_t duplicate_count(const Record& r); // completions beyond the canonical one

struct MergeOutcome {
  bool changed = false;       // the published part of `local` changed
  bool conflict = false;      // concurrent edits with different states met
  std::size_t new_duplicates = 0;
};

// Joins `remote` into `local` (same id). Commutative, associative, idempotent on the
// published fields; local bookkeeping fields of `local` are kept.
MergeOutcome merge_into(Record& local, const Record& remote);

// The canonical JSON a record carries for a task: task_to_json without the fields
// that only mean something on the machine that set them (lease expiry, retry time).
std::string task_state_json(const Task& t);
std::uint64_t state_digest(std::string_view state);

} // namespace nfl::sync
