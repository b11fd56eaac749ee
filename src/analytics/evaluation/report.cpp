#include "analytics/evaluation/report.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "analytics/evaluation/common.hpp"
#include "util/error.hpp"

namespace nfl::analytics::eval {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string json_for_script(const Json& value) {
  const std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
               (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      out += text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

Json unavailable(const ReportInputs& in, const std::string& section, const std::string& fallback) {
  auto it = in.missing.find(section);
  return {{"available", false}, {"reason", it != in.missing.end() ? it->second : fallback}};
}

Json ratings_section(const ReportInputs& in) {
  if (!in.elo_ratings_csv) {
    return unavailable(in, "ratings", "no elo task among the dependencies");
  }
  const auto t = parse_csv_table(*in.elo_ratings_csv, "elo_ratings.csv");
  const auto team_c = t.column("team");
  const auto season_c = t.column("season");
  const auto week_c = t.column("week");
  const auto rating_c = t.column("rating");
  int season = 0;
  for (const auto& row : t.rows) {
    season = std::max(season, std::stoi(row[season_c]));
  }
  if (in.season) {
    season = *in.season;
  }
  std::map<std::string, std::map<int, double>> by_team;
  std::set<int> weeks;
  for (const auto& row : t.rows) {
    if (std::stoi(row[season_c]) != season) {
      continue;
    }
    const int week = std::stoi(row[week_c]);
    const auto rating = parse_cell_double(row[rating_c], "elo_ratings.csv rating");
    if (rating) {
      by_team[row[team_c]][week] = *rating;
      weeks.insert(week);
    }
  }
  if (by_team.empty()) {
    return {{"available", false}, {"reason", fmt::format("elo_ratings.csv has no ratings for season {}", season)}};
  }
  Json teams = Json::array();
  for (const auto& [team, series] : by_team) {
    Json values = Json::array();
    std::optional<double> last;
    for (const int w : weeks) {
      if (auto it = series.find(w); it != series.end()) {
        last = it->second;
      }
      values.push_back(last ? Json(std::round(*last * 10.0) / 10.0) : Json());
    }
    teams.push_back({{"team", team}, {"ratings", values}, {"final", last ? *last : 0.0}});
  }
  std::sort(teams.begin(), teams.end(),
            [](const Json& a, const Json& b) { return a["final"].get<double>() > b["final"].get<double>(); });
  return {{"available", true}, {"season", season}, {"weeks", Json(std::vector<int>(weeks.begin(), weeks.end()))},
          {"teams", teams}, {"note", "Elo rating after each week (week 0: start of season); bye weeks carry the rating"}};
}

struct Score {
  double brier = 0;
  double log_loss = 0;
  std::size_t n = 0;
  void add(double p, double y) {
    brier += (p - y) * (p - y);
    const double q = std::clamp(p, 1e-15, 1.0 - 1e-15);
    log_loss -= y * std::log(q) + (1.0 - y) * std::log(1.0 - q);
    ++n;
  }
  Json json() const {
    if (n == 0) {
      return nullptr;
    }
    return {{"brier", brier / static_cast<double>(n)}, {"log_loss", log_loss / static_cast<double>(n)}};
  }
};

Json model_vs_market_section(const ReportInputs& in) {
  if (!in.elo_games_csv) {
    return unavailable(in, "model_vs_market", "no elo task among the dependencies");
  }
  const auto t = parse_csv_table(*in.elo_games_csv, "elo_games.csv");
  std::map<std::string, double> ss;
  if (in.state_space_games_csv) {
    const auto s = parse_csv_table(*in.state_space_games_csv, "state_space_games.csv");
    const auto id = s.column("game_id");
    const auto p = s.column("p_home");
    for (const auto& row : s.rows) {
      if (auto v = parse_cell_double(row[p], "state_space_games.csv p_home")) {
        ss[row[id]] = *v;
      }
    }
  }
  const auto id_c = t.column("game_id");
  const auto season_c = t.column("season");
  const auto p_c = t.column("p_home");
  const auto m_c = t.column("market_p_home");
  const auto hs_c = t.column("home_score");
  const auto as_c = t.column("away_score");
  std::map<int, std::array<Score, 3>> seasons; // elo, market, state_space
  std::array<Score, 3> all;
  for (const auto& row : t.rows) {
    const auto hs = parse_cell_double(row[hs_c], "elo_games.csv home_score");
    const auto as = parse_cell_double(row[as_c], "elo_games.csv away_score");
    const auto p = parse_cell_double(row[p_c], "elo_games.csv p_home");
    const auto m = parse_cell_double(row[m_c], "elo_games.csv market_p_home");
    if (!hs || !as || !p || !m) {
      continue;
    }
    const auto it = ss.find(row[id_c]);
    if (!ss.empty() && it == ss.end()) {
      continue; // the same games for every column
    }
    const double y = *hs > *as ? 1.0 : (*hs < *as ? 0.0 : 0.5);
    auto& s = seasons[std::stoi(row[season_c])];
    for (auto* scores : {&s, &all}) {
      (*scores)[0].add(*p, y);
      (*scores)[1].add(*m, y);
      if (it != ss.end()) {
        (*scores)[2].add(it->second, y);
      }
    }
  }
  Json rows = Json::array();
  auto row_json = [](const std::string& label, const std::array<Score, 3>& s) {
    return Json{{"season", label}, {"n", s[0].n}, {"elo", s[0].json()}, {"market", s[1].json()},
                {"state_space", s[2].json()}};
  };
  for (const auto& [season, s] : seasons) {
    rows.push_back(row_json(std::to_string(season), s));
  }
  rows.push_back(row_json("all", all));
  return {{"available", !seasons.empty()},
          {"reason", seasons.empty() ? "no played game with both an Elo and a market probability" : ""},
          {"has_state_space", !ss.empty()},
          {"note", "Brier score and log loss on the same games (played, with closing moneylines); a tie counts 0.5"},
          {"rows", rows}};
}

Json calibration_section(const ReportInputs& in) {
  if (!in.calibration) {
    return unavailable(in, "calibration", "no calibration task among the dependencies");
  }
  Json sources = Json::object();
  const Json all_sources = in.calibration->value("sources", Json::object());
  for (const auto& [name, s] : all_sources.items()) {
    if (!s.contains("raw")) {
      continue;
    }
    sources[name] = {{"n", s["n"]},
                     {"raw", s["raw"]},
                     {"platt", {{"a", s["platt"]["a"]}, {"b", s["platt"]["b"]}, {"cv", s["platt"]["cv"]},
                                {"curve", s["platt"]["curve"]}}},
                     {"isotonic", {{"cv", s["isotonic"]["cv"]}, {"curve", s["isotonic"]["curve"]}}}};
  }
  return {{"available", !sources.empty()},
          {"reason", sources.empty() ? "calibration.json has no calibrated source" : ""},
          {"sources", sources},
          {"common_games", in.calibration->value("common_games", Json::object())}};
}

Json playoff_section(const ReportInputs& in) {
  if (!in.playoff_odds_csv) {
    return unavailable(in, "playoff_odds", "no monte_carlo task among the dependencies");
  }
  const auto t = parse_csv_table(*in.playoff_odds_csv, "playoff_odds.csv");
  Json rows = Json::array();
  for (const auto& row : t.rows) {
    Json r = Json::object();
    for (std::size_t i = 0; i < t.header.size(); ++i) {
      double v = 0;
      const auto& cell = row[i];
      auto [ptr, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
      if (ec == std::errc() && ptr == cell.data() + cell.size() && !cell.empty()) {
        r[t.header[i]] = v;
      } else {
        r[t.header[i]] = cell;
      }
    }
    rows.push_back(r);
  }
  const std::string key = t.find_column("expected_wins") ? "expected_wins" : t.header.front();
  std::stable_sort(rows.begin(), rows.end(), [&](const Json& a, const Json& b) {
    if (a[key].is_number() && b[key].is_number()) {
      return a[key].get<double>() > b[key].get<double>();
    }
    return false;
  });
  return {{"available", !rows.empty()}, {"reason", rows.empty() ? "playoff_odds.csv is empty" : ""},
          {"columns", t.header}, {"rows", rows}};
}

Json backtest_section(const ReportInputs& in) {
  if (!in.backtest) {
    return unavailable(in, "backtest", "no backtest task among the dependencies");
  }
  Json equity = Json::array();
  if (in.equity_curve_csv) {
    const auto t = parse_csv_table(*in.equity_curve_csv, "equity_curve.csv");
    const auto bet = t.column("bet");
    const auto bank = t.column("bankroll");
    const auto season = t.column("season");
    for (const auto& row : t.rows) {
      equity.push_back({std::stoi(row[bet]), *parse_cell_double(row[bank], "equity_curve.csv bankroll"),
                        std::stoi(row[season])});
    }
  }
  return {{"available", true},
          {"config", in.backtest->value("config", Json::object())},
          {"summary", in.backtest->value("summary", Json::object())},
          {"bootstrap", in.backtest->value("bootstrap", Json::object())},
          {"off_policy", in.backtest->value("off_policy", Json::object())},
          {"per_season", in.backtest->value("per_season", Json::array())},
          {"equity", equity}};
}

Json copula_section(const ReportInputs& in) {
  if (!in.copula) {
    return unavailable(in, "copula", "no copula task among the dependencies");
  }
  Json eras = Json::array();
  for (const auto& e : in.copula->value("eras", Json::array())) {
    if (!e.contains("fits")) {
      continue;
    }
    eras.push_back({{"era", e["era"]},
                    {"n", e["n"]},
                    {"kendall_tau", e["kendall_tau"]},
                    {"rho", e["fits"]["gaussian"]["rho"]},
                    {"nu", e["fits"]["student_t"]["nu"]},
                    {"gof_p_gaussian", e["fits"]["gaussian"]["gof"]["p_value"]},
                    {"gof_p_student_t", e["fits"]["student_t"]["gof"]["p_value"]},
                    {"preferred", e["preferred"]},
                    {"cover_and_over", e["cover_and_over"]}});
  }
  return {{"available", !eras.empty()}, {"reason", eras.empty() ? "copula.json has no fitted era" : ""},
          {"eras", eras}};
}

// ---- HTML ----

std::string num(const Json& v, int decimals) {
  if (!v.is_number()) {
    return "&ndash;";
  }
  return fmt::format("{:.{}f}", v.get<double>(), decimals);
}

std::string pct(const Json& v, int decimals = 1) {
  if (!v.is_number()) {
    return "&ndash;";
  }
  return fmt::format("{:.{}f}%", 100.0 * v.get<double>(), decimals);
}

std::string cell(const Json& v) {
  if (v.is_string()) {
    return html_escape(v.get<std::string>());
  }
  if (v.is_number_integer()) {
    return std::to_string(v.get<long long>());
  }
  if (v.is_number()) {
    const double d = v.get<double>();
    return d == std::floor(d) && std::abs(d) < 1e9 ? fmt::format("{:.0f}", d) : fmt::format("{:.3f}", d);
  }
  return "&ndash;";
}

std::string missing_note(const Json& section) {
  return "<p class=\"missing\">Not available: " + html_escape(section.value("reason", std::string("no input"))) +
         ".</p>\n";
}

std::string ratings_html(const Json& s) {
  std::string h = "<section id=\"ratings\"><h2>Team ratings over the season</h2>\n";
  if (!s.value("available", false)) {
    return h + missing_note(s) + "</section>\n";
  }
  h += fmt::format("<p>{} &mdash; season {}.</p>\n", html_escape(s.value("note", std::string())),
                   s["season"].get<int>());
  h += "<div class=\"chart tall\"><canvas id=\"chart-ratings\"></canvas></div>\n";
  h += "<details><summary>Final ratings</summary><table><tr><th>#</th><th>Team</th><th>Elo</th></tr>\n";
  int rank = 0;
  for (const auto& t : s["teams"]) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{:.1f}</td></tr>\n", ++rank,
                     html_escape(t["team"].get<std::string>()), t["final"].get<double>());
  }
  return h + "</table></details></section>\n";
}

std::string calibration_html(const Json& s) {
  std::string h = "<section id=\"calibration\"><h2>Calibration</h2>\n";
  if (!s.value("available", false)) {
    return h + missing_note(s) + "</section>\n";
  }
  h += "<p>Reliability curves: mean predicted probability against the observed home-win frequency per bin "
       "(raw, and out-of-fold after Platt scaling and isotonic regression). Cross-validated scores are means over "
       "repeats.</p>\n<div class=\"grid\">\n";
  for (const auto& [name, src] : s["sources"].items()) {
    h += fmt::format("<div class=\"chart\"><canvas id=\"chart-cal-{}\"></canvas></div>\n", html_escape(name));
  }
  h += "</div>\n<table><tr><th>Source</th><th>Games</th><th>Brier</th><th>Brier Platt (CV)</th>"
       "<th>Brier isotonic (CV)</th><th>Log loss</th><th>ECE</th><th>ECE Platt (CV)</th><th>Platt a, b</th></tr>\n";
  for (const auto& [name, src] : s["sources"].items()) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                     "<td>{}, {}</td></tr>\n",
                     html_escape(name), cell(src["n"]), num(src["raw"]["brier"], 4),
                     num(src["platt"]["cv"]["brier"]["mean"], 4), num(src["isotonic"]["cv"]["brier"]["mean"], 4),
                     num(src["raw"]["log_loss"], 4), num(src["raw"]["ece"], 4),
                     num(src["platt"]["cv"]["ece"]["mean"], 4), num(src["platt"]["a"], 3), num(src["platt"]["b"], 3));
  }
  h += "</table>\n";
  const auto& common = s["common_games"];
  if (common.is_object() && common.value("n", 0) > 0) {
    h += fmt::format("<p>On the {} games every source covers:", common["n"].get<long long>());
    for (const auto& [name, v] : common["sources"].items()) {
      h += fmt::format(" {} Brier {}", html_escape(name), num(v["brier"], 4));
    }
    h += ".</p>\n";
  }
  return h + "</section>\n";
}

