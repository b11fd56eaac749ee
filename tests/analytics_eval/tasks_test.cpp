// The evaluation task types end to end on real files: upstream artifacts are
// published with write_artifacts into a temporary DATA_DIR (games.sqlite from the
// bundled games.csv), the handler runs, and its artifacts are checked against the
// kernels and the scikit-learn fixture built from the same games.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analytics/analytics_tasks.hpp"
#include "analytics/data/games.hpp"
#include "analytics/evaluation/common.hpp"
#include "analytics/evaluation/copula.hpp"
#include "analytics/evaluation/report.hpp"
#include "analytics/evaluation/tasks.hpp"
#include "support/redis_server.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::analytics::eval {
namespace {

using nfl::test::TempDir;

const std::vector<Game>& bundled_games() {
  static const std::vector<Game> games = [] {
    IngestReport report;
    return read_games_csv(std::filesystem::path(NFL_SOURCE_DIR) / "share/nfl/games.csv", report);
  }();
  return games;
}

std::vector<Game> seasons(int from, int to) {
  std::vector<Game> out;
  for (const auto& g : bundled_games()) {
    if (g.season >= from && g.season <= to) {
      out.push_back(g);
    }
  }
  return out;
}

class Pipeline {
public:
  Config config;
  TempDir dir;
  std::map<std::string, Task> deps;

  void publish(const std::string& id, const std::string& type, const std::map<std::string, std::string>& files) {
    Task t;
    t.id = id;
    t.task_type = type;
    t.status = TaskStatus::completed;
    TaskContext c{.task = t,
                  .config = config,
                  .data_dir = dir.path(),
                  .artifact_dir = dir.path() / "artifacts" / id,
                  .checkpoint_dir = dir.path() / "checkpoints" / id,
                  .dependencies = {},
                  .stop = {}};
    std::filesystem::create_directories(c.artifact_dir);
    write_artifacts(c, files);
    deps[id] = t;
  }
  void declare(const std::string& id, const std::string& type) { // listed but not delivered
    Task t;
    t.id = id;
    t.task_type = type;
    deps[id] = t;
  }
  Json run(const TaskType& type, const Json& cfg, const std::string& id) {
    Task t;
    t.id = id;
    t.task_type = type.name;
    t.config = cfg;
    type.validate_config(cfg);
    TaskContext c{.task = t,
                  .config = config,
                  .data_dir = dir.path(),
                  .artifact_dir = dir.path() / "artifacts" / id,
                  .checkpoint_dir = dir.path() / "checkpoints" / id,
                  .dependencies = deps,
                  .stop = {}};
    std::filesystem::create_directories(c.artifact_dir);
    return type.run(c);
  }
  Json artifact_json(const std::string& id, const std::string& name) {
    return Json::parse(read_file(dir.path() / "artifacts" / id / name));
  }
};

// elo_games.csv in the elo task's columns, with p_home a deterministic, slightly
// overconfident transform of the market (a stand-in model; the point is the plumbing).
std::string fake_elo_games(const std::vector<Game>& games) {
  std::string out = "game_id,season,week,p_home,market_p_home,home_score,away_score\n";
  for (const auto& g : games) {
    std::string market;
    double p = 0.57;
    if (g.home_moneyline && g.away_moneyline) {
      const double m = no_vig_home_probability(*g.home_moneyline, *g.away_moneyline);
      market = format_double(m);
      p = 1.0 / (1.0 + std::exp(-1.3 * std::log(m / (1 - m)) - 0.05));
    }
    out += fmt::format("{},{},{},{},{},{},{}\n", g.game_id, g.season, g.week, format_double(p), market,
                       g.home_score ? std::to_string(*g.home_score) : "", g.away_score ? std::to_string(*g.away_score) : "");
  }
  return out;
}

TEST(EvaluationTasks, RegisteredWithValidatedConfigs) {
  TaskRegistry registry;
  register_evaluation_tasks(registry);
  for (const char* name : {"calibration", "backtest", "copula", "reporting"}) {
    const auto* t = registry.find(name);
    ASSERT_NE(t, nullptr) << name;
    t->validate_config(Json::object());
    t->validate_config(nullptr);
    try {
      t->validate_config({{"tyop", 1}});
      FAIL() << name << " accepted an unknown key";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("'tyop'"), std::string::npos) << e.what();
    }
  }
  const auto* cal = registry.find("calibration");
  EXPECT_THROW(cal->validate_config({{"folds", 1}}), InputError);
  EXPECT_THROW(cal->validate_config({{"folds", "5"}}), InputError);
  EXPECT_THROW(cal->validate_config({{"sources", {"elo", "vegas"}}}), InputError);
  EXPECT_THROW(registry.find("backtest")->validate_config({{"staking", "martingale"}}), InputError);
  EXPECT_THROW(registry.find("backtest")->validate_config({{"min_season", 2020}, {"max_season", 2010}}), InputError);
  EXPECT_THROW(registry.find("copula")->validate_config({{"eras", {{2010, 2000}}}}), InputError);
  registry.find("copula")->validate_config({{"eras", {{1999, 2009}, {2020, nullptr}}}});
  EXPECT_THROW(registry.find("reporting")->validate_config({{"season", "latest"}}), InputError);
}

