#include "worker/spool.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fstream>
#include <sys/file.h>
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
  {
    std::lock_guard lock(m_mutex);
    m_outstanding[key] = true;
  }
  std::shared_lock file_lock(m_file_mutex);
  m_commit.append(m_path, entry.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
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
  compact_if_idle();
}

std::size_t Spool::outstanding() const {
  std::lock_guard lock(m_mutex);
  return m_outstanding.size();
}

void Spool::compact_if_idle() {
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
  }
}

} // namespace nfl
