#include <gtest/gtest.h>

#include <map>
#include <set>

#include "analytics/data/games.hpp"
#include "support/redis_server.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::analytics {
namespace {

using test::TempDir;

const std::string k_header =
    "game_id,season,game_type,week,gameday,weekday,gametime,away_team,away_score,home_team,home_score,location,"
    "result,total,overtime,away_rest,home_rest,away_moneyline,home_moneyline,spread_line,total_line,div_game,roof,"
    "surface,temp,wind,stadium\n";

std::filesystem::path write_csv(const TempDir& dir, const std::string& body, const std::string& header = k_header) {
  auto path = dir / "games.csv";
  write_file_atomic(path, header + body);
  return path;
}

TEST(CsvReader, QuotedFieldsEmptyStringsAndCommas) {
  auto recs = parse_csv("a,b,c\n\"x, y\",\"\",\"say \"\"hi\"\"\"\r\n1,,3\n");
  ASSERT_EQ(recs.size(), 3U);
  EXPECT_EQ(recs[1].fields, (std::vector<std::string>{"x, y", "", "say \"hi\""}));
  EXPECT_EQ(recs[2].fields, (std::vector<std::string>{"1", "", "3"}));
  EXPECT_EQ(recs[2].first_line, 3);
}

TEST(CsvReader, QuotedNewlineKeepsLineNumbersOfLaterRecords) {
  auto recs = parse_csv("a,b\n\"two\nlines\",x\nlast,y");
  ASSERT_EQ(recs.size(), 3U);
  EXPECT_EQ(recs[1].fields[0], "two\nlines");
  EXPECT_EQ(recs[1].first_line, 2);
  EXPECT_EQ(recs[2].first_line, 4);
  EXPECT_EQ(recs[2].fields[1], "y"); // no trailing newline
}

TEST(CsvReader, TextAfterClosingQuoteSpoilsOnlyThatRecord) {
  auto recs = parse_csv("a,b\n\"x\"y,1\nok,2\n");
  ASSERT_EQ(recs.size(), 3U);
  EXPECT_FALSE(recs[1].error.empty());
  EXPECT_TRUE(recs[2].error.empty());
}

TEST(CsvReader, UnclosedQuoteIsAnError) {
  EXPECT_THROW(parse_csv("a,b\n\"open,1\n"), InputError);
}

TEST(CsvReader, FieldWriterRoundTrips) {
  std::vector<std::string> values = {"plain", "a,b", "say \"x\"", "", "two\nlines"};
  std::string line;
  for (std::size_t i = 0; i < values.size(); ++i) {
    line += (i ? "," : "") + csv_field(values[i]);
  }
  auto recs = parse_csv(line + "\n");
  ASSERT_EQ(recs.size(), 1U);
  EXPECT_EQ(recs[0].fields, values);
}

TEST(GamesCsv, MissingRequiredColumnIsNamed) {
  TempDir dir;
  std::string header = k_header;
  header.replace(header.find("spread_line,"), 12, "");
  auto path = write_csv(dir, "", header);
  IngestReport report;
  try {
    read_games_csv(path, report);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("spread_line"), std::string::npos) << e.what();
  }
}

