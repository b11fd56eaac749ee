#include "worker/group_commit.hpp"

#include <map>
#include <system_error>

#include "util/fs.hpp"

namespace nfl {

void GroupCommit::append(const std::filesystem::path& path, std::string line) {
  std::unique_lock lock(m_mutex);
  const std::uint64_t mine = ++m_enqueued;
  m_queue.push_back({path, std::move(line)});
  while (m_durable < mine) {
    if (m_writing) {
      m_cv.wait(lock);
      continue;
    }
    m_writing = true;
    std::vector<Pending> batch;
    batch.swap(m_queue);
    const std::uint64_t first = m_durable + 1;
    const std::uint64_t last = m_enqueued;
    lock.unlock();
    std::string error;
    try {
      std::map<std::filesystem::path, std::string> by_file;
      for (auto& p : batch) {
        by_file[p.path] += p.line;
      }
      for (const auto& [file, text] : by_file) {
        append_file_durable(file, text);
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    m_writing = false;
    m_durable = last;
    if (!error.empty()) {
      m_failures.push_back({first, last, error});
      if (m_failures.size() > 16) {
        m_failures.erase(m_failures.begin());
      }
    }
    m_cv.notify_all();
  }
  for (const auto& f : m_failures) {
    if (mine >= f.first && mine <= f.last) {
      throw std::system_error(std::make_error_code(std::errc::io_error), f.what);
    }
  }
}

} // namespace nfl
