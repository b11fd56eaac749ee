#include "analytics/evaluation/task_support.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "analytics/evaluation/common.hpp"
#include "util/error.hpp"

namespace nfl::analytics::eval {

std::vector<std::string> dependency_ids(const TaskContext& ctx, const std::string& type) {
  std::vector<std::string> ids;
  for (const auto& [id, task] : ctx.dependencies) {
    if (task.task_type == type) {
      ids.push_back(id);
    }
  }
  return ids;
}

std::optional<std::filesystem::path> optional_input(const TaskContext& ctx, const std::string& type,
                                                    const std::string& consumer) {
  const auto ids = dependency_ids(ctx, type);
  if (ids.empty()) {
    return std::nullopt;
  }
  if (ids.size() > 1) {
    throw TaskFailure(fmt::format("{}: depends on {} {} tasks ({}); expected at most one", consumer, ids.size(), type,
                                  fmt::join(ids, ", ")),
                      false);
  }
  return ctx.input_dir(ids.front());
}

std::filesystem::path required_input(const TaskContext& ctx, const std::string& type, const std::string& consumer) {
  auto dir = optional_input(ctx, type, consumer);
  if (!dir) {
    throw TaskFailure(fmt::format("{}: needs a completed {} task in depends_on", consumer, type), false);
  }
  return *dir;
}

std::filesystem::path artifact_file(const std::filesystem::path& dir, const std::string& name) {
  auto path = dir / name;
  if (!std::filesystem::exists(path)) {
    throw TaskFailure(fmt::format("input {} is missing from {} (its manifest does not list it)", name, dir.string()),
                      false);
  }
  return path;
}

std::map<std::string, double> column_by_game(const std::filesystem::path& csv, const std::string& column) {
  const auto table = read_csv_table(csv);
  const auto id_col = table.column("game_id");
  const auto value_col = table.column(column);
  std::map<std::string, double> out;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    if (auto v = parse_cell_double(row[value_col], fmt::format("{} row {} column {}", csv.string(), r + 2, column))) {
      out[row[id_col]] = *v;
    }
  }
  return out;
}

void sort_chronologically(std::vector<Game>& games) {
  std::stable_sort(games.begin(), games.end(), [](const Game& a, const Game& b) {
    return std::tie(a.season, a.week, a.gameday, a.game_id) < std::tie(b.season, b.week, b.gameday, b.game_id);
  });
}

std::optional<double> market_probability(const Game& g) {
  if (!g.home_moneyline || !g.away_moneyline) {
    return std::nullopt;
  }
  const auto usable = [](double ml) { return ml <= -100.0 || ml >= 100.0; };
  if (!usable(*g.home_moneyline) || !usable(*g.away_moneyline)) {
    return std::nullopt;
  }
  return no_vig_home_probability(*g.home_moneyline, *g.away_moneyline);
}

SeasonWindow season_window(const Json& config, const std::string& type) {
  SeasonWindow w;
  w.min_season = config_int(config, type, "min_season", 0, 0, 9999);
  w.max_season = config_int(config, type, "max_season", 9999, 0, 9999);
  if (w.min_season > w.max_season) {
    throw InputError(fmt::format("{} config: 'min_season' ({}) is after 'max_season' ({})", type, w.min_season,
                                 w.max_season));
  }
  return w;
}

void throw_if_stopped(const TaskContext& ctx) {
  if (ctx.stop.stop_requested()) {
    throw TaskStopped();
  }
}

} // namespace nfl::analytics::eval