std::string model_vs_market_html(const Json& s) {
  std::string h = "<section id=\"model-vs-market\"><h2>Model vs market</h2>\n";
  if (!s.value("available", false)) {
    return h + missing_note(s) + "</section>\n";
  }
  const bool ss = s.value("has_state_space", false);
  h += "<p>" + html_escape(s.value("note", std::string())) + ".</p>\n";
  h += "<table><tr><th>Season</th><th>Games</th><th>Elo Brier</th><th>Market Brier</th>";
  h += ss ? "<th>State-space Brier</th>" : "";
  h += "<th>Elo log loss</th><th>Market log loss</th>";
  h += ss ? "<th>State-space log loss</th>" : "";
  h += "</tr>\n";
  for (const auto& r : s["rows"]) {
    auto b = [&](const char* k, const char* m) { return r[k].is_object() ? num(r[k][m], 4) : "&ndash;"; };
    const bool total = r["season"] == "all";
    h += fmt::format("<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td>", total ? " class=\"total\"" : "",
                     html_escape(r["season"].get<std::string>()), cell(r["n"]), b("elo", "brier"),
                     b("market", "brier"));
    h += ss ? "<td>" + b("state_space", "brier") + "</td>" : "";
    h += "<td>" + b("elo", "log_loss") + "</td><td>" + b("market", "log_loss") + "</td>";
    h += ss ? "<td>" + b("state_space", "log_loss") + "</td>" : "";
    h += "</tr>\n";
  }
  return h + "</table></section>\n";
}

