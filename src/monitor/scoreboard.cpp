#include "monitor/scoreboard.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace nfl::monitor {

namespace {

constexpr std::size_t k_page = 1000;

Json optional_json(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

std::string seconds_text(const std::optional<double>& v) {
  if (!v) {
    return "-";
  }
  if (*v < 60) {
    return fmt::format("{:.1f}s", *v);
  }
  if (*v < 3600) {
    return fmt::format("{:.1f}m", *v / 60);
  }
  return fmt::format("{:.1f}h", *v / 3600);
}

} // namespace

std::vector<Task> all_tasks(TaskStore& store) {
  std::vector<Task> out;
  TaskFilter filter;
  filter.limit = k_page;
  for (;;) {
    auto page = store.list(filter);
    const auto got = page.size();
    out.insert(out.end(), std::make_move_iterator(page.begin()), std::make_move_iterator(page.end()));
    if (got < k_page) {
      break;
    }
    filter.offset += got;
  }
  return out;
}

std::optional<double> task_duration_seconds(const Task& t) {
  if (t.status != TaskStatus::completed || t.cached) {
    return std::nullopt;
  }
  if (t.wall_seconds > 0) {
    return t.wall_seconds;
  }
  if (t.started_at_ms > 0 && t.finished_at_ms >= t.started_at_ms) {
    return static_cast<double>(t.finished_at_ms - t.started_at_ms) / 1000.0;
  }
  return std::nullopt;
}

std::optional<double> nearest_rank(std::vector<double> values, double q) {
  if (values.empty()) {
    return std::nullopt;
  }
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size());
  return values[rank - 1];
}

std::optional<double> median(std::vector<double> values) {
  if (values.empty()) {
    return std::nullopt;
  }
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

Scoreboard compute_scoreboard(const std::vector<Task>& tasks, const std::vector<MachineInfo>& machines) {
  std::map<std::string, TaskTypeScore> by_type;
  std::map<std::string, std::vector<double>> durations;
  for (const auto& t : tasks) {
    auto& s = by_type[t.task_type];
    s.task_type = t.task_type;
    ++s.count;
    switch (t.status) {
    case TaskStatus::completed: ++s.completed; break;
    case TaskStatus::failed: ++s.failed; break;
    case TaskStatus::cancelled: ++s.cancelled; break;
    default: ++s.open; break;
    }
    if (auto d = task_duration_seconds(t)) {
      durations[t.task_type].push_back(*d);
    }
  }
  Scoreboard board;
  for (auto& [type, s] : by_type) {
    if (s.completed + s.failed > 0) {
      s.success_rate = static_cast<double>(s.completed) / static_cast<double>(s.completed + s.failed);
    }
    s.median_seconds = median(durations[type]);
    s.p95_seconds = nearest_rank(durations[type], 0.95);
    board.task_types.push_back(s);
  }
  for (const auto& m : machines) {
    board.machines.push_back({m.machine_id, m.profile, m.live, m.tasks_done, m.cpu_hours, m.gpu_hours, m.wall_hours});
  }
  std::sort(board.machines.begin(), board.machines.end(),
            [](const auto& a, const auto& b) { return a.machine_id < b.machine_id; });
  return board;
}

Scoreboard compute_scoreboard(TaskStore& store) { return compute_scoreboard(all_tasks(store), store.machines()); }

Json scoreboard_to_json(const Scoreboard& board) {
  Json types = Json::array();
  for (const auto& s : board.task_types) {
    types.push_back({{"task_type", s.task_type},
                     {"count", s.count},
                     {"completed", s.completed},
                     {"failed", s.failed},
                     {"cancelled", s.cancelled},
                     {"open", s.open},
                     {"success_rate", optional_json(s.success_rate)},
                     {"median_seconds", optional_json(s.median_seconds)},
                     {"p95_seconds", optional_json(s.p95_seconds)}});
  }
  Json machines = Json::array();
  for (const auto& m : board.machines) {
    machines.push_back({{"machine_id", m.machine_id},
                        {"profile", m.profile},
                        {"live", m.live},
                        {"tasks_done", m.tasks_done},
                        {"cpu_hours", m.cpu_hours},
                        {"gpu_hours", m.gpu_hours},
                        {"wall_hours", m.wall_hours}});
  }
  return {{"task_types", types}, {"machines", machines}};
}

std::string render_scoreboard(const Scoreboard& board) {
  std::string out = "Task types\n";
  out += fmt::format("  {:<24} {:>6} {:>8} {:>9} {:>9} {:>9}\n", "type", "count", "success", "median", "p95", "failed");
  if (board.task_types.empty()) {
    out += "  (no tasks)\n";
  }
  for (const auto& s : board.task_types) {
    auto type = s.task_type.size() > 24 ? s.task_type.substr(0, 23) + "~" : s.task_type;
    out += fmt::format("  {:<24} {:>6} {:>8} {:>9} {:>9} {:>9}\n", type, s.count,
                       s.success_rate ? fmt::format("{:.1f}%", *s.success_rate * 100) : "-",
                       seconds_text(s.median_seconds), seconds_text(s.p95_seconds), s.failed);
  }
  out += "\nMachines\n";
  out += fmt::format("  {:<22} {:<13} {:>6} {:>10} {:>10} {:>6}\n", "machine", "profile", "done", "cpu hours",
                     "gpu hours", "state");
  if (board.machines.empty()) {
    out += "  (no machines have reported)\n";
  }
  for (const auto& m : board.machines) {
    auto id = m.machine_id.size() > 22 ? m.machine_id.substr(0, 21) + "~" : m.machine_id;
    out += fmt::format("  {:<22} {:<13} {:>6} {:>10.2f} {:>10.2f} {:>6}\n", id, m.profile, m.tasks_done, m.cpu_hours,
                       m.gpu_hours, m.live ? "live" : "stale");
  }
  return out;
}

} // namespace nfl::monitor