TEST(GamesCsv, ColumnsInAnyOrderAndExtraColumnsIgnored) {
  TempDir dir;
  // Same columns as k_header, reversed, plus one unknown.
  std::vector<std::string> cols;
  auto header_recs = parse_csv(k_header);
  for (auto it = header_recs[0].fields.rbegin(); it != header_recs[0].fields.rend(); ++it) {
    cols.push_back(*it);
  }
  cols.emplace_back("something_new");
  std::map<std::string, std::string> v = {
      {"game_id", "2020_01_KC_BUF"}, {"season", "2020"},      {"game_type", "REG"},   {"week", "1"},
      {"gameday", "2020-09-13"},     {"away_team", "KC"},     {"away_score", "20"},   {"home_team", "BUF"},
      {"home_score", "24"},          {"location", "Home"},    {"result", "4"},        {"overtime", "0"},
      {"away_rest", "7"},            {"home_rest", "7"},      {"away_moneyline", "-150"},
      {"home_moneyline", "130"},     {"spread_line", "-3"},   {"total_line", "47.5"}, {"div_game", "0"},
      {"roof", "outdoors"},          {"surface", "grass "},   {"temp", "70"},         {"wind", "5"},
      {"stadium", "Stadium, Orchard Park"}};
  std::string header;
  std::string row;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    header += (i ? "," : "") + cols[i];
    row += (i ? "," : "") + csv_field(v.count(cols[i]) ? v[cols[i]] : "");
  }
  auto path = write_csv(dir, row + "\n", header + "\n");
  IngestReport report;
  auto games = read_games_csv(path, report);
  ASSERT_TRUE(report.rejects.empty()) << report.rejects[0].reason;
  ASSERT_EQ(games.size(), 1U);
  const Game& g = games[0];
  EXPECT_EQ(g.home_team, "BUF");
  EXPECT_EQ(g.away_team, "KC");
  EXPECT_EQ(g.result(), 4);
  EXPECT_EQ(g.surface, "grass"); // trimmed
  EXPECT_DOUBLE_EQ(*g.spread_line, -3.0);
  EXPECT_DOUBLE_EQ(*g.away_moneyline, -150.0);
}

TEST(GamesCsv, RowRejectsCarryLineAndReason) {
  TempDir dir;
  const std::string good = "2020_01_KC_BUF,2020,REG,1,2020-09-13,Sunday,13:00,KC,20,BUF,24,Home,4,44,0,7,7,,,-3,47,0,"
                           "outdoors,\"\",,,X\n";
  std::string body = good;                                                                            // line 2
  body += "2020_01_A_B,2020,REG,1,2020-09-13,Sunday,13:00,A,20,B,24,Home,4,44,0,7,7,,,-3,47,0\n";      // 3: fields
  body += "2020_01_A_C,2020,REG,1,2020-09-13,Sunday,13:00,A,x,C,24,Home,,,0,7,7,,,-3,47,0,dome,,,,X\n"; // 4: score
  body += "2020_01_A_D,2020,REG,1,2020-02-30,Sunday,13:00,A,20,D,24,Home,4,44,0,7,7,,,-3,47,0,dome,,,,X\n"; // 5
  body += "2020_01_A_E,2020,PRE,1,2020-09-13,Sunday,13:00,A,20,E,24,Home,4,44,0,7,7,,,-3,47,0,dome,,,,X\n"; // 6
  body += "2020_01_A_F,2020,REG,1,2020-09-13,Sunday,13:00,A,20,F,,Home,,,0,7,7,,,-3,47,0,dome,,,,X\n";   // 7
  body += "2020_01_A_G,2020,REG,1,2020-09-13,Sunday,13:00,A,20,G,24,Home,5,44,0,7,7,,,-3,47,0,dome,,,,X\n"; // 8
  body += "2020_01_A_H,2020,REG,1,2020-09-13,Sunday,13:00,A,20,H,24,Away,4,44,0,7,7,,,-3,47,0,dome,,,,X\n"; // 9
  body += "2020_01_A_I,2020,REG,1,2020-09-13,Sunday,13:00,A,20,I,24,Home,4,44,0,7,7,50,,-3,47,0,dome,,,,X\n"; // 10
  body += good;                                                                                       // 11: dup
  body += "2020_02_A_J,2020,REG,2,2020-09-20,Sunday,13:00,A,,J,,Home,,,,7,7,,,-3,47,0,dome,,,,\"a, b\"\n"; // 12 ok
  auto path = write_csv(dir, body);
  IngestReport report;
  auto games = read_games_csv(path, report);
  EXPECT_EQ(report.rows_read, 11U);
  ASSERT_EQ(games.size(), 2U);
  EXPECT_EQ(games[0].surface, "");
  EXPECT_FALSE(games[1].played());
  std::map<int, std::string> by_line;
  for (const auto& r : report.rejects) {
    by_line[r.line] = r.reason;
  }
  ASSERT_EQ(by_line.size(), 9U);
  EXPECT_NE(by_line[3].find("fields"), std::string::npos) << by_line[3];
  EXPECT_NE(by_line[4].find("away_score"), std::string::npos) << by_line[4];
  EXPECT_NE(by_line[5].find("gameday"), std::string::npos) << by_line[5];
  EXPECT_NE(by_line[6].find("game_type"), std::string::npos) << by_line[6];
  EXPECT_NE(by_line[7].find("away_score is given without home_score"), std::string::npos) << by_line[7];
  EXPECT_NE(by_line[8].find("result"), std::string::npos) << by_line[8];
  EXPECT_NE(by_line[9].find("location"), std::string::npos) << by_line[9];
  EXPECT_NE(by_line[10].find("away_moneyline"), std::string::npos) << by_line[10];
  EXPECT_NE(by_line[11].find("appears again"), std::string::npos) << by_line[11];
}

