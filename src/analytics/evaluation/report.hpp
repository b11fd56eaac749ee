#pragma once
// The report: one self-contained HTML page (Chart.js inline, data inline, no network)
// plus report.json with the same numbers. Pure functions; the task gathers inputs.
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace nfl::analytics::eval {

using Json = nlohmann::json;

inline constexpr std::string_view k_attribution =
    "NFL game data: nflverse/nfldata (Lee Sharpe, nflverse), https://github.com/nflverse/nfldata";

// Text for HTML element content and attribute values (& < > " ').
std::string html_escape(std::string_view text);
// JSON text safe inside <script type="application/json">: '<', '>', '&', U+2028/9 escaped.
std::string json_for_script(const Json& value);
// Chart.js (libjs-chart.js) compiled in at build time; empty when it was not found.
std::string_view embedded_chartjs();
std::string_view embedded_chartjs_origin();

// Inputs as read from the upstream artifacts; each absent one makes its section say why.
struct ReportInputs {
  std::string title = "NFL analytics report";
  std::optional<int> season; // ratings chart season; default the latest in elo_ratings.csv
  std::optional<std::string> elo_ratings_csv;
  std::optional<std::string> elo_games_csv;
  std::optional<std::string> state_space_games_csv;
  std::optional<Json> calibration;
  std::optional<std::string> playoff_odds_csv;
  std::optional<Json> backtest;
  std::optional<std::string> equity_curve_csv;
  std::optional<Json> copula;
  std::map<std::string, std::string> missing; // section -> reason (when an input is absent)
};

// report.json: every number the page shows.
Json build_report(const ReportInputs& inputs);
// report.html from build_report's result.
std::string render_report_html(const Json& report, std::string_view chartjs);

} // namespace nfl::analytics::eval