TEST(EvaluationTasks, CalibrationOfTheMarketEqualsTheSklearnFixture) {
  Pipeline p;
  const auto games = seasons(2018, 2019);
  p.publish("ingestion_1", "ingestion", {{"games.sqlite", games_db_bytes(games)}});
  p.publish("elo_1", "elo", {{"elo_games.csv", fake_elo_games(games)}});
  const auto result = p.run(calibration_task(), {{"repeats", 2}}, "calibration_1");
  const auto doc = p.artifact_json("calibration_1", "calibration.json");
  // The fixture was computed by scikit-learn from the same games (seasons 2018-2019, ties left out).
  const auto fixture = Json::parse(
      read_file(std::filesystem::path(NFL_SOURCE_DIR) / "tests/reference/fixtures/calibration_market_2018_2019.json"));
  const auto& market = doc["sources"]["market"];
  EXPECT_EQ(market["n"].get<std::size_t>(), fixture["y"].size());
  EXPECT_NEAR(market["raw"]["brier"].get<double>(), fixture["brier"].get<double>(), 1e-12);
  EXPECT_NEAR(market["raw"]["log_loss"].get<double>(), fixture["log_loss"].get<double>(), 1e-12);
  EXPECT_NEAR(market["raw"]["ece"].get<double>(), fixture["ece"].get<double>(), 1e-12);
  EXPECT_NEAR(market["platt"]["a"].get<double>(), fixture["platt"]["a"].get<double>(), 1e-6);
  EXPECT_NEAR(market["platt"]["b"].get<double>(), fixture["platt"]["b"].get<double>(), 1e-6);
  EXPECT_EQ(market["isotonic"]["thresholds_y"].size(), fixture["isotonic"]["thresholds_y"].size());
  ASSERT_TRUE(doc["sources"].contains("elo"));
  EXPECT_FALSE(doc["sources"].contains("state_space")); // not a dependency: skipped, not an error
  EXPECT_EQ(doc["common_games"]["n"].get<std::size_t>(), fixture["y"].size());
  // The overconfident stand-in model is worse than the market it was derived from, and Platt repairs most of it.
  EXPECT_GT(doc["sources"]["elo"]["raw"]["brier"].get<double>(), market["raw"]["brier"].get<double>());
  EXPECT_LT(doc["sources"]["elo"]["platt"]["cv"]["brier"]["mean"].get<double>(),
            doc["sources"]["elo"]["raw"]["brier"].get<double>());
  EXPECT_TRUE(result["artifacts"]["files"].contains("calibration.json"));
}

TEST(EvaluationTasks, MissingUpstreamArtifactsMeanWaitingNotFailure) {
  Pipeline p;
  p.declare("ingestion_9", "ingestion");
  EXPECT_THROW(p.run(calibration_task(), Json::object(), "calibration_9"), WaitingForInput);
  Pipeline q;
  q.publish("ingestion_1", "ingestion", {{"games.sqlite", games_db_bytes(seasons(2019, 2019))}});
  try {
    q.run(backtest_task(), Json::object(), "backtest_9"); // no elo dependency at all
    FAIL() << "expected TaskFailure";
  } catch (const TaskFailure& e) {
    EXPECT_FALSE(e.retryable());
    EXPECT_NE(std::string(e.what()).find("elo"), std::string::npos);
  }
}

