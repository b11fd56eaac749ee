#pragma once
// Computed results that the store has not accepted yet, or whose result record is
// not written yet, kept under STATE_DIR/spool/ so that a store outage, a full or
// read-only DATA_DIR or a crash never loses them. Each worker process appends to its
// own file (<machine_id>_<pid>_<rand>.jsonl, held with an flock): every result is
// noted (one write(2), no fsync: a killed process loses nothing) before its first
// delivery, written again durably (group-committed, fsynced) when that delivery
// failed, and a `done` marker follows once the store answered and the record is
// written. Files left by a dead process (no lock held) are adopted at start-up.
#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "model/task.hpp"
#include "worker/group_commit.hpp"

namespace nfl {

class Spool {
public:
  // Creates the folder and this process's file. Throws std::system_error.
  Spool(std::filesystem::path dir, const std::string& machine_id);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Undelivered entries of dead processes' files (which are then removed; their
  // entries move into this process's file first, so a crash here loses nothing).
  std::vector<Json> adopt_orphans();

  // Durably records `entry` (needs a unique "key"). Throws std::system_error.
  void put(const Json& entry);
  // Records `entry` with one write(2) and no fsync: enough for a process that is
  // killed (the page cache keeps it), not for an OS crash. Throws std::system_error.
  void note(const Json& entry);
  // The store answered for `key`: the entry no longer needs delivering (a no-op for
  // a key that was never put).
  void done(const std::string& key);
  std::size_t outstanding() const;
  const std::filesystem::path& file() const { return m_path; }

private:
  void compact_if_large();

  std::filesystem::path m_dir;
  std::filesystem::path m_path;
  int m_lock_fd = -1;
  GroupCommit m_commit;
  mutable std::shared_mutex m_file_mutex; // shared: appends; exclusive: truncation
  mutable std::mutex m_mutex;
  std::map<std::string, std::string> m_outstanding; // key -> its line, rewritten by compaction
};

} // namespace nfl