std::string playoff_html(const Json& s) {
  std::string h = "<section id=\"playoff-odds\"><h2>Playoff odds</h2>\n";
  if (!s.value("available", false)) {
    return h + missing_note(s) + "</section>\n";
  }
  h += "<table><tr>";
  for (const auto& c : s["columns"]) {
    h += "<th>" + html_escape(c.get<std::string>()) + "</th>";
  }
  h += "</tr>\n";
  for (const auto& r : s["rows"]) {
    h += "<tr>";
    for (const auto& c : s["columns"]) {
      const auto name = c.get<std::string>();
      const auto& v = r[name];
      h += "<td>" + (name.rfind("p_", 0) == 0 && v.is_number() ? pct(v) : cell(v)) + "</td>";
    }
    h += "</tr>\n";
  }
  return h + "</table></section>\n";
}

std::string backtest_html(const Json& s) {
  std::string h = "<section id=\"backtest\"><h2>Backtest against closing lines</h2>\n";
  if (!s.value("available", false)) {
    return h + missing_note(s) + "</section>\n";
  }
  const auto& c = s["config"];
  const auto& m = s["summary"];
  const auto& b = s["bootstrap"];
  const auto& o = s["off_policy"];
  h += fmt::format("<p>Model {}: bet a side when its probability beats the no-vig closing probability by more than {}; "
                   "{} stakes.</p>\n",
                   html_escape(c.value("model", std::string("?"))), num(c["threshold"], 3),
                   html_escape(c.value("staking", std::string("?"))));
  h += "<div class=\"chart\"><canvas id=\"chart-equity\"></canvas></div>\n";
  h += "<table><tr><th>Games</th><th>Bets</th><th>Hit rate</th><th>Staked</th><th>Profit</th><th>ROI</th>"
       "<th>ROI 95% CI (bootstrap)</th><th>Max drawdown</th><th>Sharpe / bet</th><th>VaR95 (total)</th>"
       "<th>CVaR95 (total)</th></tr>\n";
  std::string ci = "&ndash;";
  if (b.contains("roi_ci95") && b["roi_ci95"].is_array()) {
    ci = pct(b["roi_ci95"][0], 2) + " to " + pct(b["roi_ci95"][1], 2);
  }
  h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                   "<td>{}</td><td>{}</td><td>{}</td></tr>\n</table>\n",
                   cell(m["games"]), cell(m["bets"]), pct(m["hit_rate"]), num(m["staked"], 1), num(m["profit"], 2),
                   pct(m["roi"], 2), ci, num(m["max_drawdown"], 2), num(m["sharpe_per_bet"], 3),
                   num(b["var95_total_profit"], 2), num(b["cvar95_total_profit"], 2));
  if (o.is_object() && o.contains("snips")) {
    h += fmt::format("<p>Off-policy value per game (one-unit stakes) of the softmax target policy (temperature {}) "
                     "from actions logged by a behaviour policy (temperature {}): exact {}, SNIPS {} &plusmn; {}, "
                     "doubly robust {} &plusmn; {} (effective sample size {:.0f} of {}).</p>\n",
                     num(o["target_temperature"], 3), num(o["behaviour_temperature"], 3),
                     num(o["target_value_exact"], 4), num(o["snips"], 4), num(o["snips_se"], 4),
                     num(o["doubly_robust"], 4), num(o["doubly_robust_se"], 4),
                     o.value("effective_sample_size", 0.0), cell(o["n"]));
  }
  return h + "</section>\n";
}

