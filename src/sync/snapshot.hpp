#pragma once
// Snapshot files: what one machine publishes to DATA_DIR/machine_dumps/ and keeps as
// its own replica in STATE_DIR/sync/. Layout (docs/sync.md):
//   "NFLSNAP1" | u32 header length | header JSON | blocks... | trailer
//   block   = u32 raw length | u32 compressed length | zstd frame of encoded records
//   trailer = u64 record count | u64 XXH3-64 of every byte before the trailer | "NFLSEND1"
// Records are sorted by task id (bytewise), so merging is a streaming merge-join.
// A reader verifies the trailer and checksum before it hands out a single record: a
// truncated, half-uploaded or corrupted file is rejected whole, never half-merged.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store/task_store.hpp"
#include "sync/record.hpp"

namespace nfl::sync {

inline constexpr int k_snapshot_format = 1;
inline constexpr std::string_view k_snapshot_extension = ".snap";

// Why a snapshot was refused. The sync logs it once and skips the file.
class SnapshotError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct MachineEntry {
  MachineInfo info; // as the machine itself last reported it
  Hlc stamp;        // when it reported it (that machine's clock)
};

struct SnapshotHeader {
  int format = k_snapshot_format;
  std::string machine_id;
  Hlc created;
  Millis created_unix_ms = 0;
  bool replica = false; // a machine's private replica file (local bookkeeping included)
  std::vector<MachineEntry> machines;
  std::uint64_t record_count = 0; // from the trailer
};

struct SnapshotLimits {
  std::uint64_t max_file_bytes = 8ULL << 30;
  std::uint32_t max_block_bytes = 64U << 20;
  std::uint32_t max_header_bytes = 16U << 20;
  std::uint32_t max_completions = 1000;
};

class SnapshotWriter {
public:
  explicit SnapshotWriter(SnapshotHeader header);
  // Records must come in strictly increasing id order.
  void add(const Record& r);
  // Writes the file atomically (hidden temp name, fsync, rename). Returns its size.
  std::uint64_t commit(const std::filesystem::path& path);
  // The file's bytes, for tests that corrupt them.
  std::string finish_bytes();

private:
  void flush_block();

  SnapshotHeader m_header;
  std::string m_out;
  std::string m_block;
  std::string m_last_id;
  std::uint64_t m_records = 0;
  bool m_any = false;
};

class SnapshotReader {
public:
  // Reads and verifies the whole file. Throws SnapshotError naming the reason.
  static SnapshotReader open(const std::filesystem::path& path, const SnapshotLimits& limits = {});
  static SnapshotReader from_bytes(std::string bytes, const SnapshotLimits& limits = {});

  const SnapshotHeader& header() const { return m_header; }
  // The next record in id order; false at the end. Throws SnapshotError on a malformed
  // record (only possible for a file whose checksum matched: a writer bug).
  bool next(Record& out);

private:
  SnapshotReader() = default;
  bool load_block();

  std::string m_bytes;
  SnapshotLimits m_limits;
  SnapshotHeader m_header;
  std::size_t m_pos = 0;         // next block in m_bytes
  std::size_t m_blocks_end = 0;  // where the trailer starts
  std::string m_block;
  std::size_t m_block_pos = 0;
  std::uint64_t m_read = 0;
  std::string m_last_id;
};

// A file name in machine_dumps/, including the copies sync tools make on conflicts:
//   alpha_1700000000.snap
//   alpha_1700000000 (1).snap                       (Google Drive, Dropbox)
//   alpha_1700000000 (Bob's conflicted copy 2026-11-28).snap   (Dropbox)
//   alpha_1700000000.sync-conflict-20261128-101500-ABCDEFG.snap (Syncthing)
struct SnapshotName {
  std::string machine_id;
  std::int64_t unix_ts = 0;
  bool conflict_copy = false;
};
std::optional<SnapshotName> parse_snapshot_name(std::string_view filename);
std::string snapshot_file_name(std::string_view machine_id, std::int64_t unix_ts);

} // namespace nfl::sync
