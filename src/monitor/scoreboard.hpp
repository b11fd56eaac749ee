#pragma once
// The scoreboard: how each task type fares and what each machine has done, computed
// from the store alone so every backend and every front end (CLI, /api) agree.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/task.hpp"
#include "store/task_store.hpp"

namespace nfl::monitor {

struct TaskTypeScore {
  std::string task_type;
  std::int64_t count = 0; // every task of the type, in any status
  std::int64_t completed = 0;
  std::int64_t failed = 0;
  std::int64_t cancelled = 0;
  std::int64_t open = 0;                // pending, running or blocked
  std::optional<double> success_rate;   // completed / (completed + failed); none while nothing finished
  std::optional<double> median_seconds; // over completed, non-cached tasks
  std::optional<double> p95_seconds;    // nearest rank
};

struct MachineScore {
  std::string machine_id;
  std::string profile;
  bool live = false;
  std::int64_t tasks_done = 0;
  double cpu_hours = 0.0;
  double gpu_hours = 0.0;
  double wall_hours = 0.0;
};

struct Scoreboard {
  std::vector<TaskTypeScore> task_types; // by task type name
  std::vector<MachineScore> machines;    // by machine id
};

// Every task the store holds, paging through list() so no limit truncates it.
std::vector<Task> all_tasks(TaskStore& store);

// How long a completed attempt took: the worker's wall clock when recorded, else
// finished - started. None for cached results (they took no compute).
std::optional<double> task_duration_seconds(const Task& t);

// Quantile by nearest rank over unsorted values; none when empty. q in (0, 1].
std::optional<double> nearest_rank(std::vector<double> values, double q);
// The median (mean of the two middle values for an even count); none when empty.
std::optional<double> median(std::vector<double> values);

Scoreboard compute_scoreboard(const std::vector<Task>& tasks, const std::vector<MachineInfo>& machines);
Scoreboard compute_scoreboard(TaskStore& store);

Json scoreboard_to_json(const Scoreboard& board);
// Two tables that fit 80 columns.
std::string render_scoreboard(const Scoreboard& board);

} // namespace nfl::monitor
