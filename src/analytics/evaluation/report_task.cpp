// The reporting task: gathers whatever upstream artifacts exist and writes
// report.html (self-contained) and report.json.
#include <fmt/format.h>

#include "analytics/evaluation/common.hpp"
#include "analytics/evaluation/report.hpp"
#include "analytics/evaluation/task_support.hpp"
#include "analytics/evaluation/tasks.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::analytics::eval {

namespace {

constexpr const char* k_type = "reporting";

ReportInputs parse_config(const Json& config) {
  check_config_keys(config, k_type, {"title", "season"});
  ReportInputs in;
  in.title = config_string(config, k_type, "title", in.title);
  if (in.title.size() > 200) {
    throw InputError("reporting config: 'title' must be at most 200 characters");
  }
  if (config.is_object() && config.contains("season") && !config["season"].is_null()) {
    in.season = config_int(config, k_type, "season", 0, 1999, 2100);
  }
  return in;
}

std::optional<std::string> read_optional(const std::optional<std::filesystem::path>& dir, const std::string& name) {
  if (!dir) {
    return std::nullopt;
  }
  return read_file(artifact_file(*dir, name));
}

std::optional<Json> read_json(const std::optional<std::filesystem::path>& dir, const std::string& name) {
  auto text = read_optional(dir, name);
  if (!text) {
    return std::nullopt;
  }
  try {
    return Json::parse(*text);
  } catch (const Json::parse_error& e) {
    throw TaskFailure(fmt::format("reporting: {} is not valid JSON: {}", name, e.what()), false);
  }
}

Json run(TaskContext& ctx) {
  auto in = parse_config(ctx.task.config);
  const auto elo = optional_input(ctx, "elo", k_type);
  const auto state_space = optional_input(ctx, "state_space", k_type);
  const auto calibration = optional_input(ctx, "calibration", k_type);
  const auto monte_carlo = optional_input(ctx, "monte_carlo", k_type);
  const auto backtest = optional_input(ctx, "backtest", k_type);
  const auto copula = optional_input(ctx, "copula", k_type);
  in.elo_ratings_csv = read_optional(elo, "elo_ratings.csv");
  in.elo_games_csv = read_optional(elo, "elo_games.csv");
  in.state_space_games_csv = read_optional(state_space, "state_space_games.csv");
  in.calibration = read_json(calibration, "calibration.json");
  in.playoff_odds_csv = read_optional(monte_carlo, "playoff_odds.csv");
  in.backtest = read_json(backtest, "backtest.json");
  in.equity_curve_csv = read_optional(backtest, "equity_curve.csv");
  in.copula = read_json(copula, "copula.json");
  ctx.report_progress(30, "inputs read");
  Json report = build_report(in);
  Json inputs = Json::object();
  for (const auto& [id, task] : ctx.dependencies) {
    inputs[task.task_type] = id;
  }
  report["inputs"] = inputs;
  report["task_id"] = ctx.task.id;
  const std::string html = render_report_html(report, embedded_chartjs());
  Json sections = Json::object();
  for (const auto& [name, section] : report["sections"].items()) {
    sections[name] = section.value("available", false);
  }
  Json result = {{"sections", sections},
                 {"charts", !embedded_chartjs().empty()},
                 {"report", (ctx.artifact_dir / "report.html").string()}};
  result["artifacts"] = write_artifacts(ctx, {{"report.html", html}, {"report.json", report.dump(1) + "\n"}});
  ctx.report_progress(100, "done");
  return result;
}

} // namespace

TaskType reporting_task() {
  TaskType t;
  t.name = k_type;
  t.description = "Self-contained HTML report (Chart.js embedded) and report.json: ratings, calibration, model vs "
                  "market, playoff odds, backtest, copulas";
  t.validate_config = [](const Json& config) { parse_config(config); };
  t.run = run;
  return t;
}

} // namespace nfl::analytics::eval
