#include <gtest/gtest.h>

#include <iostream>
#include <map>

#include "analytics/data/elo.hpp"
#include "analytics/data/games.hpp"
#include "util/error.hpp"

namespace nfl::analytics::data {
namespace {

Game game(int season, int week, const std::string& away, int away_score, const std::string& home, int home_score,
          bool neutral = false) {
  Game g;
  g.season = season;
  g.week = week;
  g.game_type = "REG";
  g.gameday = std::to_string(season) + "-10-0" + std::to_string(week);
  g.game_id = std::to_string(season) + "_0" + std::to_string(week) + "_" + away + "_" + home;
  g.away_team = away;
  g.home_team = home;
  g.away_score = away_score;
  g.home_score = home_score;
  g.neutral = neutral;
  return g;
}

TEST(Elo, HomeWinHandChecked) {
  // Both 1505, home field 65: Δ = 65, p = 1/(10^(-65/400)+1) = 0.592466.
  // MOV 7: ln(8) * 2.2/(65*0.001 + 2.2) = 2.079442 * 0.971302 = 2.019767.
  // shift = 20 * 2.019767 * (1 - 0.592466) = 16.462462.
  auto run = run_elo({game(2000, 1, "AAA", 10, "BBB", 17)}, EloParams{});
  ASSERT_EQ(run.games.size(), 1U);
  const EloGame& e = run.games[0];
  EXPECT_NEAR(e.diff, 65.0, 1e-12);
  EXPECT_NEAR(e.p_home, 0.5924662306, 1e-9);
  EXPECT_NEAR(e.spread, 2.6, 1e-12); // 65 / 25
  EXPECT_NEAR(*e.home_elo_post, 1521.4624621, 1e-6);
  EXPECT_NEAR(*e.away_elo_post, 1488.5375379, 1e-6);
}

TEST(Elo, HomeLossUsesNegatedDiffForTheWinner) {
  // Home 1600, away 1500: Δ = 100 + 65 = 165, p = 0.721078. Away wins by 3, so the
  // winner's Δ is -165: ln(4) * 2.2/(-0.165 + 2.2) = 1.386294 * 1.081081 = 1.498697.
  // shift = 20 * 1.498697 * (0 - 0.721078) = -21.613550.
  double diff = 1600 - 1500 + 65.0;
  EXPECT_NEAR(elo_win_probability(diff), 0.7210782432, 1e-9);
  EXPECT_NEAR(elo_mov_multiplier(-3, diff), 1.4986966066, 1e-9);
  EXPECT_NEAR(elo_shift(EloParams{}, -3, diff), -21.6135503237, 1e-9);
  // And the runner applies exactly the step functions to its pre-game ratings, here
  // after a first game has moved them apart.
  auto run = run_elo({game(2000, 1, "AAA", 0, "BBB", 35), game(2000, 2, "AAA", 20, "BBB", 17)}, EloParams{});
  const EloGame& second = run.games[1];
  double shift = elo_shift(EloParams{}, -3, second.diff);
  EXPECT_NEAR(*second.home_elo_post, second.home_elo + shift, 1e-9);
  EXPECT_NEAR(*second.away_elo_post, second.away_elo - shift, 1e-9);
}

TEST(Elo, TieHandChecked) {
  // Home 1550, away 1500: Δ = 115, p = 0.659708. A tie divides 2.2 by 1.0 in
  // forecast.py: mult = ln(max(0,1)+1) * 2.2 = 1.524924.
  // shift = 20 * 1.524924 * (0.5 - 0.659708) = -4.870850.
  EXPECT_NEAR(elo_mov_multiplier(0, 115.0), 1.5249237972, 1e-9);
  EXPECT_NEAR(elo_shift(EloParams{}, 0, 115.0), -4.8708504176, 1e-9);
  // Through the runner with equal starting ratings at home: Δ = 65, p = 0.592466,
  // shift = 20 * 1.524924 * (0.5 - 0.592466) = -2.820079.
  auto run = run_elo({game(2000, 1, "AAA", 20, "BBB", 20)}, EloParams{});
  EXPECT_NEAR(*run.games[0].home_elo_post, 1505.0 - 2.8200791, 1e-6);
}

TEST(Elo, NeutralSiteHasNoHomeField) {
  // Neutral, both 1505: Δ = 0, p = 0.5; win by 10: ln(11) * 2.2/2.2 = 2.397895;
  // shift = 20 * 2.397895 * 0.5 = 23.978953.
  auto run = run_elo({game(2000, 1, "AAA", 0, "BBB", 10, true)}, EloParams{});
  EXPECT_NEAR(run.games[0].diff, 0.0, 1e-12);
  EXPECT_NEAR(run.games[0].p_home, 0.5, 1e-12);
  EXPECT_NEAR(*run.games[0].home_elo_post, 1528.9789527, 1e-6);
}

TEST(Elo, WithoutMovTheMultiplierIsOne) {
  EloParams p;
  p.mov = false;
  // shift = 20 * (1 - 0.592466) = 8.150675
  EXPECT_NEAR(elo_shift(p, 30, 65.0), 8.1506753883, 1e-9);
}

TEST(Elo, SeasonBoundaryRegressesOneThirdToTheMeanAndExpansionStartsLow) {
  auto run = run_elo({game(2000, 1, "AAA", 0, "BBB", 35), game(2001, 1, "CCC", 3, "BBB", 10)}, EloParams{});
  double bbb_end = *run.games[0].home_elo_post;
  double aaa_end = *run.games[0].away_elo_post;
  std::map<std::pair<std::string, int>, double> start; // week-0 ratings
  for (const auto& r : run.ratings) {
    if (r.week == 0) {
      start[{r.team, r.season}] = r.rating;
    }
  }
  // 2/3 of the old rating plus 1/3 of 1505.
  const std::pair<std::string, int> bbb_2001{"BBB", 2001};
  EXPECT_NEAR(start[bbb_2001], bbb_end * 2.0 / 3.0 + 1505.0 / 3.0, 1e-9);
  EXPECT_NEAR(run.games[1].home_elo, bbb_end * 2.0 / 3.0 + 1505.0 / 3.0, 1e-9);
  EXPECT_EQ(start.count(std::make_pair(std::string("AAA"), 2001)), 0U); // did not play in 2001: no row
  EXPECT_NEAR(run.games[1].away_elo, 1300.0, 1e-12); // CCC first seen in 2001
  EXPECT_GT(bbb_end, 1505.0);
  EXPECT_LT(aaa_end, 1505.0);
}

TEST(Elo, RelocatedFranchiseKeepsItsRating) {
  auto run = run_elo({game(2015, 1, "AAA", 0, "STL", 35), game(2016, 1, "AAA", 0, "LA", 7)}, EloParams{});
  double stl_end = *run.games[0].home_elo_post;
  EXPECT_NEAR(run.games[1].home_elo, stl_end * 2.0 / 3.0 + 1505.0 / 3.0, 1e-9);
}

TEST(Elo, ConfigRejectsUnknownKeysAndBadValues) {
  EXPECT_NO_THROW(elo_params_from_config(Json::object()));
  EXPECT_NO_THROW(elo_params_from_config(Json()));
  auto message = [](const Json& j) {
    try {
      elo_params_from_config(j);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"kk", 20}}).find("'kk'"), std::string::npos);
  EXPECT_NE(message({{"k", "20"}}).find("'k'"), std::string::npos);
  EXPECT_NE(message({{"revert", 1.5}}).find("revert"), std::string::npos);
  EXPECT_NE(message({{"mov", 1}}).find("mov"), std::string::npos);
  EloParams p = elo_params_from_config({{"k", 25}, {"home_advantage", 48}, {"revert", 0.25}, {"mov", false}});
  EXPECT_EQ(p.k, 25);
  EXPECT_EQ(p.home_advantage, 48);
  EXPECT_EQ(p.revert, 0.25);
  EXPECT_FALSE(p.mov);
}

