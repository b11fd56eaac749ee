#include "sync/merge_files.hpp"

#include <fmt/format.h>

namespace nfl::sync {

MergeFilesStats merge_snapshot_files(const std::vector<std::filesystem::path>& inputs,
                                     const std::filesystem::path& output, SnapshotHeader header,
                                     const SnapshotLimits& limits) {
  struct Input {
    SnapshotReader reader;
    Record head;
    bool has = false;
  };
  std::vector<Input> in;
  in.reserve(inputs.size());
  for (const auto& path : inputs) {
    try {
      in.push_back(Input{SnapshotReader::open(path, limits), {}, false});
    } catch (const SnapshotError& e) {
      throw SnapshotError(fmt::format("{}: {}", path.filename().string(), e.what()));
    }
    in.back().has = in.back().reader.next(in.back().head);
  }
  MergeFilesStats stats;
  header.replica = false;
  SnapshotWriter out(header);
  while (true) {
    const std::string* next = nullptr;
    for (const auto& i : in) {
      if (i.has && (!next || i.head.id < *next)) {
        next = &i.head.id;
      }
    }
    if (!next) {
      break;
    }
    std::string id = *next;
    Record merged;
    bool first = true;
    for (auto& i : in) {
      if (i.has && i.head.id == id) {
        ++stats.records_in;
        if (first) {
          merged = std::move(i.head);
          first = false;
        } else {
          auto o = merge_into(merged, i.head);
          stats.conflicts += o.conflict ? 1 : 0;
          stats.duplicates += o.new_duplicates;
        }
        i.has = i.reader.next(i.head);
      }
    }
    merged.local = {};
    out.add(merged);
    ++stats.records_out;
  }
  stats.bytes_out = out.commit(output);
  return stats;
}

} // namespace nfl::sync
