#include "model/task.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "model/task_types.hpp"
#include "util/error.hpp"
#include "util/ids.hpp"
#include "util/json_limits.hpp"

namespace nfl {

namespace {

constexpr std::array<std::string_view, 5> k_priority_names = {"critical", "high", "medium", "low", "background"};
constexpr std::array<std::string_view, 6> k_status_names = {"pending",   "running",   "completed",
                                                            "failed",    "cancelled", "blocked"};

// Fields a submitter may give; anything else lands in Task::extra.
const std::set<std::string, std::less<>> k_definition_fields = {
    "id",           "name",          "task_type",      "config",     "priority",     "depends_on",
    "estimated_hours", "requires_gpu", "min_gpu_memory", "min_cpu_cores", "min_memory", "expected_value",
    "created_at",   "queue",         "max_attempts",   "timeout_s"};
// Fields the store owns; accepted on input (a round-tripped task) but not extra.
const std::set<std::string, std::less<>> k_state_fields = {
    "status",   "attempts",       "machine_id",    "progress",         "progress_message", "error",
    "result",   "cached",         "blocked_reason", "enqueued_at_ms",  "started_at_ms",    "finished_at_ms",
    "lease_expires_ms", "not_before_ms", "trimmed", "wall_seconds", "cpu_seconds", "gpu_seconds"};

[[noreturn]] void bad(std::string_view field, std::string_view expected, const Json& got) {
  throw InputError(fmt::format("task field '{}': expected {}, got {}", field, expected, got.dump()));
}

std::string get_string(const Json& j, std::string_view field, std::string fallback) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) bad(field, "a string", *it);
  return it->get<std::string>();
}

double get_number(const Json& j, std::string_view field, double fallback, double min_value) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) bad(field, "a number", *it);
  double v = it->get<double>();
  if (!std::isfinite(v) || v < min_value) bad(field, fmt::format("a finite number >= {}", min_value), *it);
  return v;
}

std::int64_t get_integer(const Json& j, std::string_view field, std::int64_t fallback, std::int64_t min_value,
                         std::int64_t max_value) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) bad(field, "an integer", *it);
  auto v = it->get<std::int64_t>();
  if (v < min_value || v > max_value) bad(field, fmt::format("an integer from {} to {}", min_value, max_value), *it);
  return v;
}

bool get_bool(const Json& j, std::string_view field, bool fallback) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) bad(field, "true or false", *it);
  return it->get<bool>();
}

} // namespace

std::string_view to_string(Priority p) { return k_priority_names[static_cast<std::size_t>(p)]; }
std::string_view to_string(TaskStatus s) { return k_status_names[static_cast<std::size_t>(s)]; }

Priority parse_priority(std::string_view text, std::string_view field) {
  for (std::size_t i = 0; i < k_priority_names.size(); ++i) {
    if (k_priority_names[i] == text) return static_cast<Priority>(i);
  }
  throw InputError(fmt::format("{}: '{}' is not a priority; expected one of critical, high, medium, low, background",
                               field, text));
}

TaskStatus parse_status(std::string_view text, std::string_view field) {
  for (std::size_t i = 0; i < k_status_names.size(); ++i) {
    if (k_status_names[i] == text) return static_cast<TaskStatus>(i);
  }
  throw InputError(fmt::format(
      "{}: '{}' is not a status; expected one of pending, running, completed, failed, cancelled, blocked", field,
      text));
}

bool is_known_queue(std::string_view queue) {
  return std::find(k_queues.begin(), k_queues.end(), queue) != k_queues.end();
}

std::string queue_list() { return fmt::format("{}", fmt::join(k_queues, ", ")); }