TEST(EloOnRealData, MarketBeatsClassicEloOnBrierOverTheFullHistory) {
  IngestReport report;
  auto games = read_games_csv(bundled_games_csv(), report);
  auto run = run_elo(games, EloParams{});
  const Json& overall = run.metrics["overall"];
  double elo = overall["elo"]["brier"].get<double>();
  double market = overall["market"]["brier"].get<double>();
  EXPECT_EQ(overall["elo"]["n"], overall["market"]["n"]); // same games
  EXPECT_GT(overall["market"]["n"].get<int>(), 5000);
  EXPECT_LT(market, elo);
  // Both clearly better than a coin (0.25), and Elo not absurdly far behind.
  EXPECT_LT(elo, 0.235);
  EXPECT_GT(elo, market);
  EXPECT_LT(overall["market"]["log_loss"].get<double>(), overall["elo"]["log_loss"].get<double>());
  // Ratings stay centred near the mean (the system is zero-sum apart from expansion).
  double sum = 0;
  int n = 0;
  for (const auto& r : run.ratings) {
    if (r.season == 2024 && r.week == 0) {
      sum += r.rating;
      ++n;
    }
  }
  ASSERT_EQ(n, 32);
  EXPECT_NEAR(sum / n, 1505.0, 15.0);
  // Printed for docs/analytics-data.md.
  std::cout << "elo overall: " << overall.dump() << "\n";
}

} // namespace
} // namespace nfl::analytics::data
