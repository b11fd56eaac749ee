#pragma once
// What a task type is: a name, a default queue (model/task_types.cpp), a config
// check, and a handler the worker runs. Adding a type is one source file plus one
// line in the register_* function of its family (builtin_tasks.cpp, analytics).
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "model/task.hpp"

namespace nfl {

// Everything a handler may use. Handlers must watch `stop` (cancel, timeout,
// shutdown) at reasonable intervals and return or throw TaskStopped promptly.
struct TaskContext {
  const Task& task;
  const Config& config;
  std::filesystem::path data_dir;
  std::filesystem::path artifact_dir;   // DATA_DIR/artifacts/<task_id>/ : this task's outputs (immutable once done)
  std::filesystem::path checkpoint_dir; // DATA_DIR/checkpoints/<task_id>/ : survives reclaim, for resumable work
  std::map<std::string, Task> dependencies; // by id: completed tasks listed in depends_on, with their results
  std::stop_token stop;
  std::function<void(double percent, const std::string& message)> report_progress = [](double, const std::string&) {};
  // CPU time of child processes the handler ran (exec adds its child's rusage); the
  // worker adds it to the handler thread's own CPU time for accounting.
  double child_cpu_seconds = 0.0;
  // Locates a dependency's artifact directory; throws WaitingForInput if the
  // shared folder has not delivered it yet.
  std::filesystem::path input_dir(const std::string& dependency_id) const;
};

// The attempt failed; `retryable` false makes it terminal at once (bad config).
class TaskFailure : public std::runtime_error {
public:
  TaskFailure(const std::string& message, bool retryable) : std::runtime_error(message), m_retryable(retryable) {}
  bool retryable() const { return m_retryable; }

private:
  bool m_retryable;
};

// An input produced elsewhere is not here yet: the worker hands the task back with a
// delay and the reason "waiting for input", without counting a failed attempt.
class WaitingForInput : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// The handler saw ctx.stop and gave up.
class TaskStopped : public std::runtime_error {
public:
  TaskStopped() : std::runtime_error("stopped") {}
};

struct TaskType {
  std::string name;
  // Throws InputError naming the config field; run at submit time and before running.
  std::function<void(const Json& config)> validate_config = [](const Json&) {};
  // Returns the result JSON (a small summary; bulk goes to artifact_dir).
  std::function<Json(TaskContext&)> run;
  std::string description;
};

class TaskRegistry {
public:
  void add(TaskType type); // throws InternalError on a duplicate name
  const TaskType* find(const std::string& name) const;
  std::vector<std::string> names() const;

private:
  std::map<std::string, TaskType> m_types;
};

// noop, sleep, exec.
void register_builtin_tasks(TaskRegistry& registry);
// (The registry with every family, builtin and analytics, is
// worker/task_catalog.hpp: default_task_registry().)

// Writes `files` (name -> bytes) into ctx.artifact_dir atomically plus a
// manifest.json with sha256 and size of each; returns the manifest JSON for the
// result ("artifacts": {...}).
Json write_artifacts(const TaskContext& ctx, const std::map<std::string, std::string>& files);

} // namespace nfl
