// The season simulator and the monte_carlo task: reproducibility, invariants of the
// outputs, the actual-results path, and config validation.
#include <gtest/gtest.h>

#include <numeric>

#include "analytics/analytics_tasks.hpp"
#include "analytics/data/elo.hpp"
#include "analytics/data/games.hpp"
#include "analytics/season/monte_carlo.hpp"
#include "analytics/season/philox.hpp"
#include "analytics/season/simulator.hpp"
#include "support/redis_server.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::analytics::season {
namespace {

const std::vector<Game>& all_games() {
  static const std::vector<Game> games = [] {
    IngestReport report;
    return read_games_csv(std::filesystem::path(NFL_SOURCE_DIR) / "share/nfl/games.csv", report);
  }();
  return games;
}

SimulationModel market_model(int season, int week) {
  SimulationModel m;
  m.schedule = schedule_for_season(all_games(), season);
  m.start_week = week;
  m.ratings = market_ratings(m.schedule);
  m.use_spread_lines = true;
  m.sigma = estimate_sigma(all_games(), season, week);
  return m;
}

// Known-answer vectors of Random123's kat_vectors for philox4x32_10.
TEST(Philox, KnownAnswers) {
  EXPECT_EQ(Philox4x32(0)({0, 0, 0, 0}), (Philox4x32::Block{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(Philox4x32(0xffffffffffffffffULL)({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}),
            (Philox4x32::Block{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(Philox4x32(0x299f31d0a4093822ULL)({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}),
            (Philox4x32::Block{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Simulator, SigmaFromTheDataIsInTheLiteratureRange) {
  const double sigma = estimate_sigma(all_games(), 2025, 1);
  EXPECT_GT(sigma, 12.5);
  EXPECT_LT(sigma, 14.5);
}

TEST(Simulator, SameSeedSameOddsForAnyThreadCount) {
  const SimulationModel m = market_model(2023, 1);
  SimulationOptions o;
  o.simulations = 3000;
  o.seed = 7;
  o.threads = 1;
  const auto one = simulate_season(m, o);
  o.threads = 2;
  const auto two = simulate_season(m, o);
  o.seed = 8;
  const auto other = simulate_season(m, o);
  bool differs = false;
  for (int t = 0; t < k_teams; ++t) {
    EXPECT_EQ(one.teams[t].expected_wins, two.teams[t].expected_wins) << t;
    EXPECT_EQ(one.teams[t].p_playoffs, two.teams[t].p_playoffs) << t;
    EXPECT_EQ(one.teams[t].p_super_bowl, two.teams[t].p_super_bowl) << t;
    differs = differs || one.teams[t].p_playoffs != other.teams[t].p_playoffs;
  }
  EXPECT_TRUE(differs) << "another seed must give other draws";
}

TEST(Simulator, OddsAddUpLikeASeason) {
  const SimulationModel m = market_model(2019, 1); // 6-team playoff format
  SimulationOptions o;
  o.simulations = 2000;
  const auto r = simulate_season(m, o);
  EXPECT_EQ(r.simulated_games, 256);
  double wins = 0;
  double playoffs = 0;
  double division = 0;
  double first = 0;
  double conference = 0;
  double sb = 0;
  for (const auto& t : r.teams) {
    wins += t.expected_wins;
    playoffs += t.p_playoffs;
    division += t.p_division;
    first += t.p_first_seed;
    conference += t.p_conference;
    sb += t.p_super_bowl;
    EXPECT_LE(t.p_super_bowl, t.p_conference);
    EXPECT_LE(t.p_conference, t.p_playoffs);
    EXPECT_LE(t.p_division, t.p_playoffs);
    EXPECT_LE(t.p_first_seed, t.p_division);
  }
  EXPECT_NEAR(wins, 256.0, 1e-6); // every game gives one win (a tie two halves)
  EXPECT_NEAR(playoffs, 12.0, 1e-9);
  EXPECT_NEAR(division, 8.0, 1e-9);
  EXPECT_NEAR(first, 2.0, 1e-9);
  EXPECT_NEAR(conference, 2.0, 1e-9);
  EXPECT_NEAR(sb, 1.0, 1e-9);
}

// After the last week everything is actual: the odds collapse to what happened.
TEST(Simulator, FromAfterTheSeasonTheOddsAreWhatHappened) {
  const SimulationModel m = market_model(2023, 23);
  SimulationOptions o;
  o.simulations = 300;
  const auto r = simulate_season(m, o);
  EXPECT_EQ(r.simulated_games, 0);
  const League& league = m.schedule.league;
  EXPECT_EQ(r.teams[league.id("KC")].p_super_bowl, 1.0);
  EXPECT_EQ(r.teams[league.id("SF")].p_conference, 1.0);
  EXPECT_EQ(r.teams[league.id("BAL")].p_first_seed, 1.0);
  EXPECT_EQ(r.teams[league.id("SF")].p_first_seed, 1.0);
  EXPECT_EQ(r.teams[league.id("PIT")].p_playoffs, 1.0);
  EXPECT_EQ(r.teams[league.id("JAX")].p_playoffs, 0.0);
  EXPECT_EQ(r.teams[league.id("HOU")].p_division, 1.0);
  EXPECT_EQ(r.teams[league.id("BAL")].expected_wins, 13.0);
}

// A season simulated from its last week keeps 15/16 of the games: a team that had
// clinched stays at 1.
TEST(Simulator, LateSeasonKeepsClinchedTeams) {
  const SimulationModel m = market_model(2023, 18);
  SimulationOptions o;
  o.simulations = 2000;
  const auto r = simulate_season(m, o);
  EXPECT_EQ(r.simulated_games, 16);
  EXPECT_EQ(r.teams[m.schedule.league.id("SF")].p_first_seed, 1.0); // clinched before week 18
  EXPECT_EQ(r.teams[m.schedule.league.id("CAR")].p_playoffs, 0.0);
}

TEST(Simulator, StopRequestThrows) {
  const SimulationModel m = market_model(2023, 1);
  std::stop_source stop;
  stop.request_stop();
  SimulationOptions o;
  o.simulations = 100000;
  EXPECT_THROW(simulate_season(m, o, stop.get_token()), TaskStopped);
}

TEST(Simulator, EloRatingsFollowRelocatedCodesAndRegressBetweenSeasons) {
  const std::string csv = "team,season,week,rating\nOAK,2019,17,1405\nKC,2020,0,1600\nKC,2020,1,1620\n";
  EloParameters p;
  const League league = league_for_season(2020);
  const Ratings r = elo_ratings_from_csv(csv, league, 2, p);
  EXPECT_DOUBLE_EQ(r.rating[league.id("LV")], (1405 + (1505.0 - 1405) / 3) / 25.0);
  EXPECT_DOUBLE_EQ(r.rating[league.id("KC")], 1620 / 25.0);
  EXPECT_DOUBLE_EQ(r.rating[league.id("NE")], 1505 / 25.0); // no history: the mean
  EXPECT_DOUBLE_EQ(r.home_field, 65 / 25.0);
  const Ratings week1 = elo_ratings_from_csv(csv, league, 1, p);
  EXPECT_DOUBLE_EQ(week1.rating[league.id("KC")], 1600 / 25.0);
  EXPECT_THROW(elo_ratings_from_csv("team,season,rating\n", league, 1, p), InputError);
}

TEST(Simulator, MarketRatingsHaveAHomeField) {
  const Ratings r = market_ratings(schedule_for_season(all_games(), 2010));
  EXPECT_GT(r.home_field, 1.5);
  EXPECT_LT(r.home_field, 3.5);
}

TEST(MonteCarloTask, ConfigErrorsNameTheKey) {
  const TaskType t = monte_carlo_task();
  EXPECT_NO_THROW(t.validate_config(Json::object()));
  EXPECT_NO_THROW(t.validate_config(Json{{"season", 2024}, {"week", 5}, {"rating_source", "market"}, {"sigma", 13}}));
  const auto message = [&](const Json& j) {
    try {
      t.validate_config(j);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"simulatons", 10}}).find("simulatons"), std::string::npos);
  EXPECT_NE(message({{"rating_source", "vegas"}}).find("rating_source"), std::string::npos);
  EXPECT_NE(message({{"season", 1999}}).find("season"), std::string::npos);
  EXPECT_NE(message({{"simulations", 0}}).find("simulations"), std::string::npos);
  EXPECT_NE(message({{"sigma", -1}}).find("sigma"), std::string::npos);
  EXPECT_NE(message({{"threads", "two"}}).find("threads"), std::string::npos);
}

TEST(MonteCarloTask, RunsOnTheIngestionArtifactsAndWritesPlayoffOdds) {
  test::TempDir dir;
  Task ingestion;
  ingestion.id = "ingestion_1";
  ingestion.task_type = "ingestion";
  ingestion.status = TaskStatus::completed;
  Config config;
  {
    TaskContext ictx{.task = ingestion,
                     .config = config,
                     .data_dir = dir.path(),
                     .artifact_dir = dir / "artifacts/ingestion_1",
                     .checkpoint_dir = dir / "checkpoints/ingestion_1",
                     .dependencies = {},
                     .stop = {}};
    std::filesystem::create_directories(ictx.artifact_dir);
    write_artifacts(ictx, {{"games.sqlite", games_db_bytes(all_games())}});
  }
  Task mc;
  mc.id = "monte_carlo_1";
  mc.task_type = "monte_carlo";
  mc.config = {{"season", 2024}, {"week", 10}, {"simulations", 2000}, {"rating_source", "market"}, {"threads", 2}};
  TaskContext ctx{.task = mc,
                  .config = config,
                  .data_dir = dir.path(),
                  .artifact_dir = dir / "artifacts/monte_carlo_1",
                  .checkpoint_dir = dir / "checkpoints/monte_carlo_1",
                  .dependencies = {},
                  .stop = {}};
  std::filesystem::create_directories(ctx.artifact_dir);
  ctx.dependencies.emplace(ingestion.id, ingestion);
  double last_progress = 0;
  ctx.report_progress = [&](double p, const std::string&) { last_progress = p; };
  TaskRegistry registry;
  register_season_tasks(registry);
  const Json result = registry.find("monte_carlo")->run(ctx);
  EXPECT_EQ(result["season"], 2024);
  EXPECT_EQ(result["week"], 10);
  EXPECT_EQ(result["simulations"], 2000);
  EXPECT_GT(result["sigma"].get<double>(), 12.0);
  EXPECT_EQ(result["teams"].size(), 32u);
  EXPECT_GT(last_progress, 90.0);
  const std::string csv = read_file(ctx.artifact_dir / "playoff_odds.csv");
  const auto rows = parse_csv(csv);
  ASSERT_EQ(rows.size(), 33u);
  EXPECT_EQ(rows[0].fields[4], "expected_wins");
  EXPECT_TRUE(result["artifacts"]["files"].contains("playoff_odds.csv"));

  // No week: from "now" (2025 in the bundled data: PHI at LAC of week 14 and weeks 15-18
  // are unplayed); played games of week 14 keep their results.
  mc.config = {{"simulations", 500}, {"rating_source", "market"}};
  const Json now = registry.find("monte_carlo")->run(ctx);
  EXPECT_EQ(now["season"], 2025);
  EXPECT_EQ(now["week"], 14);
  EXPECT_EQ(now["simulated_games"], 65);

  // rating_source elo reads the elo task's elo_ratings.csv (the data family's format).
  Task elo;
  elo.id = "elo_1";
  elo.task_type = "elo";
  elo.status = TaskStatus::completed;
  {
    TaskContext ectx{.task = elo,
                     .config = config,
                     .data_dir = dir.path(),
                     .artifact_dir = dir / "artifacts/elo_1",
                     .checkpoint_dir = dir / "checkpoints/elo_1",
                     .dependencies = {},
                     .stop = {}};
    std::filesystem::create_directories(ectx.artifact_dir);
    const auto run = data::run_elo(all_games(), data::EloParams{});
    write_artifacts(ectx, {{"elo_ratings.csv", data::elo_ratings_csv(run)}});
  }
  ctx.dependencies.emplace(elo.id, elo);
  mc.config = {{"season", 2023}, {"week", 10}, {"simulations", 1000}};
  const Json by_elo = registry.find("monte_carlo")->run(ctx);
  EXPECT_EQ(by_elo["rating_source"], "elo");
  double sb = 0;
  for (const auto& t : by_elo["teams"]) {
    sb += t["p_super_bowl"].get<double>();
  }
  EXPECT_NEAR(sb, 1.0, 1e-9);
  ctx.dependencies.erase(elo.id);

  // rating_source elo without an elo dependency: a terminal failure that says why.
  mc.config = {{"season", 2024}, {"simulations", 10}};
  try {
    registry.find("monte_carlo")->run(ctx);
    ADD_FAILURE() << "expected TaskFailure";
  } catch (const TaskFailure& e) {
    EXPECT_FALSE(e.retryable());
    EXPECT_NE(std::string(e.what()).find("elo"), std::string::npos);
  }
}

} // namespace
} // namespace nfl::analytics::season