std::string copula_html(const Json& s) {
  std::string h = "<section id=\"copula\"><h2>Score dependence (copulas)</h2>\n";
  if (!s.value("available", false)) {
    return h + missing_note(s) + "</section>\n";
  }
  h += "<table><tr><th>Era</th><th>Games</th><th>Kendall &tau;</th><th>&rho;</th><th>t &nu;</th>"
       "<th>GoF p (Gaussian)</th><th>GoF p (t)</th><th>Preferred (AIC)</th></tr>\n";
  for (const auto& e : s["eras"]) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                     "</tr>\n",
                     cell(e["era"]), cell(e["n"]), num(e["kendall_tau"], 4), num(e["rho"], 4), cell(e["nu"]),
                     num(e["gof_p_gaussian"], 3), num(e["gof_p_student_t"], 3), cell(e["preferred"]));
  }
  h += "</table>\n<table><tr><th>Era</th><th>Event</th><th>Gaussian</th><th>t</th><th>Independent</th>"
       "<th>Observed</th></tr>\n";
  for (const auto& e : s["eras"]) {
    for (const auto& c : e["cover_and_over"]) {
      h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       cell(e["era"]), cell(c["event"]), pct(c["gaussian"]), pct(c["student_t"]),
                       pct(c["independent"]), pct(c["empirical"]));
    }
  }
  return h + "</table></section>\n";
}

