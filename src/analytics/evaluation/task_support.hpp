#pragma once
// How the evaluation task types find their inputs (pipeline.md conventions):
// dependencies by task_type, files through ctx.input_dir, games joined by game_id.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "analytics/data/games.hpp"
#include "tasks/registry.hpp"

namespace nfl::analytics::eval {

// Ids in depends_on whose task_type is `type`.
std::vector<std::string> dependency_ids(const TaskContext& ctx, const std::string& type);

// The artifact folder of the single dependency of `type`: nullopt when there is none,
// TaskFailure (not retryable) when there are several, WaitingForInput while not here.
std::optional<std::filesystem::path> optional_input(const TaskContext& ctx, const std::string& type,
                                                    const std::string& consumer);
// As optional_input, but no such dependency is a TaskFailure (not retryable).
std::filesystem::path required_input(const TaskContext& ctx, const std::string& type, const std::string& consumer);

// dir/name, or TaskFailure naming the file when the producer did not write it.
std::filesystem::path artifact_file(const std::filesystem::path& dir, const std::string& name);

// game_id -> value of `column` from a CSV artifact (rows with an empty value skipped).
std::map<std::string, double> column_by_game(const std::filesystem::path& csv, const std::string& column);

// Chronological order used by every evaluation: season, week, gameday, game_id.
void sort_chronologically(std::vector<Game>& games);

// The no-vig closing market probability, when both moneylines are usable.
std::optional<double> market_probability(const Game& g);

// Optional season window shared by calibration and backtest ("min_season"/"max_season").
struct SeasonWindow {
  int min_season = 0;
  int max_season = 9999;
  bool contains(int season) const { return season >= min_season && season <= max_season; }
};
SeasonWindow season_window(const Json& config, const std::string& type);

void throw_if_stopped(const TaskContext& ctx);

} // namespace nfl::analytics::eval
