#include "worker/result_log.hpp"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <vector>

#include <fmt/format.h>

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

ResultLog::ResultLog(std::filesystem::path data_dir, std::string machine_id)
    : m_data_dir(std::move(data_dir)), m_machine_id(std::move(machine_id)) {
  // Sortable by start time, unique across runs and processes sharing a machine id.
  std::time_t now = static_cast<std::time_t>(SystemClock().now_ms() / 1000);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  m_run_id = std::string(stamp) + "-" + random_hex(6);
}

std::filesystem::path ResultLog::segment_for(Millis finished_at_ms, std::size_t bytes) {
  auto dir = result_month_dir(m_data_dir, finished_at_ms);
  std::lock_guard lock(m_mutex);
  auto& seg = m_segments[dir.string()];
  if (seg.bytes > 0 && seg.bytes + bytes > k_result_segment_bytes) {
    ++seg.index;
    seg.bytes = 0;
  }
  seg.bytes += bytes;
  auto name = m_machine_id + "_" + m_run_id + (seg.index ? fmt::format("_{}", seg.index) : "") + ".jsonl";
  return dir / name;
}

void ResultLog::append(const Json& record) {
  std::string line = record.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  auto path = segment_for(record.at("finished_at_ms").get<Millis>(), line.size());
  m_commit.append(path, std::move(line));
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
