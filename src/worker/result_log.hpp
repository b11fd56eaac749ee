#pragma once
// Completed tasks' result records under DATA_DIR/results/year=YYYY/month=MM/, as
// append-only JSON Lines segments, one per worker run and month
// (<machine_id>_<run>[_<n>].jsonl, a new segment every 64 MiB). Writers group-commit
// (one write and one fsync per batch of records). A crash can tear only the last
// line of a segment; readers skip lines that do not parse. See docs/worker.md.
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "model/task.hpp"
#include "worker/group_commit.hpp"

namespace nfl {

inline constexpr std::uintmax_t k_result_segment_bytes = 64u << 20;

// A record: {"task_id","task_type","name","queue","machine_id","attempt","finished_at",
// "finished_at_ms","result","accounting":{"wall_seconds","cpu_seconds","gpu_seconds"}}.
class ResultLog {
public:
  ResultLog(std::filesystem::path data_dir, std::string machine_id);

  // Appends `record` (needs "finished_at_ms") and returns once it is on disk.
  // Throws std::system_error on I/O failure.
  void append(const Json& record);

private:
  std::filesystem::path segment_for(Millis finished_at_ms, std::size_t bytes);

  std::filesystem::path m_data_dir;
  std::string m_machine_id;
  std::string m_run_id;
  GroupCommit m_commit;
  std::mutex m_mutex;
  struct Segment {
    int index = 0;
    std::uintmax_t bytes = 0;
  };
  std::map<std::string, Segment> m_segments; // by month folder
};

// DATA_DIR/results/year=YYYY/month=MM for a record finished at `ms` (UTC).
std::filesystem::path result_month_dir(const std::filesystem::path& data_dir, Millis ms);

// Finds the record for `task_id` (in segments, or in a one-file-per-task
// <task_id>.json). With `finished_at_ms` that month is searched first. The newest
// record wins; torn or foreign lines are skipped.
std::optional<Json> find_result_record(const std::filesystem::path& data_dir, const std::string& task_id,
                                       std::optional<Millis> finished_at_ms = std::nullopt);

} // namespace nfl
