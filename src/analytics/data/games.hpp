#pragma once
// One NFL game as nflverse's games.csv describes it (share/nfl/SOURCE.md).
// The shared currency of every analytics task.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nfl::analytics {

struct Game {
  std::string game_id;   // SEASON_WW_AWAY_HOME
  int season = 0;
  std::string game_type; // REG, WC, DIV, CON, SB
  int week = 0;
  std::string gameday;   // YYYY-MM-DD
  std::string away_team;
  std::string home_team;
  std::optional<int> away_score; // empty: not played yet
  std::optional<int> home_score;
  bool neutral = false;          // location == Neutral
  bool overtime = false;
  int away_rest = 7;
  int home_rest = 7;
  std::optional<double> away_moneyline;
  std::optional<double> home_moneyline;
  std::optional<double> spread_line; // home favoured by (same sign as result)
  std::optional<double> total_line;
  bool div_game = false;
  std::string roof;
  std::string surface; // trimmed
  std::optional<double> temp;
  std::optional<double> wind;

  bool played() const { return home_score.has_value() && away_score.has_value(); }
  int result() const { return *home_score - *away_score; } // home margin; only when played()
};

struct CsvReject {
  int line = 0; // 1-based line number in the file (header is line 1)
  std::string reason;
};

struct IngestReport {
  std::size_t rows_read = 0;
  std::vector<CsvReject> rejects;
};

// Parses games.csv by header name (columns may come in any order; extra columns are
// ignored; a missing required column throws InputError naming it). Bad rows are
// rejected with line number and reason, not fatal.
std::vector<Game> read_games_csv(const std::filesystem::path& csv, IngestReport& report);

// The typed table the ingestion task writes (games.sqlite, table `games`).
void write_games_db(const std::filesystem::path& sqlite_path, const std::vector<Game>& games);
std::vector<Game> read_games_db(const std::filesystem::path& sqlite_path);

// The same database as bytes (an in-memory database, serialised): what the ingestion
// task hands to write_artifacts().
std::string games_db_bytes(const std::vector<Game>& games);

// One CSV record per element; RFC 4180 quoting (see games.cpp). `first_line` is the
// 1-based line each record starts on (a quoted field may span lines).
struct CsvRecord {
  int first_line = 0;
  std::vector<std::string> fields;
  std::string error; // malformed quoting in this record (the rest of the file is fine)
};
// Row width limits (docs/security.md): a record with more fields, or a longer field,
// keeps only what fits and gets an error naming the limit.
inline constexpr std::size_t k_max_csv_fields = 1024;
inline constexpr std::size_t k_max_csv_field_bytes = 64 * 1024;
std::vector<CsvRecord> parse_csv(std::string_view text);
// Quotes a field when it needs it (comma, quote, CR/LF), doubling inner quotes.
std::string csv_field(std::string_view value);

// The bundled copy: NFL_SHARE_DIR/nfl/games.csv.
std::filesystem::path bundled_games_csv();

} // namespace nfl::analytics
