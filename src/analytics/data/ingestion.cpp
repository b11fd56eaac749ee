#include "analytics/data/ingestion.hpp"

#include <map>

#include <fmt/format.h>

#include "analytics/data/data_common.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/ids.hpp"

namespace nfl::analytics::data {

std::string rejects_csv(const IngestReport& report) {
  std::string out = "line,reason\n";
  for (const CsvReject& r : report.rejects) {
    out += fmt::format("{},{}\n", r.line, csv_field(r.reason));
  }
  return out;
}

Json ingestion_summary(const std::vector<Game>& games, const IngestReport& report) {
  std::map<int, std::pair<int, int>> per_season; // games, played
  std::size_t played = 0;
  for (const Game& g : games) {
    auto& s = per_season[g.season];
    ++s.first;
    if (g.played()) {
      ++s.second;
      ++played;
    }
  }
  Json seasons = Json::object();
  for (const auto& [season, counts] : per_season) {
    seasons[std::to_string(season)] = {{"games", counts.first}, {"played", counts.second}};
  }
  Json first_rejects = Json::array();
  for (std::size_t i = 0; i < report.rejects.size() && i < 20; ++i) {
    first_rejects.push_back({{"line", report.rejects[i].line}, {"reason", report.rejects[i].reason}});
  }
  return {{"rows_read", report.rows_read},
          {"games", games.size()},
          {"played_games", played},
          {"rejects", report.rejects.size()},
          {"first_rejects", first_rejects},
          {"seasons_loaded", per_season.size()},
          {"first_season", per_season.empty() ? Json() : Json(per_season.begin()->first)},
          {"last_season", per_season.empty() ? Json() : Json(per_season.rbegin()->first)},
          {"seasons", seasons}};
}

namespace {

std::filesystem::path source_path(const Json& config) {
  check_config_keys(config, "ingestion", {"path"});
  std::string path = config_string(config, "ingestion", "path", "");
  return path.empty() ? bundled_games_csv() : std::filesystem::path(path);
}

} // namespace

TaskType ingestion_task() {
  TaskType t;
  t.name = "ingestion";
  t.description = "games.csv (nflverse) -> typed games table in games.sqlite, row rejects in rejects.csv";
  t.validate_config = [](const Json& config) { source_path(config); };
  t.run = [](TaskContext& ctx) -> Json {
    auto path = source_path(ctx.task.config);
    IngestReport report;
    auto games = read_games_csv(path, report); // InputError (terminal) for a missing file or column
    throw_if_stopped(ctx);
    if (games.empty()) {
      throw InputError(fmt::format("path: '{}' has no valid game rows ({} rejected; first: {})", path.string(),
                                   report.rejects.size(),
                                   report.rejects.empty() ? "none" : report.rejects.front().reason));
    }
    ctx.report_progress(50, fmt::format("{} games parsed, writing games.sqlite", games.size()));
    // The bytes depend on the games alone, so a re-run on the same file produces the
    // same checksums: re-ingesting is idempotent.
    Json manifest = write_artifacts(ctx, {{"games.sqlite", games_db_bytes(games)}, {"rejects.csv", rejects_csv(report)}});
    Json result = ingestion_summary(games, report);
    result["source"] = path.string();
    result["source_sha256"] = sha256_hex(read_file(path));
    result["artifacts"] = manifest;
    return result;
  };
  return t;
}

} // namespace nfl::analytics::data