constexpr const char* k_style = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1150px;padding:1rem 2rem;color:#1d2330;background:#fbfbfd}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #d9dde6;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.88rem}th,td{border:1px solid #d9dde6;padding:.25rem .55rem;text-align:right}
th{background:#eef1f6}td:first-child,th:first-child{text-align:left}tr.total td{font-weight:600;background:#f4f6fa}
.chart{position:relative;height:320px;margin:.5rem 0}.chart.tall{height:460px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:1rem}
.missing{color:#8a5a00;background:#fff6e0;border:1px solid #f0d9a0;padding:.5rem .8rem;border-radius:4px}
footer{margin-top:3rem;font-size:.8rem;color:#5a6272;border-top:1px solid #d9dde6;padding-top:.6rem}
)css";

constexpr const char* k_script = R"js(
(function(){
const R=JSON.parse(document.getElementById('report-data').textContent);
if(typeof Chart==='undefined'){document.querySelectorAll('canvas').forEach(function(c){const p=document.createElement('p');p.className='missing';p.textContent='Chart unavailable: Chart.js was not embedded when this program was built.';c.parentNode.replaceWith(p);});return;}
Chart.defaults.animation=false;
function color(i,n,a){return 'hsla('+Math.round(360*i/Math.max(n,1))+',65%,45%,'+(a||1)+')';}
const S=R.sections;
if(S.ratings&&S.ratings.available){
 const t=S.ratings.teams;
 new Chart(document.getElementById('chart-ratings'),{type:'line',data:{labels:S.ratings.weeks.map(function(w){return 'wk '+w;}),
  datasets:t.map(function(x,i){return {label:x.team,data:x.ratings,borderColor:color(i,t.length),backgroundColor:color(i,t.length),borderWidth:1.5,pointRadius:0,spanGaps:true};})},
  options:{maintainAspectRatio:false,plugins:{legend:{position:'right',labels:{boxWidth:10,font:{size:10}}},title:{display:true,text:'Elo ratings, season '+S.ratings.season}},scales:{y:{title:{display:true,text:'Elo'}}}}});
}
if(S.calibration&&S.calibration.available){
 Object.keys(S.calibration.sources).forEach(function(name){
  const s=S.calibration.sources[name];
  function pts(c){return c.map(function(b){return {x:b.mean_predicted,y:b.observed};});}
  new Chart(document.getElementById('chart-cal-'+name),{type:'scatter',data:{datasets:[
   {label:'perfect',data:[{x:0,y:0},{x:1,y:1}],showLine:true,borderColor:'#999',borderDash:[4,4],pointRadius:0},
   {label:'raw',data:pts(s.raw.curve),showLine:true,borderColor:color(0,3),backgroundColor:color(0,3)},
   {label:'Platt (CV)',data:pts(s.platt.curve),showLine:true,borderColor:color(1,3),backgroundColor:color(1,3)},
   {label:'isotonic (CV)',data:pts(s.isotonic.curve),showLine:true,borderColor:color(2,3),backgroundColor:color(2,3)}]},
   options:{maintainAspectRatio:false,plugins:{title:{display:true,text:'Reliability: '+name+' ('+s.n+' games)'}},
    scales:{x:{min:0,max:1,title:{display:true,text:'predicted P(home win)'}},y:{min:0,max:1,title:{display:true,text:'observed frequency'}}}}});
 });
}
if(S.backtest&&S.backtest.available&&S.backtest.equity.length){
 const e=S.backtest.equity;
 new Chart(document.getElementById('chart-equity'),{type:'line',data:{labels:e.map(function(p){return p[0];}),
  datasets:[{label:'bankroll (units)',data:e.map(function(p){return p[1];}),borderColor:color(0,3),pointRadius:0,borderWidth:1.5}]},
  options:{maintainAspectRatio:false,plugins:{title:{display:true,text:'Equity curve by bet'},tooltip:{callbacks:{title:function(items){const p=e[items[0].dataIndex];return 'bet '+p[0]+' (season '+p[2]+')';}}}},
   scales:{x:{title:{display:true,text:'bet number'},ticks:{maxTicksLimit:12}},y:{title:{display:true,text:'units'}}}}});
}
})();
)js";

} // namespace

