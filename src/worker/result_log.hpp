#pragma once
// Completed tasks' result records under DATA_DIR/results/year=YYYY/month=MM/, as
// append-only JSON Lines segments, one per worker run and month
// (<machine_id>_<run>[_<n>].jsonl, a new segment every 64 MiB). append() writes the
// line at once (one write(2), so a killed process loses nothing); a flusher thread
// fdatasyncs dirty segments every `sync_interval` (group commit off the tasks'
// critical path), so an OS crash or power loss can lose at most the records appended
// in the last interval (the store holds those results). A crash can tear only the
// last line of a segment (every run starts new segments); readers skip lines that do
// not parse. See docs/worker.md.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "model/task.hpp"

namespace nfl {

inline constexpr std::uintmax_t k_result_segment_bytes = 64u << 20;
inline constexpr std::chrono::milliseconds k_result_sync_interval{5};

// A record: {"task_id","task_type","name","queue","machine_id","attempt","finished_at",
// "finished_at_ms","result","accounting":{"wall_seconds","cpu_seconds","gpu_seconds"}}.
class ResultLog {
public:
  ResultLog(std::filesystem::path data_dir, std::string machine_id,
            std::chrono::milliseconds sync_interval = k_result_sync_interval);
  // Syncs and closes every segment.
  ~ResultLog();
  ResultLog(const ResultLog&) = delete;
  ResultLog& operator=(const ResultLog&) = delete;

  // Appends `record` (needs "finished_at_ms") with one write; it is durable within
  // the sync interval (or after flush()). Throws std::system_error on I/O failure,
  // after cutting a partial write back off so that no torn line stays mid-file.
  void append(const Json& record);

  // Returns once everything appended so far is on disk.
  void flush();

private:
  struct Segment {
    int index = 0;
    std::uintmax_t bytes = 0;
    int fd = -1;
    bool dirty = false;
  };
  Segment& segment_for(const std::filesystem::path& dir, std::size_t bytes); // m_mutex held
  void flusher_loop();
  void sync_dirty(std::unique_lock<std::mutex>& lock);

  std::filesystem::path m_data_dir;
  std::string m_machine_id;
  std::string m_run_id;
  std::chrono::milliseconds m_sync_interval;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::map<std::string, Segment> m_segments; // by month folder
  std::vector<int> m_retired;                // rotated segments' fds, synced then closed by the flusher
  std::uint64_t m_appended = 0;              // records written
  std::uint64_t m_synced = 0;                // records known durable
  bool m_syncing = false;
  bool m_exit = false;
  std::thread m_flusher;
};

// DATA_DIR/results/year=YYYY/month=MM for a record finished at `ms` (UTC).
std::filesystem::path result_month_dir(const std::filesystem::path& data_dir, Millis ms);

// Finds the record for `task_id` (in segments, or in a one-file-per-task
// <task_id>.json). With `finished_at_ms` that month is searched first. The newest
// record wins; torn or foreign lines are skipped.
std::optional<Json> find_result_record(const std::filesystem::path& data_dir, const std::string& task_id,
                                       std::optional<Millis> finished_at_ms = std::nullopt);

} // namespace nfl
