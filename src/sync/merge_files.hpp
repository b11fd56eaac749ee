#pragma once
// Merges snapshot files into one without a store: the streaming merge-join at the heart
// of a sync round, usable on its own (benchmarks, offline repair, `sync` tooling).
// Memory stays bounded by one record per input plus the compressed output.
#include <filesystem>
#include <vector>

#include "sync/snapshot.hpp"

namespace nfl::sync {

struct MergeFilesStats {
  std::uint64_t records_in = 0;
  std::uint64_t records_out = 0;
  std::uint64_t conflicts = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t bytes_out = 0;
};

// Every input is verified first (SnapshotError names the bad one). `header` describes
// the output (its machine id, stamp).
MergeFilesStats merge_snapshot_files(const std::vector<std::filesystem::path>& inputs,
                                     const std::filesystem::path& output, SnapshotHeader header,
                                     const SnapshotLimits& limits = {});

} // namespace nfl::sync