Task task_from_json(const Json& j) {
  if (!j.is_object()) throw InputError(fmt::format("task: expected a JSON object, got {}", j.type_name()));
  Task t;
  t.id = get_string(j, "id", "");
  t.name = get_string(j, "name", "");
  t.task_type = get_string(j, "task_type", "");
  if (auto it = j.find("config"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) bad("config", "a JSON object", *it);
    t.config = *it;
  }
  if (auto it = j.find("priority"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) bad("priority", "one of critical, high, medium, low, background", *it);
    t.priority = parse_priority(it->get<std::string>(), "task field 'priority'");
  }
  if (auto it = j.find("depends_on"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) bad("depends_on", "an array of task ids", *it);
    for (const auto& d : *it) {
      if (!d.is_string()) bad("depends_on", "an array of task ids (strings)", d);
      t.depends_on.push_back(d.get<std::string>());
    }
  }
  t.estimated_hours = get_number(j, "estimated_hours", t.estimated_hours, 0.0);
  t.requires_gpu = get_bool(j, "requires_gpu", t.requires_gpu);
  t.min_gpu_memory = get_number(j, "min_gpu_memory", t.min_gpu_memory, 0.0);
  t.min_cpu_cores = static_cast<int>(get_integer(j, "min_cpu_cores", t.min_cpu_cores, 1, 4096));
  t.min_memory = get_number(j, "min_memory", t.min_memory, 0.0);
  t.expected_value = get_number(j, "expected_value", t.expected_value, -1e300);
  t.created_at = get_string(j, "created_at", "");
  t.queue = get_string(j, "queue", "");
  t.max_attempts = static_cast<int>(get_integer(j, "max_attempts", t.max_attempts, 1, 1000));
  t.timeout_s = get_integer(j, "timeout_s", t.timeout_s, 0, 365LL * 24 * 3600);

  // State fields, when a full task is read back (store records, snapshots).
  if (auto it = j.find("status"); it != j.end() && it->is_string())
    t.status = parse_status(it->get<std::string>(), "task field 'status'");
  t.attempts = static_cast<int>(get_integer(j, "attempts", 0, 0, 1'000'000));
  t.machine_id = get_string(j, "machine_id", "");
  t.progress = get_number(j, "progress", 0.0, 0.0);
  t.progress_message = get_string(j, "progress_message", "");
  t.error = get_string(j, "error", "");
  if (auto it = j.find("result"); it != j.end()) t.result = *it;
  t.cached = get_bool(j, "cached", false);
  t.blocked_reason = get_string(j, "blocked_reason", "");
  t.enqueued_at_ms = get_integer(j, "enqueued_at_ms", 0, 0, INT64_MAX);
  t.started_at_ms = get_integer(j, "started_at_ms", 0, 0, INT64_MAX);
  t.finished_at_ms = get_integer(j, "finished_at_ms", 0, 0, INT64_MAX);
  t.lease_expires_ms = get_integer(j, "lease_expires_ms", 0, 0, INT64_MAX);
  t.not_before_ms = get_integer(j, "not_before_ms", 0, 0, INT64_MAX);
  t.trimmed = get_bool(j, "trimmed", false);
  t.wall_seconds = get_number(j, "wall_seconds", 0.0, 0.0);
  t.cpu_seconds = get_number(j, "cpu_seconds", 0.0, 0.0);
  t.gpu_seconds = get_number(j, "gpu_seconds", 0.0, 0.0);

  for (const auto& [key, value] : j.items()) {
    if (!k_definition_fields.contains(key) && !k_state_fields.contains(key)) t.extra[key] = value;
  }
  return t;
}

Json task_definition_json(const Task& t) {
  Json j = t.extra.is_object() ? t.extra : Json::object();
  j["id"] = t.id;
  j["name"] = t.name;
  j["task_type"] = t.task_type;
  j["config"] = t.config;
  j["priority"] = to_string(t.priority);
  j["depends_on"] = t.depends_on;
  j["estimated_hours"] = t.estimated_hours;
  j["requires_gpu"] = t.requires_gpu;
  j["min_gpu_memory"] = t.min_gpu_memory;
  j["min_cpu_cores"] = t.min_cpu_cores;
  j["min_memory"] = t.min_memory;
  j["expected_value"] = t.expected_value;
  j["created_at"] = t.created_at;
  j["queue"] = t.queue;
  j["max_attempts"] = t.max_attempts;
  j["timeout_s"] = t.timeout_s;
  return j;
}

Json task_to_json(const Task& t) {
  Json j = task_definition_json(t);
  j["status"] = to_string(t.status);
  j["attempts"] = t.attempts;
  j["machine_id"] = t.machine_id;
  j["progress"] = t.progress;
  j["progress_message"] = t.progress_message;
  j["error"] = t.error;
  j["result"] = t.result;
  j["cached"] = t.cached;
  j["blocked_reason"] = t.blocked_reason;
  j["enqueued_at_ms"] = t.enqueued_at_ms;
  j["started_at_ms"] = t.started_at_ms;
  j["finished_at_ms"] = t.finished_at_ms;
  j["lease_expires_ms"] = t.lease_expires_ms;
  j["not_before_ms"] = t.not_before_ms;
  j["trimmed"] = t.trimmed;
  j["wall_seconds"] = t.wall_seconds;
  j["cpu_seconds"] = t.cpu_seconds;
  j["gpu_seconds"] = t.gpu_seconds;
  return j;
}

