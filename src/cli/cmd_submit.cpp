// `nfl-compute submit`: one task from flags, or many from JSON Lines. Every task is
// parsed, normalised and its config checked by its type before the store is opened;
// the batch goes in with one add() so a bad line leaves nothing behind.
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/context.hpp"
#include "cli/submit.hpp"
#include "config/config.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/json_limits.hpp"
#include "worker/task_catalog.hpp"

namespace nfl::cli {

namespace {

struct SubmitOptions {
  std::optional<std::string> type;
  std::optional<std::string> config;
  std::optional<std::string> priority;
  std::optional<std::string> name;
  std::vector<std::string> depends_on;
  bool requires_gpu = false;
  std::optional<std::string> min_gpu_memory;
  std::optional<std::string> min_cpu_cores;
  std::optional<std::string> min_memory;
  std::optional<std::string> queue;
  std::optional<std::string> max_attempts;
  std::optional<std::string> timeout;
  std::optional<std::string> id;
  std::optional<std::string> estimated_hours;
  std::optional<std::string> file;
};

Json parse_config_flag(const std::string& text) {
  std::string body = text;
  if (!text.empty() && text[0] == '@') {
    std::filesystem::path path = text.substr(1);
    if (!std::filesystem::is_regular_file(path)) {
      throw InputError(fmt::format("--config: '{}' is not a readable file", path.string()));
    }
    body = read_file(path);
  }
  Json j;
  try {
    j = parse_json_bounded(body, "--config");
  } catch (const Json::parse_error& e) {
    throw InputError(fmt::format("--config: not valid JSON ({})", e.what()));
  }
  if (!j.is_object()) {
    throw InputError(fmt::format("--config: expected a JSON object, got {}", j.type_name()));
  }
  return j;
}

// "3600", "90s", "30m", "6h", "1d" -> seconds.
std::int64_t parse_timeout(const std::string& text) {
  if (text.empty()) {
    throw InputError("--timeout: empty; expected seconds or a duration such as 90s, 30m, 6h");
  }
  std::int64_t scale = 1;
  std::string digits = text;
  switch (text.back()) {
  case 's': scale = 1; digits.pop_back(); break;
  case 'm': scale = 60; digits.pop_back(); break;
  case 'h': scale = 3600; digits.pop_back(); break;
  case 'd': scale = 86400; digits.pop_back(); break;
  default: break;
  }
  auto value = parse_int("--timeout", digits, 0, 365LL * 86400);
  if (value * scale > 365LL * 86400) {
    throw InputError(fmt::format("--timeout: '{}' is longer than a year", text));
  }
  return value * scale;
}

Task task_from_flags(const SubmitOptions& o) {
  if (!o.type) {
    throw InputError("submit: --type is required (or --file for JSON Lines)");
  }
  Json j = Json::object();
  j["task_type"] = *o.type;
  if (o.config) {
    j["config"] = parse_config_flag(*o.config);
  }
  if (o.name) {
    j["name"] = *o.name;
  }
  if (o.id) {
    j["id"] = *o.id;
  }
  if (o.queue) {
    j["queue"] = *o.queue;
  }
  j["depends_on"] = split_list(o.depends_on);
  j["requires_gpu"] = o.requires_gpu;
  if (o.min_gpu_memory) {
    j["min_gpu_memory"] = parse_memory_gib("--min-gpu-memory", *o.min_gpu_memory);
  }
  if (o.min_memory) {
    j["min_memory"] = parse_memory_gib("--min-memory", *o.min_memory);
  }
  if (o.min_cpu_cores) {
    j["min_cpu_cores"] = parse_int("--min-cpu-cores", *o.min_cpu_cores, 1, 4096);
  }
  if (o.max_attempts) {
    j["max_attempts"] = parse_int("--max-attempts", *o.max_attempts, 1, 1000);
  }
  if (o.timeout) {
    j["timeout_s"] = parse_timeout(*o.timeout);
  }
  if (o.estimated_hours) {
    j["estimated_hours"] = parse_double("--estimated-hours", *o.estimated_hours, 0, 1e6);
  }
  Task t = task_from_json(j);
  if (o.priority) {
    t.priority = parse_priority(*o.priority, "--priority");
  }
  return t;
}

std::string read_input(const std::string& file) {
  if (file == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  if (!std::filesystem::is_regular_file(file)) {
    throw InputError(fmt::format("--file: '{}' is not a readable file", file));
  }
  return read_file(file);
}

} // namespace

void check_task_config(const Task& task) {
  // Unknown types are allowed (a worker elsewhere may know them); known ones check now.
  if (const TaskType* type = default_task_registry().find(task.task_type)) {
    type->validate_config(task.config);
  }
}

std::vector<Task> parse_jsonl_tasks(const std::string& text, const std::string& origin, Millis now_ms) {
  std::vector<Task> tasks;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    try {
      Json j;
      try {
        j = parse_json_bounded(line, "task");
      } catch (const Json::parse_error& e) {
        throw InputError(fmt::format("not valid JSON ({})", e.what()));
      }
      Task t = task_from_json(j);
      normalise(t, now_ms);
      check_task_config(t);
      tasks.push_back(std::move(t));
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}:{}: {}", origin, number, e.what()));
    }
  }
  if (tasks.empty()) {
    throw InputError(fmt::format("{}: no tasks (expected one JSON object per line)", origin));
  }
  return tasks;
}

