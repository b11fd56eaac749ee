// Tie-breaker steps on constructed standings: each test builds records where exactly
// one step separates the tied clubs and checks that the standings used that step
// (the calculator's log) and produced the expected order.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "analytics/season/standings.hpp"

namespace nfl::analytics::season {
namespace {

// AFC East 0-3, AFC North 4-7, AFC South 8-11, AFC West 12-15, NFC 16-31.
class Constructed {
public:
  void win(int winner, int loser, int winner_points = 20, int loser_points = 10) {
    m_table.add_game(winner, loser, winner_points, loser_points);
  }
  void compute(std::uint64_t coin_seed = 1, int playoff_teams = 7) {
    StandingsCalculator calc(playoff_teams, coin_seed);
    m_log.clear();
    calc.set_log(&m_log);
    calc.compute(m_table, m_standings);
  }
  // The first logged step applied to exactly this group.
  const TieRecord* step_for(std::vector<int> tied, bool wild_card) const {
    std::sort(tied.begin(), tied.end());
    for (const auto& r : m_log) {
      auto t = r.tied;
      std::sort(t.begin(), t.end());
      if (t == tied && r.wild_card == wild_card) {
        return &r;
      }
    }
    return nullptr;
  }
  const Standings& standings() const { return m_standings; }
  SeasonTable& table() { return m_table; }

private:
  SeasonTable m_table;
  Standings m_standings;
  std::vector<TieRecord> m_log;
};

void expect_step(const Constructed& c, std::vector<int> tied, bool wild_card, TieStep step, std::vector<int> kept) {
  const TieRecord* r = c.step_for(tied, wild_card);
  ASSERT_NE(r, nullptr) << "no tie-breaker applied to that group";
  EXPECT_EQ(to_string(r->step), to_string(step));
  auto k = r->kept;
  std::sort(k.begin(), k.end());
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(k, kept);
}

TEST(DivisionTwoClubs, HeadToHead) {
  Constructed c;
  c.win(0, 1);
  c.win(0, 1);
  c.win(16, 0);
  c.win(17, 0);
  c.win(1, 18);
  c.win(1, 19);
  c.compute();
  expect_step(c, {0, 1}, false, TieStep::head_to_head, {0});
  EXPECT_EQ(c.standings().div_rank[0], 1);
  EXPECT_EQ(c.standings().div_rank[1], 2);
}

TEST(DivisionTwoClubs, DivisionRecord) {
  Constructed c;
  c.win(0, 1);
  c.win(1, 0);
  c.win(0, 2);  // A 2-1 in the division
  c.win(20, 0);
  c.win(1, 21);
  c.win(3, 1);  // B 1-2 in the division
  for (int nfc : {22, 23, 24}) {
    c.win(nfc, 3);
  }
  c.compute();
  expect_step(c, {0, 1}, false, TieStep::division_record, {0});
  EXPECT_EQ(c.standings().div_rank[0], 1);
}

TEST(DivisionTwoClubs, CommonGames) {
  Constructed c;
  c.win(0, 1);
  c.win(1, 0);
  c.win(0, 2);
  c.win(1, 2);
  c.win(0, 16); // common opponent 16: A won, B lost
  c.win(16, 1);
  c.win(1, 17); // only B played 17, only A played 18
  c.win(18, 0);
  c.compute();
  expect_step(c, {0, 1}, false, TieStep::common_games, {0});
}

TEST(DivisionTwoClubs, ConferenceRecord) {
  Constructed c;
  c.win(0, 1);
  c.win(1, 0);
  c.win(0, 8);  // AFC win
  c.win(16, 0); // NFC loss
  c.win(1, 17); // NFC win
  c.win(9, 1);  // AFC loss
  c.compute();
  expect_step(c, {0, 1}, false, TieStep::conference_record, {0});
}

TEST(DivisionTwoClubs, StrengthOfVictory) {
  Constructed c;
  c.win(0, 1);
  c.win(1, 0);
  c.win(0, 8);
  c.win(9, 0);
  c.win(1, 10);
  c.win(11, 1);
  c.win(8, 20); // A's victim 8 is better than B's victim 10
  c.win(8, 21);
  c.win(22, 10);
  c.compute();
  expect_step(c, {0, 1}, false, TieStep::strength_of_victory, {0});
}

TEST(DivisionTwoClubs, StrengthOfSchedule) {
  Constructed c;
  c.win(0, 1);
  c.win(1, 0);
  c.win(0, 8);
  c.win(9, 0);
  c.win(1, 10);
  c.win(11, 1);
  c.win(9, 20); // A lost to a better team than B did; the victims are equal
  c.compute();
  expect_step(c, {0, 1}, false, TieStep::strength_of_schedule, {0});
}

TEST(DivisionTwoClubs, ConferencePointsRanking) {
  Constructed c;
  c.win(0, 1, 30, 10);
  c.win(1, 0, 21, 20);
  c.compute();
  expect_step(c, {0, 1}, false, TieStep::conference_points_rank, {0});
}

TEST(DivisionTwoClubs, CoinTossIsSeededAndCanGoEitherWay) {
  std::set<int> winners;
  for (std::uint64_t seed = 1; seed <= 16; ++seed) {
    Constructed c;
    c.win(0, 1, 20, 10);
    c.win(1, 0, 20, 10);
    c.compute(seed);
    expect_step(c, {0, 1}, false, TieStep::coin_toss, {c.standings().div_rank[0] == 1 ? 0 : 1});
    winners.insert(c.standings().div_rank[0] == 1 ? 0 : 1);
    Constructed again;
    again.win(0, 1, 20, 10);
    again.win(1, 0, 20, 10);
    again.compute(seed);
    EXPECT_EQ(again.standings().div_rank, c.standings().div_rank) << "same seed, same toss";
  }
  EXPECT_EQ(winners.size(), 2u);
}

// Three clubs tied: head-to-head among the three names the champion; the other two
// then start again with the two-club procedure (their split head-to-head, then
// division record), which orders them the other way round than the three-way
// head-to-head did.
TEST(DivisionThreeClubs, WinnerThenTheOtherTwoRestartAtTwoClubFormat) {
  Constructed c;
  c.win(0, 1);
  c.win(0, 1);
  c.win(0, 2);
  c.win(2, 0);
  c.win(1, 2);
  c.win(2, 1);
  c.win(1, 3);
  c.win(1, 3);
  c.win(3, 2);
  c.win(3, 2);
  c.win(2, 16);
  c.win(17, 1);
  c.win(3, 0);
  c.win(3, 0);
  c.win(18, 0);
  for (int nfc : {19, 20, 21, 22}) {
    c.win(nfc, 3);
  }
  c.compute();
  // All three 3-4.
  for (int t : {0, 1, 2}) {
    EXPECT_EQ(c.table().total_half_points(t), 6) << t;
    EXPECT_EQ(c.table().total_games(t), 7) << t;
  }
  expect_step(c, {0, 1, 2}, false, TieStep::head_to_head, {0});
  expect_step(c, {1, 2}, false, TieStep::division_record, {1});
  EXPECT_EQ(c.standings().div_rank[0], 1);
  EXPECT_EQ(c.standings().div_rank[1], 2);
  EXPECT_EQ(c.standings().div_rank[2], 3);
  EXPECT_EQ(c.standings().div_rank[3], 4);
}

// Division winners 0, 4, 8, 12 with ten wins each over NFC clubs.
void clear_division_winners(Constructed& c) {
  for (int winner : {0, 4, 8, 12}) {
    for (int i = 0; i < 10; ++i) {
      c.win(winner, 16 + (winner / 4 * 4 + i) % 16);
    }
  }
}

// Three wild-card clubs in a cycle (no sweep): conference record drops C; A and B
// restart with the two-club format, where B's head-to-head win decides, although
// A would win the next three-club step (strength of victory).
TEST(WildCardThreeClubs, EliminationRestartsAtHeadToHead) {
  Constructed c;
  clear_division_winners(c);
  const int a = 1;
  const int b = 5;
  const int cc = 9;
  c.win(b, a);
  c.win(cc, b);
  c.win(a, cc);
  c.win(13, cc);
  c.win(cc, 16);
  c.win(a, 17);
  c.win(18, a);
  c.win(b, 19);
  c.win(20, b);
  for (int nfc : {21, 22, 23}) {
    c.win(17, nfc);
  }
  for (int nfc : {24, 25, 26}) {
    c.win(nfc, 13);
  }
  c.compute();
  expect_step(c, {a, b, cc}, true, TieStep::conference_record, {a, b});
  expect_step(c, {a, b}, true, TieStep::head_to_head, {b});
  EXPECT_EQ(c.standings().seed[b], 5);
  EXPECT_EQ(c.standings().seed[a], 6); // then A over C head-to-head
  EXPECT_EQ(c.standings().seed[cc], 7);
}

TEST(WildCardThreeClubs, HeadToHeadSweep) {
  Constructed c;
  clear_division_winners(c);
  c.win(1, 5);
  c.win(1, 9);
  c.win(5, 9);
  c.win(16, 1);
  c.win(16, 1);
  c.win(9, 17);
  c.win(9, 18);
  c.win(5, 19);
  c.win(20, 5);
  c.compute();
  expect_step(c, {1, 5, 9}, true, TieStep::head_to_head_sweep, {1});
  EXPECT_EQ(c.standings().seed[1], 5);
}

// Two clubs of one division and one of another tie for a wild card: only the
// division's higher-ranked club goes on.
TEST(WildCardThreeClubs, OnlyTheHighestRankedClubOfEachDivision) {
  Constructed c;
  clear_division_winners(c);
  c.win(1, 2); // 1 ranks above 2 in the AFC East (head-to-head)
  c.win(2, 16);
  c.win(2, 17);
  c.win(18, 2);
  c.win(1, 19);
  c.win(20, 1);
  c.win(21, 1);
  c.win(5, 22);
  c.win(5, 23);
  c.win(24, 5);
  c.win(25, 5);
  c.compute();
  expect_step(c, {1, 2, 5}, true, TieStep::division_rank, {1, 5});
  EXPECT_LT(c.standings().div_rank[1], c.standings().div_rank[2]);
}

// Common games need at least four per club in the wild-card procedure: with three
// the step is skipped and strength of victory decides.
TEST(WildCardTwoClubs, CommonGamesNeedFour) {
  Constructed c;
  clear_division_winners(c);
  // 1 and 5: same conference record, three common opponents (16, 17, 18).
  c.win(1, 16);
  c.win(1, 17);
  c.win(18, 1);
  c.win(16, 5);
  c.win(5, 17);
  c.win(5, 18);
  c.win(1, 6); // victims: 6 is better than 2
  c.win(5, 2);
  c.win(6, 27);
  c.win(6, 28);
  c.win(29, 1);
  c.win(30, 5);
  c.compute();
  expect_step(c, {1, 5}, true, TieStep::strength_of_victory, {1});
  EXPECT_LT(c.standings().seed[1], c.standings().seed[5]);
}

TEST(WildCardTwoClubs, FourCommonGamesDecide) {
  Constructed c;
  clear_division_winners(c);
  for (int o : {16, 17, 18}) {
    c.win(1, o);
  }
  c.win(19, 1);
  for (int o : {16, 17}) {
    c.win(5, o);
  }
  c.win(18, 5);
  c.win(19, 5);
  c.win(5, 20); // 5 gets back level outside the common games
  c.win(21, 1);
  c.compute();
  expect_step(c, {1, 5}, true, TieStep::common_games, {1});
}

} // namespace
} // namespace nfl::analytics::season
