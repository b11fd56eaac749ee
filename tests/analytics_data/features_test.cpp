#include <gtest/gtest.h>

#include <cmath>

#include "analytics/data/data_common.hpp"
#include "analytics/data/features.hpp"
#include "analytics/data/games.hpp"
#include "util/error.hpp"

namespace nfl::analytics::data {
namespace {

Game game(int season, int week, const std::string& day, const std::string& away, std::optional<int> away_score,
          const std::string& home, std::optional<int> home_score) {
  Game g;
  g.season = season;
  g.week = week;
  g.game_type = "REG";
  g.gameday = day;
  g.game_id = std::to_string(season) + "_" + std::to_string(week) + "_" + away + "_" + home;
  g.away_team = away;
  g.home_team = home;
  g.away_score = away_score;
  g.home_score = home_score;
  return g;
}

const std::vector<Game>& real_games() {
  static const std::vector<Game> games = [] {
    IngestReport report;
    return read_games_csv(bundled_games_csv(), report);
  }();
  return games;
}

bool same(const std::optional<double>& a, const std::optional<double>& b) {
  return a.has_value() == b.has_value() && (!a || *a == *b);
}

bool same_features(const GameFeatures& a, const GameFeatures& b) {
  auto form_same = [](const TeamForm& x, const TeamForm& y) {
    return x.games == y.games && same(x.point_diff, y.point_diff) && same(x.points_for, y.points_for) &&
           same(x.points_against, y.points_against);
  };
  return a.rest_diff == b.rest_diff && form_same(a.home, b.home) && form_same(a.away, b.away) &&
         a.div_game == b.div_game && a.roof_bucket == b.roof_bucket && a.surface_bucket == b.surface_bucket &&
         a.temp_bucket == b.temp_bucket && a.wind_bucket == b.wind_bucket && same(a.market_p_home, b.market_p_home) &&
         same(a.spread_line, b.spread_line) && same(a.home_implied_points, b.home_implied_points) &&
         same(a.away_implied_points, b.away_implied_points);
}

TEST(Features, RollingFormByHand) {
  // A: +7 (home 17-10), then -3 (away 20-23), then the game described.
  std::vector<Game> g = {game(2000, 1, "2000-09-03", "B", 10, "A", 17), game(2000, 2, "2000-09-10", "A", 20, "C", 23),
                         game(2000, 3, "2000-09-17", "D", std::nullopt, "A", std::nullopt)};
  FeatureParams p;
  auto f = compute_features(g, p);
  EXPECT_EQ(f[0].home.games, 0);
  EXPECT_FALSE(f[0].home.point_diff);
  EXPECT_EQ(f[2].home.games, 2);
  EXPECT_DOUBLE_EQ(*f[2].home.point_diff, (7.0 - 3.0) / 2);
  EXPECT_DOUBLE_EQ(*f[2].home.points_for, (17.0 + 20.0) / 2);
  EXPECT_DOUBLE_EQ(*f[2].home.points_against, (10.0 + 23.0) / 2);
  EXPECT_EQ(f[2].away.games, 0);
  p.window = 1;
  f = compute_features(g, p);
  EXPECT_DOUBLE_EQ(*f[2].home.point_diff, -3.0); // only the last game
}

TEST(Features, CrossSeasonSwitch) {
  std::vector<Game> g = {game(2000, 1, "2000-09-03", "B", 10, "A", 17), game(2001, 1, "2001-09-09", "C", 3, "A", 6)};
  FeatureParams p;
  EXPECT_EQ(compute_features(g, p)[1].home.games, 1);
  p.cross_season = false;
  EXPECT_EQ(compute_features(g, p)[1].home.games, 0);
}

TEST(Features, MarketAndImpliedScores) {
  Game g = game(2020, 1, "2020-09-13", "KC", 20, "BUF", 24);
  g.home_moneyline = 130;  // implied 100/230 = 0.434783
  g.away_moneyline = -150; // implied 150/250 = 0.6; sum 1.034783
  g.spread_line = -3;      // away favoured by 3
  g.total_line = 47;
  g.roof = "closed";
  g.surface = "dessograss";
  auto f = compute_features({g}, FeatureParams{});
  EXPECT_NEAR(*f[0].market_p_home, 0.434783 / 1.034783, 1e-6);
  EXPECT_NEAR(*f[0].market_p_home + *f[0].market_p_away, 1.0, 1e-15);
  EXPECT_DOUBLE_EQ(*f[0].home_implied_points, 22.0); // (47 - 3) / 2
  EXPECT_DOUBLE_EQ(*f[0].away_implied_points, 25.0); // (47 + 3) / 2
  EXPECT_EQ(f[0].roof_bucket, "indoor");
  EXPECT_EQ(f[0].temp_bucket, "indoor");
  EXPECT_EQ(f[0].surface_bucket, "grass");
}

TEST(Features, NoFeatureUsesTheGamesOwnResult) {
  const auto& games = real_games();
  // A mid-season game: perturb its result and recompute everything.
  std::size_t target = 0;
  for (std::size_t i = 0; i < games.size(); ++i) {
    if (games[i].game_id == "2015_08_SEA_DAL") {
      target = i;
    }
  }
  ASSERT_EQ(games[target].game_id, "2015_08_SEA_DAL");
  auto before = compute_features(games, FeatureParams{});
  std::vector<Game> changed = games;
  *changed[target].home_score += 30;
  *changed[target].away_score += 3;
  changed[target].overtime = !changed[target].overtime;
  auto after = compute_features(changed, FeatureParams{});
  // The game itself and every game up to its date: identical.
  std::size_t earlier_or_same_day = 0;
  for (std::size_t i = 0; i < games.size(); ++i) {
    if (games[i].gameday <= games[target].gameday) {
      EXPECT_TRUE(same_features(before[i], after[i])) << games[i].game_id;
      ++earlier_or_same_day;
    }
  }
  EXPECT_TRUE(same_features(before[target], after[target]));
  EXPECT_GT(earlier_or_same_day, 4000U);
  // Later games of both teams do see it: the perturbation is not a no-op.
  int later_changed = 0;
  for (std::size_t i = 0; i < games.size(); ++i) {
    if (games[i].gameday > games[target].gameday && !same_features(before[i], after[i])) {
      ++later_changed;
      const auto& g = games[i];
      bool involves = g.home_team == "DAL" || g.away_team == "DAL" || g.home_team == "SEA" || g.away_team == "SEA";
      EXPECT_TRUE(involves) << g.game_id;
    }
  }
  EXPECT_GE(later_changed, 16); // the next 8 games of each team
}

TEST(Features, RealDataSummary) {
  const auto& games = real_games();
  auto f = compute_features(games, FeatureParams{});
  ASSERT_EQ(f.size(), games.size());
  int with_market = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    with_market += f[i].market_p_home ? 1 : 0;
    if (f[i].market_p_home) {
      EXPECT_GT(*f[i].market_p_home, 0.0);
      EXPECT_LT(*f[i].market_p_home, 1.0);
    }
  }
  EXPECT_EQ(with_market, 5234); // SOURCE.md: moneylines from 2006
  auto csv = features_csv(f);
  auto recs = parse_csv(csv);
  ASSERT_EQ(recs.size(), games.size() + 1);
  for (const auto& r : recs) {
    ASSERT_EQ(r.fields.size(), recs[0].fields.size());
  }
}

TEST(Features, ConfigValidation) {
  EXPECT_NO_THROW(feature_params_from_config({{"window", 4}, {"cross_season", false}}));
  EXPECT_THROW(feature_params_from_config({{"windwo", 4}}), InputError);
  EXPECT_THROW(feature_params_from_config({{"window", 0}}), InputError);
  EXPECT_THROW(feature_params_from_config({{"window", 2.5}}), InputError);
  EXPECT_THROW(feature_params_from_config(Json::array()), InputError);
}

} // namespace
} // namespace nfl::analytics::data
