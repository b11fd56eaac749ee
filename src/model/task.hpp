#pragma once
// The task model, compatible with the seed's task JSON: the seed's fields with its
// defaults, plus `queue`, `max_attempts` and `timeout_s`. Unknown fields are kept.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/clock.hpp"

namespace nfl {

using Json = nlohmann::json;

enum class Priority { critical = 0, high = 1, medium = 2, low = 3, background = 4 };
enum class TaskStatus { pending, running, completed, failed, cancelled, blocked };

inline constexpr std::array k_priorities = {Priority::critical, Priority::high, Priority::medium, Priority::low,
                                            Priority::background};
inline constexpr std::array k_statuses = {TaskStatus::pending,   TaskStatus::running,   TaskStatus::completed,
                                          TaskStatus::failed,    TaskStatus::cancelled, TaskStatus::blocked};

std::string_view to_string(Priority p);
std::string_view to_string(TaskStatus s);
// Throw InputError naming `field` and the accepted values.
Priority parse_priority(std::string_view text, std::string_view field = "priority");
TaskStatus parse_status(std::string_view text, std::string_view field = "status");

// The six queues, in the order a machine that serves them all claims from them.
inline constexpr std::array<std::string_view, 6> k_queues = {"gpu:high",       "gpu:standard",  "cpu:parallel",
                                                             "cpu:sequential", "data:pipeline", "analysis:standard"};
bool is_known_queue(std::string_view queue);
// "gpu:high, gpu:standard, ...": the six names for error messages.
std::string queue_list();

// Limits enforced on every task that enters a store (see docs/decisions.md).
inline constexpr std::size_t k_max_config_bytes = 1 << 20;
inline constexpr std::size_t k_max_dependencies = 1000;
inline constexpr std::size_t k_max_name_length = 256;

struct Task {
  // --- what the submitter says ---
  std::string id;
  std::string name;
  std::string task_type;
  Json config = Json::object();
  Priority priority = Priority::medium;
  std::vector<std::string> depends_on;
  double estimated_hours = 1.0;
  bool requires_gpu = false;
  double min_gpu_memory = 0.0; // GiB
  int min_cpu_cores = 1;
  double min_memory = 0.0; // GiB
  double expected_value = 1.0;
  std::string created_at; // ISO-8601; set at normalisation when missing
  std::string queue;      // explicit override, else routed
  int max_attempts = 3;
  std::int64_t timeout_s = 0; // 0: TASK_TIMEOUT_HOURS applies
  Json extra = Json::object(); // unknown fields, round-tripped untouched

  // --- what the store says (read-only for submitters) ---
  TaskStatus status = TaskStatus::pending;
  int attempts = 0;
  std::string machine_id;
  double progress = 0.0;
  std::string progress_message;
  std::string error;
  Json result; // null until completed
  bool cached = false;
  std::string blocked_reason;
  Millis enqueued_at_ms = 0;
  Millis started_at_ms = 0;
  Millis finished_at_ms = 0;
  Millis lease_expires_ms = 0;
  Millis not_before_ms = 0; // retry backoff: not claimable before this
  bool trimmed = false;     // bulk (config, result) dropped by retention
  // Compute accounting for the last attempt (the "odometer").
  double wall_seconds = 0.0;
  double cpu_seconds = 0.0;
  double gpu_seconds = 0.0;
};

// Parses one task from the seed's JSON. Validates every field (InputError names it).
// Does not fill defaults that depend on context: call normalise() next.
Task task_from_json(const Json& j);
// Full representation (submitter fields, state fields, unknown fields).
Json task_to_json(const Task& t);
// Only what a submitter gives: what a store persists as the task's definition.
Json task_definition_json(const Task& t);

// Fills the id (<task_type>_<16 hex>), created_at and the routed queue; validates
// limits (config size and nesting, id characters, dependency count, self-dependency).
void normalise(Task& t, Millis now_ms);

// Rejects a batch (one TaskStore::add) whose depends_on edges form a cycle among its
// own tasks, with InputError naming the cycle ("a -> b -> a"). Both stores call it
// first. The one other way add can close a cycle is through a task that folder sync
// imported before its dependency existed; each store checks that case itself, only
// when something already waits on the id being added (docs/security.md).
void check_no_dependency_cycle(std::span<const Task> batch);

// What add() throws for a dependency cycle through task `id`, `cycle` spelled
// "a -> b -> a": one message whichever check found it.
[[noreturn]] void throw_dependency_cycle(std::string_view id, std::string_view cycle);

// The seed's routing rules; `queue` on the task overrides them.
std::string route_queue(const Task& t);

// Canonical hash of (task_type, config) for result caching.
std::string cache_key(const Task& t);

} // namespace nfl
