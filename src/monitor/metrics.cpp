#include "monitor/metrics.hpp"

#include <chrono>
#include <map>

#include <fmt/format.h>

#include "monitor/scoreboard.hpp"
#include "util/error.hpp"

namespace nfl::monitor {

namespace {

class Writer {
public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    m_out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(std::string_view name, const std::vector<std::pair<std::string, std::string>>& labels, double value) {
    m_out += name;
    if (!labels.empty()) {
      m_out += '{';
      for (std::size_t i = 0; i < labels.size(); ++i) {
        m_out += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, escape_label(labels[i].second));
      }
      m_out += '}';
    }
    m_out += fmt::format(" {}\n", value);
  }
  std::string take() { return std::move(m_out); }

private:
  std::string m_out;
};

} // namespace

std::string escape_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_metrics(TaskStore& store, Millis now_ms) {
  Writer w;
  StoreStatus status;
  std::vector<Task> tasks;
  double roundtrip = 0.0;
  bool up = true;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    store.ping();
    roundtrip = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    status = store.status();
    tasks = all_tasks(store);
  } catch (const std::exception&) {
    up = false;
  }
  w.family("nfl_compute_store_up", "gauge", "1 when the task store answered this scrape, else 0.");
  w.sample("nfl_compute_store_up", {}, up ? 1 : 0);
  w.family("nfl_compute_scrape_timestamp_seconds", "gauge", "Store clock time of this scrape.");
  w.sample("nfl_compute_scrape_timestamp_seconds", {}, static_cast<double>(now_ms) / 1000.0);
  if (!up) {
    return w.take();
  }
  w.family("nfl_compute_store_roundtrip_seconds", "gauge", "Time one ping of the task store took.");
  w.sample("nfl_compute_store_roundtrip_seconds", {}, roundtrip);

  // Per queue and status from the task list, so every status of every queue is present.
  std::map<std::pair<std::string, std::string>, std::int64_t> by_queue_status;
  for (auto q : k_queues) {
    for (auto s : k_statuses) {
      by_queue_status[{std::string(q), std::string(to_string(s))}] = 0;
    }
  }
  for (const auto& t : tasks) {
    ++by_queue_status[{t.queue, std::string(to_string(t.status))}];
  }
  w.family("nfl_compute_tasks", "gauge", "Tasks in the store by queue and status.");
  for (const auto& [key, n] : by_queue_status) {
    w.sample("nfl_compute_tasks", {{"queue", key.first}, {"status", key.second}}, static_cast<double>(n));
  }
  w.family("nfl_compute_queue_claimable", "gauge",
           "Pending tasks claimable now or after a backoff (excludes those waiting on dependencies).");
  for (const auto& [q, c] : status.queues) {
    w.sample("nfl_compute_queue_claimable", {{"queue", q}}, static_cast<double>(c.pending));
  }

  std::map<std::string, std::int64_t> completed_by_type;
  std::map<std::string, std::int64_t> failed_by_type;
  std::map<std::string, std::vector<double>> durations;
  std::int64_t retries = 0;
  for (const auto& t : tasks) {
    if (t.status == TaskStatus::completed) {
      ++completed_by_type[t.task_type];
    } else if (t.status == TaskStatus::failed) {
      ++failed_by_type[t.task_type];
    }
    if (t.attempts > 1) {
      retries += t.attempts - 1;
    }
    if (auto d = task_duration_seconds(t)) {
      durations[t.task_type].push_back(*d);
    }
  }
  w.family("nfl_compute_task_completions_total", "counter", "Tasks completed, by task type.");
  for (const auto& [type, n] : completed_by_type) {
    w.sample("nfl_compute_task_completions_total", {{"task_type", type}}, static_cast<double>(n));
  }
  // A gauge, not a counter: requeueing a failed task lowers it.
  w.family("nfl_compute_task_failures", "gauge", "Tasks in the failed state (out of attempts), by task type.");
  for (const auto& [type, n] : failed_by_type) {
    w.sample("nfl_compute_task_failures", {{"task_type", type}}, static_cast<double>(n));
  }
  w.family("nfl_compute_task_retry_attempts", "gauge", "Attempts beyond the first, summed over stored tasks.");
  w.sample("nfl_compute_task_retry_attempts", {}, static_cast<double>(retries));
  w.family("nfl_compute_rejected_completions_total", "counter",
           "Late or duplicate completions the store refused (lease lost).");
  w.sample("nfl_compute_rejected_completions_total", {}, static_cast<double>(status.rejected_completions));
  w.family("nfl_compute_completed_last_5m", "gauge", "Tasks completed in the last 5 minutes.");
  w.sample("nfl_compute_completed_last_5m", {}, static_cast<double>(status.completed_last_5m));
  w.family("nfl_compute_completed_last_1h", "gauge", "Tasks completed in the last hour.");
  w.sample("nfl_compute_completed_last_1h", {}, static_cast<double>(status.completed_last_1h));

  w.family("nfl_compute_task_duration_seconds", "histogram", "Wall time of completed (non-cached) tasks.");
  for (const auto& [type, values] : durations) {
    double sum = 0;
    for (double v : values) {
      sum += v;
    }
    for (double le : k_duration_buckets) {
      std::int64_t n = 0;
      for (double v : values) {
        n += v <= le ? 1 : 0;
      }
      w.sample("nfl_compute_task_duration_seconds_bucket", {{"task_type", type}, {"le", fmt::format("{}", le)}},
               static_cast<double>(n));
    }
    w.sample("nfl_compute_task_duration_seconds_bucket", {{"task_type", type}, {"le", "+Inf"}},
             static_cast<double>(values.size()));
    w.sample("nfl_compute_task_duration_seconds_sum", {{"task_type", type}}, sum);
    w.sample("nfl_compute_task_duration_seconds_count", {{"task_type", type}}, static_cast<double>(values.size()));
  }

  w.family("nfl_compute_machine_heartbeat_age_seconds", "gauge", "Seconds since the machine's last heartbeat.");
  for (const auto& m : status.machines) {
    w.sample("nfl_compute_machine_heartbeat_age_seconds", {{"machine", m.machine_id}},
             static_cast<double>(std::max<Millis>(0, now_ms - m.last_seen_ms)) / 1000.0);
  }
  w.family("nfl_compute_machine_live", "gauge", "1 when the machine's heartbeat is within the machine TTL.");
  for (const auto& m : status.machines) {
    w.sample("nfl_compute_machine_live", {{"machine", m.machine_id}, {"profile", m.profile}}, m.live ? 1 : 0);
  }
  w.family("nfl_compute_machine_tasks_done_total", "counter", "Tasks the machine completed (odometer).");
  for (const auto& m : status.machines) {
    w.sample("nfl_compute_machine_tasks_done_total", {{"machine", m.machine_id}}, static_cast<double>(m.tasks_done));
  }
  w.family("nfl_compute_machine_cpu_seconds_total", "counter", "CPU time the machine spent on tasks (odometer).");
  for (const auto& m : status.machines) {
    w.sample("nfl_compute_machine_cpu_seconds_total", {{"machine", m.machine_id}}, m.cpu_hours * 3600.0);
  }
  w.family("nfl_compute_machine_gpu_seconds_total", "counter", "GPU time the machine spent on tasks (odometer).");
  for (const auto& m : status.machines) {
    w.sample("nfl_compute_machine_gpu_seconds_total", {{"machine", m.machine_id}}, m.gpu_hours * 3600.0);
  }
  w.family("nfl_compute_machine_running_tasks", "gauge", "Tasks running on the machine (busy slots).");
  std::map<std::string, std::int64_t> running_by_machine;
  for (const auto& m : status.machines) {
    running_by_machine[m.machine_id] = 0;
  }
  for (const auto& t : status.running) {
    ++running_by_machine[t.machine_id];
  }
  for (const auto& [machine, n] : running_by_machine) {
    w.sample("nfl_compute_machine_running_tasks", {{"machine", machine}}, static_cast<double>(n));
  }
  return w.take();
}

} // namespace nfl::monitor