TEST(GamesCsv, BundledFileMatchesSourceMd) {
  IngestReport report;
  auto games = read_games_csv(bundled_games_csv(), report);
  EXPECT_TRUE(report.rejects.empty());
  EXPECT_EQ(report.rows_read, 7263U);
  ASSERT_EQ(games.size(), 7263U);
  std::map<std::string, int> by_type;
  int played = 0;
  int neutral = 0;
  int with_ml = 0;
  std::set<std::string> surfaces;
  for (const auto& g : games) {
    ++by_type[g.game_type];
    played += g.played() ? 1 : 0;
    neutral += g.neutral ? 1 : 0;
    with_ml += (g.home_moneyline && g.away_moneyline) ? 1 : 0;
    surfaces.insert(g.surface);
  }
  // Counts stated in share/nfl/SOURCE.md.
  EXPECT_EQ(by_type["REG"], 6967);
  EXPECT_EQ(by_type["WC"], 114);
  EXPECT_EQ(by_type["DIV"], 104);
  EXPECT_EQ(by_type["CON"], 52);
  EXPECT_EQ(by_type["SB"], 26);
  EXPECT_EQ(played, 7198);
  EXPECT_EQ(neutral, 93);
  EXPECT_EQ(with_ml, 5234);
  EXPECT_EQ(surfaces.count("grass "), 0U);
  EXPECT_EQ(surfaces.count(""), 1U);
}

TEST(GamesDb, RoundTripsEveryField) {
  IngestReport report;
  auto games = read_games_csv(bundled_games_csv(), report);
  TempDir dir;
  write_games_db(dir / "games.sqlite", games);
  auto back = read_games_db(dir / "games.sqlite");
  ASSERT_EQ(back.size(), games.size());
  for (std::size_t i = 0; i < games.size(); ++i) {
    const Game& a = games[i];
    const Game& b = back[i];
    ASSERT_EQ(a.game_id, b.game_id);
    EXPECT_EQ(a.season, b.season);
    EXPECT_EQ(a.game_type, b.game_type);
    EXPECT_EQ(a.week, b.week);
    EXPECT_EQ(a.gameday, b.gameday);
    EXPECT_EQ(a.home_team, b.home_team);
    EXPECT_EQ(a.away_team, b.away_team);
    EXPECT_EQ(a.home_score, b.home_score);
    EXPECT_EQ(a.away_score, b.away_score);
    EXPECT_EQ(a.neutral, b.neutral);
    EXPECT_EQ(a.overtime, b.overtime);
    EXPECT_EQ(a.home_rest, b.home_rest);
    EXPECT_EQ(a.away_rest, b.away_rest);
    EXPECT_EQ(a.home_moneyline, b.home_moneyline);
    EXPECT_EQ(a.away_moneyline, b.away_moneyline);
    EXPECT_EQ(a.spread_line, b.spread_line);
    EXPECT_EQ(a.total_line, b.total_line);
    EXPECT_EQ(a.div_game, b.div_game);
    EXPECT_EQ(a.roof, b.roof);
    EXPECT_EQ(a.surface, b.surface);
    EXPECT_EQ(a.temp, b.temp);
    EXPECT_EQ(a.wind, b.wind);
  }
  // Bytes are a function of the games alone: re-ingesting gives the same file.
  EXPECT_EQ(games_db_bytes(games), read_file(dir / "games.sqlite"));
}

TEST(GamesDb, NotAGamesDatabaseIsAnInputError) {
  TempDir dir;
  write_file_atomic(dir / "x.sqlite", "not sqlite at all, just text that is long enough to not be a header");
  EXPECT_THROW(read_games_db(dir / "x.sqlite"), InputError);
}

} // namespace
} // namespace nfl::analytics
