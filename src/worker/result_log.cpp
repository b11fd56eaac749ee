#include "worker/result_log.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <ctime>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "util/clock.hpp"
#include "util/fs.hpp"
#include "util/ids.hpp"

namespace nfl {

std::filesystem::path result_month_dir(const std::filesystem::path& data_dir, Millis ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return data_dir / "results" / fmt::format("year={:04d}", tm.tm_year + 1900) / fmt::format("month={:02d}", tm.tm_mon + 1);
}

ResultLog::ResultLog(std::filesystem::path data_dir, std::string machine_id, std::chrono::milliseconds sync_interval)
    : m_data_dir(std::move(data_dir)), m_machine_id(std::move(machine_id)), m_sync_interval(sync_interval) {
  // Sortable by start time, unique across runs and processes sharing a machine id.
  std::time_t now = static_cast<std::time_t>(SystemClock().now_ms() / 1000);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  m_run_id = std::string(stamp) + "-" + random_hex(6);
  m_flusher = std::thread([this] { flusher_loop(); });
}

ResultLog::~ResultLog() {
  {
    std::lock_guard lock(m_mutex);
    m_exit = true;
  }
  m_cv.notify_all();
  m_flusher.join();
  std::unique_lock lock(m_mutex);
  sync_dirty(lock);
  for (auto& [dir, seg] : m_segments) {
    if (seg.fd >= 0) {
      ::close(seg.fd);
    }
  }
}

ResultLog::Segment& ResultLog::segment_for(const std::filesystem::path& dir, std::size_t bytes) {
  auto& seg = m_segments[dir.string()];
  if (seg.fd >= 0 && seg.bytes > 0 && seg.bytes + bytes > k_result_segment_bytes) {
    m_retired.push_back(seg.fd);
    seg.fd = -1;
    seg.dirty = false;
    ++seg.index;
    seg.bytes = 0;
  }
  if (seg.fd < 0) {
    std::filesystem::create_directories(dir);
    auto name = m_machine_id + "_" + m_run_id + (seg.index ? fmt::format("_{}", seg.index) : "") + ".jsonl";
    auto path = dir / name;
    seg.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (seg.fd < 0) {
      throw std::system_error(errno, std::generic_category(), "open " + path.string());
    }
    struct stat st{};
    seg.bytes = ::fstat(seg.fd, &st) == 0 ? static_cast<std::uintmax_t>(st.st_size) : 0;
  }
  return seg;
}

void ResultLog::append(const Json& record) {
  std::string line = record.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  auto dir = result_month_dir(m_data_dir, record.at("finished_at_ms").get<Millis>());
  std::lock_guard lock(m_mutex);
  Segment& seg = segment_for(dir, line.size());
  // One writer at a time (this mutex) and O_APPEND: lines never interleave.
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(seg.fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      int saved = n < 0 ? errno : EIO;
      // A partial line would glue itself to the next record: cut it off again.
      if (done > 0 && ::ftruncate(seg.fd, static_cast<off_t>(seg.bytes)) != 0) {
        spdlog::error("result log: could not cut a partial line off: {}", std::strerror(errno));
      }
      throw std::system_error(saved, std::generic_category(), "append result record");
    }
    done += static_cast<std::size_t>(n);
  }
  seg.bytes += line.size();
  seg.dirty = true;
  if (++m_appended == m_synced + 1) {
    m_cv.notify_all(); // the flusher sleeps until there is something to sync
  }
}

void ResultLog::sync_dirty(std::unique_lock<std::mutex>& lock) {
  while (m_syncing) {
    m_cv.wait(lock);
  }
  const std::uint64_t upto = m_appended;
  std::vector<int> fds;
  for (auto& [dir, seg] : m_segments) {
    if (seg.dirty && seg.fd >= 0) {
      fds.push_back(seg.fd);
      seg.dirty = false;
    }
  }
  std::vector<int> retired;
  retired.swap(m_retired);
  if (fds.empty() && retired.empty()) {
    m_synced = upto;
    return;
  }
  m_syncing = true;
  lock.unlock();
  // Segments are only closed under m_syncing (here or in the destructor), so the fds stay valid.
  for (int fd : fds) {
    if (::fdatasync(fd) != 0) {
      spdlog::error("result log: fdatasync failed: {} (the store has the results)", std::strerror(errno));
    }
  }
  for (int fd : retired) {
    ::fdatasync(fd);
    ::close(fd);
  }
  lock.lock();
  m_syncing = false;
  m_synced = std::max(m_synced, upto);
  m_cv.notify_all();
}

void ResultLog::flush() {
  std::unique_lock lock(m_mutex);
  const std::uint64_t target = m_appended;
  while (m_synced < target) {
    sync_dirty(lock);
  }
}

void ResultLog::flusher_loop() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_cv.wait(lock, [&] { return m_exit || m_appended > m_synced; });
    if (m_exit) {
      return;
    }
    // Let a batch gather: one fdatasync covers every record of the interval.
    m_cv.wait_for(lock, m_sync_interval, [&] { return m_exit; });
    sync_dirty(lock);
  }
}

namespace {

std::vector<std::filesystem::path> month_dirs(const std::filesystem::path& results) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& year : std::filesystem::directory_iterator(results, ec)) {
    if (!year.is_directory() || year.path().filename().string().rfind("year=", 0) != 0) {
      continue;
    }
    for (const auto& month : std::filesystem::directory_iterator(year.path(), ec)) {
      if (month.is_directory() && month.path().filename().string().rfind("month=", 0) == 0) {
        out.push_back(month.path());
      }
    }
  }
  std::sort(out.rbegin(), out.rend()); // newest month first
  return out;
}

void search_dir(const std::filesystem::path& dir, const std::string& task_id, std::optional<Json>& best) {
  auto consider = [&](Json j) {
    if (!j.is_object() || j.value("task_id", std::string()) != task_id) {
      return;
    }
    if (!best || j.value("finished_at_ms", Millis{0}) >= best->value("finished_at_ms", Millis{0})) {
      best = std::move(j);
    }
  };
  std::error_code ec;
  auto single = dir / (task_id + ".json");
  if (std::filesystem::exists(single, ec)) {
    try {
      consider(Json::parse(read_file(single)));
    } catch (const std::exception&) {
    }
  }
  // Records are written with dump() (no spaces), so a plain substring finds
  // candidate lines without parsing every line.
  const std::string needle = "\"task_id\":" + Json(task_id).dump();
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto& p = entry.path();
    if (!entry.is_regular_file() || p.extension() != ".jsonl" || p.filename().string().front() == '.') {
      continue;
    }
    std::ifstream in(p, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(needle) == std::string::npos) {
        continue;
      }
      try {
        consider(Json::parse(line));
      } catch (const std::exception&) {
        // a torn last line after a crash
      }
    }
  }
}

} // namespace

std::optional<Json> find_result_record(const std::filesystem::path& data_dir, const std::string& task_id,
                                       std::optional<Millis> finished_at_ms) {
  if (!id_problem(task_id).empty()) {
    return std::nullopt;
  }
  std::optional<Json> best;
  std::filesystem::path first;
  if (finished_at_ms && *finished_at_ms > 0) {
    first = result_month_dir(data_dir, *finished_at_ms);
    search_dir(first, task_id, best);
    if (best) {
      return best;
    }
  }
  for (const auto& dir : month_dirs(data_dir / "results")) {
    if (dir == first) {
      continue;
    }
    search_dir(dir, task_id, best);
    if (best) {
      return best; // months are searched newest first
    }
  }
  return best;
}

} // namespace nfl
