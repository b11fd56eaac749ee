#pragma once
// Task intake shared by `submit` and `init`.
#include <optional>
#include <string>
#include <vector>

#include "cli/context.hpp"
#include "model/task.hpp"

namespace nfl::cli {

// Runs the registered type's validate_config when the type is known here.
void check_task_config(const Task& task);

// One task per non-blank line, each parsed, normalised and checked; the first bad
// line throws InputError "<origin>:<line>: <why>".
std::vector<Task> parse_jsonl_tasks(const std::string& text, const std::string& origin, Millis now_ms);

// One add() for the whole batch; prints the ids one per line (notes on stderr for
// tasks that already existed or completed from the cache).
int add_and_print(Context& ctx, const std::vector<Task>& tasks);

// The standard pipeline of docs/pipeline.md, normalised and checked, with ids derived
// from season/week (e.g. elo_latest, monte_carlo_2024_w05).
std::vector<Task> standard_pipeline(std::optional<int> season, std::optional<int> week, Millis now_ms);

} // namespace nfl::cli
