#include <sstream>

#include <gtest/gtest.h>

#include "cli/context.hpp"
#include "known_store.hpp"
#include "monitor/scoreboard.hpp"

namespace nfl::monitor {
namespace {

TEST(Quantiles, MedianAndNearestRank) {
  EXPECT_FALSE(median({}).has_value());
  EXPECT_FALSE(nearest_rank({}, 0.95).has_value());
  EXPECT_DOUBLE_EQ(*median({3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(*median({4, 1, 3, 2}), 2.5);
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) {
    hundred.push_back(i);
  }
  EXPECT_DOUBLE_EQ(*nearest_rank(hundred, 0.95), 95.0);
  EXPECT_DOUBLE_EQ(*nearest_rank({7}, 0.95), 7.0);
}

TEST(Scoreboard, MatchesAKnownSqliteStore) {
  test::KnownStore k;
  const auto board = compute_scoreboard(*k.store);
  ASSERT_EQ(board.task_types.size(), 2u);
  const auto& alpha = board.task_types[0];
  EXPECT_EQ(alpha.task_type, "alpha");
  EXPECT_EQ(alpha.count, 5);
  EXPECT_EQ(alpha.completed, 4);
  EXPECT_EQ(alpha.failed, 1);
  EXPECT_DOUBLE_EQ(*alpha.success_rate, 0.8);
  EXPECT_DOUBLE_EQ(*alpha.median_seconds, 25.0);
  EXPECT_DOUBLE_EQ(*alpha.p95_seconds, 40.0);
  const auto& beta = board.task_types[1];
  EXPECT_EQ(beta.task_type, "beta");
  EXPECT_EQ(beta.count, 4);
  EXPECT_EQ(beta.completed, 2);
  EXPECT_EQ(beta.open, 2);
  EXPECT_DOUBLE_EQ(*beta.success_rate, 1.0);
  EXPECT_DOUBLE_EQ(*beta.median_seconds, 6.0);
  EXPECT_DOUBLE_EQ(*beta.p95_seconds, 7.0);

  ASSERT_EQ(board.machines.size(), 2u);
  EXPECT_EQ(board.machines[0].machine_id, "box-a");
  EXPECT_TRUE(board.machines[0].live);
  EXPECT_EQ(board.machines[0].tasks_done, 2);
  EXPECT_NEAR(board.machines[0].gpu_hours, 1.0, 1e-9);
  EXPECT_NEAR(board.machines[0].cpu_hours, 120.0 / 3600.0, 1e-9);
  EXPECT_EQ(board.machines[1].machine_id, "box-b");
  EXPECT_FALSE(board.machines[1].live);
  EXPECT_EQ(board.machines[1].tasks_done, 4);
  EXPECT_NEAR(board.machines[1].cpu_hours, 4.0, 1e-9);
  EXPECT_NEAR(board.machines[1].gpu_hours, 0.0, 1e-9);
}

TEST(Scoreboard, PagesPastTheListLimit) {
  test::TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  StoreOptions options;
  options.clock = clock;
  auto store = make_sqlite_store(dir / "nfl-compute.db", options);
  std::vector<Task> tasks;
  for (int i = 0; i < 2500; ++i) {
    Task t;
    t.task_type = "many";
    t.config = {{"i", i}};
    normalise(t, clock->now_ms());
    tasks.push_back(t);
  }
  store->add(tasks);
  EXPECT_EQ(all_tasks(*store).size(), 2500u);
  EXPECT_EQ(compute_scoreboard(*store).task_types.at(0).count, 2500);
}

// The command end to end (in-process), on the same store file, text and --json.
TEST(Scoreboard, CommandPrintsTheStoreNumbers) {
  test::KnownStore k;
  const auto state = k.dir.path().string();
  std::ostringstream out;
  std::ostringstream err;
  ASSERT_EQ(cli::run({"nfl-compute", "--scoreboard", "--json", "--state-dir", state}, out, err), 0) << err.str();
  auto j = Json::parse(out.str());
  EXPECT_EQ(j["task_types"][0]["task_type"], "alpha");
  EXPECT_DOUBLE_EQ(j["task_types"][0]["success_rate"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(j["task_types"][0]["median_seconds"].get<double>(), 25.0);
  EXPECT_EQ(j["machines"][1]["tasks_done"], 4);

  std::ostringstream text;
  ASSERT_EQ(cli::run({"nfl-compute", "scoreboard", "--state-dir", state}, text, err), 0) << err.str();
  const auto s = text.str();
  EXPECT_NE(s.find("80.0%"), std::string::npos) << s;
  EXPECT_NE(s.find("25.0s"), std::string::npos) << s;
  EXPECT_NE(s.find("stale"), std::string::npos) << s;
  std::istringstream lines(s);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

} // namespace
} // namespace nfl::monitor