TEST(EvaluationTasks, BacktestWritesConsistentSummaryAndEquityCurve) {
  Pipeline p;
  const auto games = seasons(2017, 2019);
  p.publish("ingestion_1", "ingestion", {{"games.sqlite", games_db_bytes(games)}});
  p.publish("elo_1", "elo", {{"elo_games.csv", fake_elo_games(games)}});
  p.run(backtest_task(), {{"bootstrap", 500}, {"staking", "kelly"}}, "backtest_1");
  const auto doc = p.artifact_json("backtest_1", "backtest.json");
  const auto curve =
      parse_csv_table(read_file(p.dir.path() / "artifacts/backtest_1/equity_curve.csv"), "equity_curve.csv");
  const auto& s = doc["summary"];
  EXPECT_EQ(curve.rows.size(), s["bets"].get<std::size_t>());
  ASSERT_FALSE(curve.rows.empty());
  EXPECT_NEAR(std::stod(curve.rows.back()[curve.column("bankroll")]), s["final_bankroll"].get<double>(), 1e-9);
  EXPECT_NEAR(s["final_bankroll"].get<double>() - 100.0, s["profit"].get<double>(), 1e-9);
  const auto ci = doc["bootstrap"]["roi_ci95"];
  EXPECT_LE(ci[0].get<double>(), ci[1].get<double>());
  EXPECT_TRUE(doc["off_policy"].contains("doubly_robust"));
  // Same seed, same files.
  p.run(backtest_task(), {{"bootstrap", 500}, {"staking", "kelly"}}, "backtest_2");
  EXPECT_EQ(read_file(p.dir.path() / "artifacts/backtest_1/backtest.json").size() > 0, true);
  auto a = p.artifact_json("backtest_1", "backtest.json");
  auto b = p.artifact_json("backtest_2", "backtest.json");
  a["bootstrap"].erase("seconds");
  b["bootstrap"].erase("seconds");
  EXPECT_EQ(a, b);
}

TEST(EvaluationTasks, CopulaByEraMatchesTheKernels) {
  Pipeline p;
  const auto games = seasons(2018, 2021);
  p.publish("ingestion_1", "ingestion", {{"games.sqlite", games_db_bytes(games)}});
  p.run(copula_task(),
        {{"eras", {{2018, 2019}, {2020, nullptr}}}, {"bootstrap", 8}, {"reference_size", 2000}, {"draws", 5000}},
        "copula_1");
  const auto doc = p.artifact_json("copula_1", "copula.json");
  ASSERT_EQ(doc["eras"].size(), 2u);
  std::vector<double> home;
  std::vector<double> away;
  for (const auto& g : games) {
    if (g.played() && g.season >= 2020) {
      home.push_back(*g.home_score);
      away.push_back(*g.away_score);
    }
  }
  const auto& e = doc["eras"][1];
  EXPECT_EQ(e["era"], "2020+");
  EXPECT_EQ(e["n"].get<std::size_t>(), home.size());
  EXPECT_DOUBLE_EQ(e["kendall_tau"].get<double>(), kendall_tau(home, away));
  EXPECT_NEAR(e["fits"]["gaussian"]["rho"].get<double>(), std::sin(M_PI * kendall_tau(home, away) / 2), 1e-15);
  const double pg = e["fits"]["gaussian"]["gof"]["p_value"].get<double>();
  EXPECT_GT(pg, 0.0);
  EXPECT_LE(pg, 1.0);
  ASSERT_EQ(e["cover_and_over"].size(), 9u);
  for (const auto& c : e["cover_and_over"]) {
    EXPECT_NEAR(c["gaussian"].get<double>(), c["empirical"].get<double>(), 0.08) << c.dump();
  }
}

