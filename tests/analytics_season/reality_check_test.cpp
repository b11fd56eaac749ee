// The standings engine against what really happened: for every completed season since
// 2002, the actual regular-season results must give the real division ranks and
// playoff seeds (tests/fixtures/standings.csv, nflverse); for 2024, whose fixture
// rows carry no seeds, the wild-card games and byes in games.csv give the field.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include <fmt/format.h>

#include "analytics/data/games.hpp"
#include "analytics/season/standings.hpp"
#include "util/fs.hpp"

namespace nfl::analytics::season {
namespace {

struct RealRow {
  int div_rank = 0;
  int seed = 0;
  int wins = 0;
  int losses = 0;
  int ties = 0;
};

const std::vector<Game>& all_games() {
  static const std::vector<Game> games = [] {
    IngestReport report;
    auto g = read_games_csv(std::filesystem::path(NFL_SOURCE_DIR) / "share/nfl/games.csv", report);
    return g;
  }();
  return games;
}

// season -> team -> row
std::map<int, std::map<std::string, RealRow>> real_standings() {
  const auto records = parse_csv(read_file(std::filesystem::path(NFL_TEST_FIXTURES) / "standings.csv"));
  std::map<int, std::map<std::string, RealRow>> out;
  for (std::size_t i = 1; i < records.size(); ++i) {
    const auto& f = records[i].fields;
    if (f.size() < 16) {
      continue;
    }
    RealRow r;
    r.wins = std::stoi(f[4]);
    r.losses = std::stoi(f[5]);
    r.ties = std::stoi(f[6]);
    r.div_rank = std::stoi(f[8]);
    r.seed = f[14].empty() ? 0 : std::stoi(f[14]);
    out[std::stoi(f[0])][f[3]] = r;
  }
  return out;
}

struct Computed {
  SeasonSchedule schedule;
  SeasonTable table;
  Standings standings;
  std::vector<TieRecord> ties;
};

Computed compute_actual(int season) {
  Computed c{schedule_for_season(all_games(), season), {}, {}, {}};
  for (const auto& g : c.schedule.regular) {
    if (g.played()) {
      c.table.add_game(g.home, g.away, *g.home_score, *g.away_score);
    }
  }
  StandingsCalculator calc(c.schedule.league.playoff_teams, 1);
  calc.set_log(&c.ties);
  calc.compute(c.table, c.standings);
  return c;
}

TEST(RealityCheck, EverySeasonMatchesRealDivisionRanksAndSeeds) {
  const auto real = real_standings();
  std::vector<std::string> mismatched_seasons;
  std::map<std::string, int> deciding_steps;
  int checked = 0;
  for (int season = 2002; season <= 2023; ++season) {
    ASSERT_TRUE(real.count(season)) << season;
    const Computed c = compute_actual(season);
    for (const auto& tie : c.ties) {
      ++deciding_steps[fmt::format("{} {}", tie.wild_card ? "wild-card" : "division", to_string(tie.step))];
    }
    std::vector<std::string> problems;
    for (int t = 0; t < k_teams; ++t) {
      const std::string& code = c.schedule.league.codes[t];
      const auto it = real.at(season).find(code);
      if (it == real.at(season).end()) {
        problems.push_back(fmt::format("{} missing from the fixture", code));
        continue;
      }
      const RealRow& r = it->second;
      const int wins = c.table.total_wins(t);
      const int ties = c.table.total_ties(t);
      const int losses = c.table.total_games(t) - wins - ties;
      if (wins != r.wins || losses != r.losses || ties != r.ties) {
        problems.push_back(fmt::format("{} record {}-{}-{} vs real {}-{}-{}", code, wins, losses, ties, r.wins,
                                       r.losses, r.ties));
      }
      if (c.standings.div_rank[t] != r.div_rank) {
        problems.push_back(fmt::format("{} div_rank {} vs real {}", code, c.standings.div_rank[t], r.div_rank));
      }
      if (c.standings.seed[t] != r.seed) {
        problems.push_back(fmt::format("{} seed {} vs real {}", code, c.standings.seed[t], r.seed));
      }
      ++checked;
    }
    if (!problems.empty()) {
      std::string text = fmt::format("{}:", season);
      for (const auto& p : problems) {
        text += " " + p + ";";
      }
      for (const auto& tie : c.ties) {
        text += fmt::format(" [{} tie", tie.wild_card ? "wild-card" : "division");
        for (int t : tie.tied) {
          text += " " + c.schedule.league.codes[t];
        }
        text += fmt::format(" -> {} keeps", to_string(tie.step));
        for (int t : tie.kept) {
          text += " " + c.schedule.league.codes[t];
        }
        text += "]";
      }
      mismatched_seasons.push_back(text);
    }
  }
  for (const auto& m : mismatched_seasons) {
    ADD_FAILURE() << "season not matched: " << m;
  }
  std::cout << fmt::format("[reality check] {} team-seasons checked, {} of 22 seasons 2002-2023 matched exactly\n",
                           checked, 22 - mismatched_seasons.size());
  for (const auto& [step, count] : deciding_steps) {
    std::cout << fmt::format("[reality check] {} separated clubs {} times\n", step, count);
  }
}

// The real wild-card round of a season: byes and (home seed, away seed) pairs follow
// from the seeds, so the computed seeds must reproduce the games that were played.
TEST(RealityCheck, PlayoffFieldFromGamesCsvMatchesEverySeasonThrough2024) {
  for (int season = 2002; season <= 2024; ++season) {
    const Computed c = compute_actual(season);
    std::set<int> field;
    std::set<int> wild_card_teams;
    for (const auto& g : c.schedule.playoffs) {
      if (g.game_type == "WC") {
        wild_card_teams.insert(g.home);
        wild_card_teams.insert(g.away);
        // Higher seed hosts; seeds pair up as (2,7) (3,6) (4,5), before 2020 (3,6) (4,5).
        EXPECT_EQ(c.standings.seed[g.home] + c.standings.seed[g.away], 9)
            << season << " " << c.schedule.league.codes[g.home] << " vs " << c.schedule.league.codes[g.away];
        EXPECT_LT(c.standings.seed[g.home], c.standings.seed[g.away]) << season << " " << c.schedule.league.codes[g.home];
      }
      field.insert(g.home);
      field.insert(g.away);
    }
    std::set<int> computed_field;
    std::set<int> computed_byes;
    for (int t = 0; t < k_teams; ++t) {
      if (c.standings.seed[t] > 0) {
        computed_field.insert(t);
        if (!wild_card_teams.count(t)) {
          computed_byes.insert(t);
        }
      }
    }
    EXPECT_EQ(field, computed_field) << season;
    for (int t : computed_byes) {
      const int byes = c.schedule.league.playoff_teams == 7 ? 1 : 2;
      EXPECT_LE(c.standings.seed[t], byes) << season << " " << c.schedule.league.codes[t] << " had a bye";
    }
    EXPECT_EQ(wild_card_teams.size(), season >= 2020 ? 12u : 8u) << season;
  }
}

TEST(RealityCheck, FranchiseCodesOfEverySeasonAreTheAlignment) {
  for (int season = 2002; season <= 2025; ++season) {
    const SeasonSchedule s = schedule_for_season(all_games(), season);
    std::set<int> seen;
    for (const auto& g : s.regular) {
      seen.insert(g.home);
      seen.insert(g.away);
      EXPECT_EQ(division_of(g.home) == division_of(g.away), g.div_game)
          << season << " " << s.league.codes[g.home] << "-" << s.league.codes[g.away];
    }
    EXPECT_EQ(seen.size(), 32u) << season;
  }
}

} // namespace
} // namespace nfl::analytics::season