std::string route_queue(const Task& t) {
  if (!t.queue.empty()) return t.queue;
  if (t.requires_gpu && t.min_gpu_memory > 8.0) return "gpu:high";
  if (t.requires_gpu) return "gpu:standard";
  if (auto q = default_queue_for_type(t.task_type)) return std::string(*q);
  return "analysis:standard";
}

void normalise(Task& t, Millis now_ms) {
  if (t.task_type.empty()) throw InputError("task field 'task_type': must not be empty");
  if (auto why = id_problem(t.task_type); !why.empty())
    throw InputError(fmt::format("task field 'task_type': '{}' {}", t.task_type, why));
  if (t.id.empty()) t.id = t.task_type + "_" + random_hex(16);
  if (auto why = id_problem(t.id); !why.empty()) throw InputError(fmt::format("task field 'id': '{}' {}", t.id, why));
  if (t.name.size() > k_max_name_length)
    throw InputError(fmt::format("task field 'name': {} characters; at most {}", t.name.size(), k_max_name_length));
  if (t.name.empty()) t.name = t.id;
  if (t.created_at.empty()) t.created_at = format_iso8601(now_ms);
  if (!t.queue.empty() && !is_known_queue(t.queue))
    throw InputError(fmt::format("task field 'queue': '{}' is not a queue; expected one of {}", t.queue, queue_list()));
  t.queue = route_queue(t);
  if (t.depends_on.size() > k_max_dependencies)
    throw InputError(fmt::format("task field 'depends_on': {} dependencies; at most {}", t.depends_on.size(),
                                 k_max_dependencies));
  std::set<std::string_view> seen;
  for (const auto& d : t.depends_on) {
    if (auto why = id_problem(d); !why.empty())
      throw InputError(fmt::format("task field 'depends_on': '{}' {}", d, why));
    if (d == t.id) throw InputError(fmt::format("task field 'depends_on': task '{}' depends on itself", t.id));
    if (!seen.insert(d).second) throw InputError(fmt::format("task field 'depends_on': '{}' listed twice", d));
  }
  // Depth first: dump() recurses.
  for (auto [field, value] : {std::pair{"config", &t.config}, std::pair{"extra fields", &t.extra}}) {
    if (json_depth(*value) > k_max_json_depth)
      throw InputError(fmt::format("task field '{}': JSON nested deeper than {} levels", field, k_max_json_depth));
  }
  auto config_bytes = t.config.dump().size();
  if (config_bytes > k_max_config_bytes)
    throw InputError(
        fmt::format("task field 'config': {} bytes; at most {} (1 MiB)", config_bytes, k_max_config_bytes));
}

void throw_dependency_cycle(std::string_view id, std::string_view cycle) {
  throw InputError(
      fmt::format("task '{}': field 'depends_on' forms a dependency cycle {}; nothing was added", id, cycle));
}

void check_no_dependency_cycle(std::span<const Task> batch) {
  // Edges only between tasks of this batch (first occurrence of an id wins, as in add()).
  std::map<std::string_view, std::size_t> index;
  for (std::size_t i = 0; i < batch.size(); ++i) index.emplace(batch[i].id, i);
  enum class Mark { unseen, on_path, done };
  std::vector<Mark> mark(batch.size(), Mark::unseen);
  struct Frame {
    std::size_t task;
    std::size_t next_dep;
  };
  for (std::size_t root = 0; root < batch.size(); ++root) {
    if (mark[root] != Mark::unseen || index.at(batch[root].id) != root) continue;
    // Iterative depth-first search: a batch may hold a chain of thousands of tasks.
    std::vector<Frame> path = {{root, 0}};
    mark[root] = Mark::on_path;
    while (!path.empty()) {
      auto& top = path.back();
      const auto& deps = batch[top.task].depends_on;
      if (top.next_dep == deps.size()) {
        mark[top.task] = Mark::done;
        path.pop_back();
        continue;
      }
      auto it = index.find(deps[top.next_dep++]);
      if (it == index.end()) continue;
      const std::size_t next = it->second;
      if (mark[next] == Mark::on_path) {
        std::string cycle;
        bool in_cycle = false;
        for (const auto& f : path) {
          in_cycle = in_cycle || f.task == next;
          if (in_cycle) cycle += batch[f.task].id + " -> ";
        }
        cycle += batch[next].id;
        throw_dependency_cycle(batch[next].id, cycle);
      }
      if (mark[next] == Mark::unseen) {
        mark[next] = Mark::on_path;
        path.push_back({next, 0});
      }
    }
  }
}

std::string cache_key(const Task& t) {
  // nlohmann::json objects keep keys sorted, so dump() is canonical.
  return sha256_hex(t.task_type + "\n" + t.config.dump());
}

} // namespace nfl
