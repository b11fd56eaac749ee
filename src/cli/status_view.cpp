#include "cli/status_view.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "cli/context.hpp"

namespace nfl::cli {

namespace {

constexpr const char* k_red = "31";
constexpr const char* k_green = "32";
constexpr const char* k_yellow = "33";
constexpr const char* k_bold = "1";
constexpr const char* k_dim = "2";

// Cuts to `width` characters, marking the cut with '~' (ASCII keeps widths exact).
std::string fit(const std::string& text, std::size_t width) {
  if (text.size() <= width) {
    return text;
  }
  return text.substr(0, width - 1) + "~";
}

// Breaks at spaces so no line passes `width`; continuation lines start with `indent`.
std::string wrap(const std::string& text, std::size_t width, const std::string& indent) {
  std::string out;
  std::string line;
  std::size_t start = 0;
  while (start < text.size()) {
    auto space = text.find(' ', start);
    auto word = text.substr(start, space == std::string::npos ? std::string::npos : space - start);
    start = space == std::string::npos ? text.size() : space + 1;
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = indent;
    } else if (!line.empty() && line != indent) {
      line += " ";
    }
    line += word;
  }
  return out + fit(line, width);
}

// A column of `width`, always leaving one space before the next.
std::string pad(const std::string& text, std::size_t width) {
  auto t = fit(text, width - 1);
  return t + std::string(width - t.size(), ' ');
}

} // namespace

std::string infeasible_reason(const std::string& queue) {
  if (queue == "gpu:high") {
    return "no live machine serves gpu:high (needs an NVIDIA GPU with more than 8 GiB)";
  }
  if (queue == "gpu:standard") {
    return "no live machine serves gpu:standard (needs an NVIDIA GPU)";
  }
  if (queue == "cpu:parallel") {
    return "no live machine serves cpu:parallel (needs more than 4 CPU cores)";
  }
  return fmt::format("no live worker serves {}", queue);
}

Json status_document(const StoreStatus& status, const std::map<std::string, std::int64_t>& failed_by_queue,
                     const std::string& backend, Millis now_ms) {
  Json doc;
  doc["generated_at"] = format_iso8601(now_ms);
  doc["generated_at_ms"] = now_ms;
  doc["backend"] = backend;

  std::set<std::string> served_live;
  Json machines = Json::array();
  for (const auto& m : status.machines) {
    if (m.live) {
      served_live.insert(m.queues.begin(), m.queues.end());
    }
    machines.push_back({{"machine_id", m.machine_id},
                        {"profile", m.profile},
                        {"queues", m.queues},
                        {"last_seen", m.last_seen_ms > 0 ? format_iso8601(m.last_seen_ms) : ""},
                        {"last_seen_ms", m.last_seen_ms},
                        {"age_s", m.last_seen_ms > 0 ? std::max<Millis>(0, now_ms - m.last_seen_ms) / 1000 : -1},
                        {"live", m.live},
                        {"state", m.live ? "live" : "stale"},
                        {"hardware", m.hardware},
                        {"tasks_done", m.tasks_done},
                        {"cpu_hours", m.cpu_hours},
                        {"gpu_hours", m.gpu_hours},
                        {"wall_hours", m.wall_hours}});
  }

  Json queues = Json::object();
  Json infeasible = Json::array();
  for (auto q : k_queues) {
    std::string name(q);
    QueueCounts c;
    if (auto it = status.queues.find(name); it != status.queues.end()) {
      c = it->second;
    }
    auto failed = failed_by_queue.contains(name) ? failed_by_queue.at(name) : 0;
    queues[name] = {{"pending", c.pending}, {"running", c.running}, {"failed", failed}};
    if (c.pending > 0 && !served_live.contains(name)) {
      infeasible.push_back({{"queue", name}, {"pending", c.pending}, {"reason", infeasible_reason(name)}});
    }
  }
  doc["queues"] = queues;

  Json counts = Json::object();
  for (auto s : k_statuses) {
    std::string name(to_string(s));
    counts[name] = status.counts.contains(name) ? status.counts.at(name) : 0;
  }
  doc["counts"] = counts;
  doc["machines"] = machines;

  Json running = Json::array();
  for (const auto& t : status.running) {
    running.push_back({{"id", t.id},
                       {"name", t.name},
                       {"task_type", t.task_type},
                       {"queue", t.queue},
                       {"priority", to_string(t.priority)},
                       {"machine_id", t.machine_id},
                       {"attempt", t.attempts},
                       {"max_attempts", t.max_attempts},
                       {"started_at", t.started_at_ms > 0 ? format_iso8601(t.started_at_ms) : ""},
                       {"started_at_ms", t.started_at_ms},
                       {"elapsed_s", t.started_at_ms > 0 ? std::max<Millis>(0, now_ms - t.started_at_ms) / 1000 : 0},
                       {"progress", t.progress},
                       {"progress_message", t.progress_message},
                       {"lease_expires_ms", t.lease_expires_ms}});
  }
  doc["running"] = running;
  doc["throughput"] = {{"completed_last_5m", status.completed_last_5m},
                       {"completed_last_1h", status.completed_last_1h}};
  doc["rejected_completions"] = status.rejected_completions;
  doc["infeasible"] = infeasible;
  return doc;
}

