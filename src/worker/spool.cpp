#include "worker/spool.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "util/ids.hpp"

namespace nfl {
namespace {

constexpr std::uintmax_t k_compact_bytes = 1u << 20;

std::string safe_name(const std::string& machine_id) {
  return id_problem(machine_id).empty() ? machine_id : "worker";
}

} // namespace

Spool::Spool(std::filesystem::path dir, const std::string& machine_id) : m_dir(std::move(dir)) {
  std::filesystem::create_directories(m_dir);
  m_path = m_dir / (safe_name(machine_id) + "_" + std::to_string(::getpid()) + "_" + random_hex(6) + ".jsonl");
  m_lock_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (m_lock_fd < 0) {
    throw std::system_error(errno, std::generic_category(), "open spool " + m_path.string());
  }
  if (::flock(m_lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    ::close(m_lock_fd);
    throw std::system_error(saved, std::generic_category(), "lock spool " + m_path.string());
  }
}

Spool::~Spool() {
  std::unique_lock file_lock(m_file_mutex);
  bool empty;
  {
    std::lock_guard lock(m_mutex);
    empty = m_outstanding.empty();
  }
  // A clean exit with nothing outstanding leaves no file behind.
  if (empty) {
    std::error_code ec;
    std::filesystem::remove(m_path, ec);
  }
  ::close(m_lock_fd);
}

std::vector<Json> Spool::adopt_orphans() {
  std::vector<Json> adopted;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(m_dir, ec)) {
    const auto& p = entry.path();
    if (p == m_path || p.extension() != ".jsonl" || !entry.is_regular_file()) {
      continue;
    }
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd); // a live worker's spool
      continue;
    }
    struct stat opened{};
    struct stat named{};
    if (::fstat(fd, &opened) != 0 || ::stat(p.c_str(), &named) != 0 || opened.st_ino != named.st_ino) {
      ::close(fd); // its live owner compacted it (a new file under the same name) meanwhile
      continue;
    }
    std::map<std::string, Json> entries;
    std::vector<std::string> order;
    std::ifstream in(p, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      try {
        auto j = Json::parse(line);
        if (j.contains("done")) {
          entries.erase(j["done"].get<std::string>());
        } else if (j.contains("key")) {
          auto key = j["key"].get<std::string>();
          if (!entries.count(key)) {
            order.push_back(key);
          }
          entries[key] = std::move(j);
        }
      } catch (const std::exception&) {
        // a torn last line: its entry was never acknowledged as spooled
      }
    }
    for (const auto& key : order) {
      if (auto it = entries.find(key); it != entries.end()) {
        put(it->second);
        adopted.push_back(std::move(it->second));
        entries.erase(it);
      }
    }
    std::filesystem::remove(p, ec);
    ::close(fd);
    if (!adopted.empty()) {
      spdlog::info("spool: adopted {} undelivered results from {}", adopted.size(), p.string());
    }
  }
  return adopted;
}

void Spool::put(const Json& entry) {
  auto key = entry.at("key").get<std::string>();
  std::string line = entry.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  {
    std::lock_guard lock(m_mutex);
    m_outstanding[key] = line;
  }
  std::shared_lock file_lock(m_file_mutex);
  m_commit.append(m_path, std::move(line));
}

void Spool::note(const Json& entry) {
  auto key = entry.at("key").get<std::string>();
  std::string line = entry.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  std::shared_lock file_lock(m_file_mutex);
  // One write(2) on an O_APPEND file: the line goes in whole or (crash mid-write) torn
  // at the end, which adoption skips.
  auto n = ::write(m_lock_fd, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    throw std::system_error(n < 0 ? errno : EIO, std::generic_category(), "note in spool " + m_path.string());
  }
  std::lock_guard lock(m_mutex);
  m_outstanding[key] = std::move(line);
}

void Spool::done(const std::string& key) {
  {
    std::lock_guard lock(m_mutex);
    if (!m_outstanding.count(key)) {
      return; // never spooled (delivered on the first try): nothing to mark
    }
  }
  {
    std::shared_lock file_lock(m_file_mutex);
    // Not fsynced: a lost marker only means one redundant delivery after a crash,
    // which the store rejects (fencing token) and the worker recognises.
    std::string line = Json{{"done", key}}.dump() + "\n";
    [[maybe_unused]] auto n = ::write(m_lock_fd, line.data(), line.size());
  }
  {
    std::lock_guard lock(m_mutex);
    m_outstanding.erase(key);
  }
  compact_if_large();
}

std::size_t Spool::outstanding() const {
  std::lock_guard lock(m_mutex);
  return m_outstanding.size();
}

// Every result is noted, so a busy worker always has some outstanding: the file is
// compacted by writing the outstanding entries to a new file, locked before it
// replaces the old one under its name (a crash at any point leaves one complete file).
void Spool::compact_if_large() {
  std::error_code ec;
  if (std::filesystem::file_size(m_path, ec) < k_compact_bytes) {
    return;
  }
  std::unique_lock file_lock(m_file_mutex);
  std::lock_guard lock(m_mutex);
  if (m_outstanding.empty()) {
    if (::ftruncate(m_lock_fd, 0) == 0) {
      ::fsync(m_lock_fd);
    }
    return;
  }
  auto tmp = m_path;
  tmp += ".compact";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return; // keep appending to the old file; compaction is only about its size
  }
  std::string text;
  for (const auto& [key, line] : m_outstanding) {
    text += line;
  }
  bool ok = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  for (std::size_t done = 0; ok && done < text.size();) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    ok = n > 0;
    done += ok ? static_cast<std::size_t>(n) : 0;
  }
  ok = ok && ::fsync(fd) == 0 && ::rename(tmp.c_str(), m_path.c_str()) == 0;
  if (!ok) {
    spdlog::warn("spool: could not compact {}: {}", m_path.string(), std::strerror(errno));
    ::close(fd);
    std::filesystem::remove(tmp, ec);
    return;
  }
  ::close(m_lock_fd);
  m_lock_fd = fd;
}

} // namespace nfl