Json build_report(const ReportInputs& in) {
  Json sections = {{"ratings", ratings_section(in)},
                   {"calibration", calibration_section(in)},
                   {"model_vs_market", model_vs_market_section(in)},
                   {"playoff_odds", playoff_section(in)},
                   {"backtest", backtest_section(in)},
                   {"copula", copula_section(in)}};
  return {{"title", in.title}, {"attribution", std::string(k_attribution)}, {"sections", sections}};
}

std::string render_report_html(const Json& report, std::string_view chartjs) {
  const auto& s = report["sections"];
  const std::string title = report.value("title", std::string("NFL analytics report"));
  std::string h;
  h.reserve(chartjs.size() + 200000);
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<title>" + html_escape(title) + "</title>\n<style>" + k_style + "</style>\n";
  if (!chartjs.empty()) {
    // "</script" inside the library would end the element early; "<\/script" is the same JS.
    std::string js(chartjs);
    for (std::size_t pos = 0; (pos = js.find("</script", pos)) != std::string::npos; pos += 2) {
      js.replace(pos, 2, "<\\/");
    }
    h += "<script>\n" + js + "\n</script>\n";
  }
  h += "</head>\n<body>\n<header><h1>" + html_escape(title) + "</h1>\n";
  h += "<p>Ratings, calibrated probabilities, market comparison, playoff odds and betting backtest from the "
       "nfl-compute pipeline. All numbers are also in report.json.</p></header>\n";
  h += ratings_html(s["ratings"]);
  h += calibration_html(s["calibration"]);
  h += model_vs_market_html(s["model_vs_market"]);
  h += playoff_html(s["playoff_odds"]);
  h += backtest_html(s["backtest"]);
  h += copula_html(s["copula"]);
  h += "<footer><p>" + html_escape(report.value("attribution", std::string(k_attribution))) + "</p></footer>\n";
  h += "<script type=\"application/json\" id=\"report-data\">" + json_for_script(report) + "</script>\n";
  h += std::string("<script>") + k_script + "</script>\n</body>\n</html>\n";
  return h;
}

} // namespace nfl::analytics::eval