std::string render_status(const Json& doc, bool colour) {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  line(colourise(colour, k_bold, "nfl-compute status at " + doc["generated_at"].get<std::string>()));
  line(fit("backend: " + doc["backend"].get<std::string>(), 80));
  line("");
  line(colourise(colour, k_bold, fmt::format("{:<20}{:>9}{:>9}{:>9}", "QUEUE", "PENDING", "RUNNING", "FAILED")));
  std::set<std::string> flagged;
  for (const auto& item : doc["infeasible"]) {
    flagged.insert(item["queue"].get<std::string>());
  }
  for (auto q : k_queues) {
    const auto& c = doc["queues"][std::string(q)];
    auto row = fmt::format("{:<20}{:>9}{:>9}{:>9}", std::string(q), c["pending"].get<std::int64_t>(),
                           c["running"].get<std::int64_t>(), c["failed"].get<std::int64_t>());
    if (flagged.contains(std::string(q))) {
      row = colourise(colour, k_yellow, row + "  ! no live machine");
    }
    line(row);
  }
  for (const auto& item : doc["infeasible"]) {
    line(colourise(colour, k_yellow,
                   wrap(fmt::format("! {}: {} task(s) wait; {}", item["queue"].get<std::string>(),
                                    item["pending"].get<std::int64_t>(), item["reason"].get<std::string>()),
                        80, "  ")));
  }
  line("");
  std::string counts = "Tasks:";
  for (auto s : k_statuses) {
    std::string name(to_string(s));
    counts += fmt::format(" {} {}", name, doc["counts"][name].get<std::int64_t>());
  }
  line(counts);
  line(fmt::format("Throughput: {} completed in the last 5 min, {} in the last hour",
                   doc["throughput"]["completed_last_5m"].get<std::int64_t>(),
                   doc["throughput"]["completed_last_1h"].get<std::int64_t>()));
  if (auto rejected = doc["rejected_completions"].get<std::int64_t>(); rejected > 0) {
    line(fmt::format("Rejected late or duplicate completions: {}", rejected));
  }

  line("");
  const auto& machines = doc["machines"];
  if (machines.empty()) {
    line(colourise(colour, k_yellow, "Machines: none registered yet (start one with `nfl-compute worker`)"));
  } else {
    line(colourise(colour, k_bold,
                   fmt::format("{:<22}{:<14}{:<14}{:<7}{:>7}{:>8}", "MACHINE", "PROFILE", "LAST SEEN", "STATE",
                               "DONE", "CPU-H")));
    Millis now = doc["generated_at_ms"].get<Millis>();
    for (const auto& m : machines) {
      auto last = m["last_seen_ms"].get<Millis>();
      auto state = m["state"].get<std::string>();
      auto state_text = colourise(colour, state == "live" ? k_green : k_red, pad(state, 7));
      line(fmt::format("{}{}{}{}{:>7}{:>8.1f}", pad(m["machine_id"].get<std::string>(), 22),
                       pad(m["profile"].get<std::string>(), 14), pad(last > 0 ? format_age(now - last) : "never", 14),
                       state_text, m["tasks_done"].get<std::int64_t>(), m["cpu_hours"].get<double>()));
      std::string queues;
      for (const auto& q : m["queues"]) {
        queues += (queues.empty() ? "" : ", ") + q.get<std::string>();
      }
      line(colourise(colour, k_dim, fit("  serves: " + queues, 80)));
    }
  }

  line("");
  const auto& running = doc["running"];
  if (running.empty()) {
    line("Running: nothing");
  } else {
    line(colourise(colour, k_bold,
                   fmt::format("{:<26}{:<14}{:<6}{:<9}{}", "RUNNING", "MACHINE", "TRY", "ELAPSED", "PROGRESS")));
    for (const auto& t : running) {
      double progress = t["progress"].get<double>();
      auto row = fmt::format("{}{}{}{}{} {:>3.0f}%", pad(t["id"].get<std::string>(), 26),
                             pad(t["machine_id"].get<std::string>(), 14),
                             pad(fmt::format("{}/{}", t["attempt"].get<int>(), t["max_attempts"].get<int>()), 6),
                             pad(format_duration(t["elapsed_s"].get<Millis>() * 1000), 9), progress_bar(progress, 12),
                             progress);
      auto message = t["progress_message"].get<std::string>();
      if (!message.empty() && row.size() + 8 < 80) {
        row += " " + fit(message, 80 - row.size() - 1);
      }
      line(row);
    }
  }
  return out;
}

} // namespace nfl::cli