int add_and_print(Context& ctx, const std::vector<Task>& tasks) {
  auto outcomes = ctx.store().add(tasks);
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    ctx.out << tasks[i].id << "\n";
    if (i < outcomes.size() && outcomes[i] == AddOutcome::already_exists) {
      ctx.err << "nfl-compute: note: " << tasks[i].id << " already exists; left as it is\n";
    } else if (i < outcomes.size() && outcomes[i] == AddOutcome::cached) {
      ctx.err << "nfl-compute: note: " << tasks[i].id << " completed from the cached result of an identical task\n";
    }
  }
  return 0;
}

void add_submit_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<SubmitOptions>();
  auto* sub = app.add_subcommand("submit", "Add one task (flags) or many (--file tasks.jsonl, - for stdin)");
  sub->add_option("--type", o->type, "Task type (task_type)");
  sub->add_option("--config", o->config, "Task config as a JSON object, or @file.json");
  sub->add_option("--priority", o->priority, "critical, high, medium (default), low, background");
  sub->add_option("--name", o->name, "Human-readable name");
  sub->add_option("--depends-on", o->depends_on, "Task ids this one waits for (repeat or comma-separate)")
      ->delimiter(',');
  sub->add_flag("--requires-gpu", o->requires_gpu, "Needs an NVIDIA GPU");
  sub->add_option("--min-gpu-memory", o->min_gpu_memory, "GPU memory needed, e.g. 12GB (> 8 GiB routes to gpu:high)");
  sub->add_option("--min-cpu-cores", o->min_cpu_cores, "CPU cores needed");
  sub->add_option("--min-memory", o->min_memory, "Memory needed, e.g. 16GB");
  sub->add_option("--queue", o->queue, "Queue override (else routed by the seed's rules)");
  sub->add_option("--max-attempts", o->max_attempts, "Attempts before the task fails terminally (default 3)");
  sub->add_option("--timeout", o->timeout, "Per-attempt timeout: seconds, or 90s, 30m, 6h, 1d");
  sub->add_option("--id", o->id, "Task id (default <task_type>_<random hex>)");
  sub->add_option("--estimated-hours", o->estimated_hours, "Estimated run time in hours");
  sub->add_option("--file", o->file, "JSON Lines file of tasks, or - for stdin");
  sub->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      ctx.config(); // bad environment stops us before any state is touched
      std::vector<Task> tasks;
      Millis now = system_clock()->now_ms();
      if (o->file) {
        if (o->type || o->config || o->id || o->name || !o->depends_on.empty()) {
          throw InputError("submit: --file cannot be combined with --type, --config, --id, --name or --depends-on");
        }
        tasks = parse_jsonl_tasks(read_input(*o->file), *o->file == "-" ? "stdin" : *o->file, now);
      } else {
        Task t = task_from_flags(*o);
        normalise(t, now);
        check_task_config(t);
        tasks.push_back(std::move(t));
      }
      return add_and_print(ctx, tasks);
    };
  });
}

} // namespace nfl::cli