TEST(EvaluationTasks, ReportRendersWithMissingInputsAndEscapesText) {
  Pipeline p;
  const Json r = p.run(reporting_task(), {{"title", "<script>alert('x')</script> & co"}}, "reporting_1");
  const auto html = read_file(p.dir.path() / "artifacts/reporting_1/report.html");
  EXPECT_EQ(html.find("<script>alert("), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"), std::string::npos);
  EXPECT_NE(html.find("Not available: no elo task among the dependencies"), std::string::npos);
  EXPECT_NE(html.find("Not available: no monte_carlo task among the dependencies"), std::string::npos);
  EXPECT_NE(html.find("https://github.com/nflverse/nfldata"), std::string::npos);
  const auto json = p.artifact_json("reporting_1", "report.json");
  EXPECT_EQ(json["attribution"], std::string(k_attribution));
  EXPECT_FALSE(json["sections"]["ratings"]["available"].get<bool>());
  EXPECT_FALSE(r["sections"]["backtest"].get<bool>());
}

TEST(EvaluationTasks, ReportCarriesTheUpstreamNumbers) {
  Pipeline p;
  const auto games = seasons(2019, 2019);
  p.publish("ingestion_1", "ingestion", {{"games.sqlite", games_db_bytes(games)}});
  p.publish("elo_1", "elo",
            {{"elo_games.csv", fake_elo_games(games)},
             {"elo_ratings.csv", "team,season,week,rating\nKC,2019,0,1600\nKC,2019,1,1612.5\nNE,2019,0,1590\n"
                                 "NE,2019,2,1580\nKC,2018,5,1500\n"}});
  p.publish("monte_carlo_1", "monte_carlo",
            {{"playoff_odds.csv", "team,expected_wins,p_playoffs,p_super_bowl\nKC,12.1,0.97,0.21\nNE,9.5,0.6,0.05\n"}});
  p.run(backtest_task(), {{"bootstrap", 200}}, "backtest_1");
  p.deps["backtest_1"] = Task{};
  p.deps["backtest_1"].id = "backtest_1";
  p.deps["backtest_1"].task_type = "backtest";
  p.run(reporting_task(), Json::object(), "reporting_1");
  const auto json = p.artifact_json("reporting_1", "report.json");
  const auto& ratings = json["sections"]["ratings"];
  ASSERT_TRUE(ratings["available"].get<bool>());
  EXPECT_EQ(ratings["season"], 2019);
  EXPECT_EQ(ratings["weeks"], Json({0, 1, 2}));
  EXPECT_EQ(ratings["teams"][0]["team"], "KC");
  EXPECT_EQ(ratings["teams"][0]["ratings"], Json({1600.0, 1612.5, 1612.5})); // week 2 carried forward
  EXPECT_EQ(ratings["teams"][1]["ratings"], Json({1590.0, 1590.0, 1580.0}));
  const auto& odds = json["sections"]["playoff_odds"];
  ASSERT_TRUE(odds["available"].get<bool>());
  EXPECT_EQ(odds["rows"][0]["team"], "KC");
  EXPECT_DOUBLE_EQ(odds["rows"][0]["p_super_bowl"].get<double>(), 0.21);
  const auto bt = p.artifact_json("backtest_1", "backtest.json");
  EXPECT_EQ(json["sections"]["backtest"]["summary"], bt["summary"]);
  EXPECT_EQ(json["sections"]["backtest"]["equity"].size(), bt["summary"]["bets"].get<std::size_t>());
  const auto& mvm = json["sections"]["model_vs_market"];
  ASSERT_TRUE(mvm["available"].get<bool>());
  EXPECT_EQ(mvm["rows"].back()["season"], "all");
  EXPECT_FALSE(json["sections"]["calibration"]["available"].get<bool>());
  const auto html = read_file(p.dir.path() / "artifacts/reporting_1/report.html");
  EXPECT_NE(html.find("chart-ratings"), std::string::npos);
  if (!embedded_chartjs().empty()) {
    EXPECT_NE(html.find("Chart.js v"), std::string::npos);
  }
}

} // namespace
} // namespace nfl::analytics::eval
