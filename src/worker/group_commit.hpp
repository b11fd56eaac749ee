#pragma once
// Appends lines to files so that concurrent writers share fsyncs: the first caller
// in becomes the leader and writes everything queued so far (one write and one
// fsync per file per batch); the others wait until their line is durable.
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace nfl {

class GroupCommit {
public:
  // Returns once `line` (which must end with '\n') is on disk in `path`.
  // Throws std::system_error if the batch holding it could not be written.
  void append(const std::filesystem::path& path, std::string line);

private:
  struct Pending {
    std::filesystem::path path;
    std::string line;
  };
  struct Failure {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::string what;
  };

  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::vector<Pending> m_queue;
  std::uint64_t m_enqueued = 0;
  std::uint64_t m_durable = 0;
  bool m_writing = false;
  std::vector<Failure> m_failures; // recent failed batches (a few)
};

} // namespace nfl
