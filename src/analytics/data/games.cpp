#include "analytics/data/games.hpp"

#include <sqlite3.h>

#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <unordered_set>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/json_limits.hpp"

namespace nfl::analytics {

// A small RFC 4180 reader rather than a library: Debian ships no C++ CSV library as a
// -dev package that fits (libcsv is C with callbacks and no header-by-name access;
// the header-only ones are not packaged), and the grammar is short. nflverse's file
// needs the quoted parts of it: `""` for an empty surface, and user copies written
// by spreadsheets quote fields with commas or quotes inside.
std::vector<CsvRecord> parse_csv(std::string_view text) {
  std::vector<CsvRecord> records;
  std::size_t i = 0;
  int line = 1;
  const std::size_t n = text.size();
  if (n >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") {
    i = 3; // a UTF-8 byte-order mark from spreadsheet exports
  }
  while (i < n) {
    CsvRecord record;
    record.first_line = line;
    std::string field;
    bool record_done = false;
    while (!record_done) {
      field.clear();
      if (i < n && text[i] == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') {
            ++line;
          }
          field.push_back(c);
          ++i;
        }
        if (!closed) {
          throw InputError(fmt::format("line {}: a quoted field is not closed before the end of the file",
                                       record.first_line));
        }
        // After the closing quote only a separator or the end of the record may follow;
        // anything else spoils this record only (it becomes a reject), not the file.
        if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (record.error.empty()) {
            record.error = fmt::format("field {}: text after the closing quote", record.fields.size() + 1);
          }
          while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
            field.push_back(text[i]);
            ++i;
          }
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          field.push_back(text[i]);
          ++i;
        }
      }
      if (field.size() > k_max_csv_field_bytes && record.error.empty()) {
        record.error = fmt::format("field {}: {} bytes; at most {}", record.fields.size() + 1, field.size(),
                                   k_max_csv_field_bytes);
      }
      if (record.fields.size() < k_max_csv_fields) {
        record.fields.push_back(field.size() > k_max_csv_field_bytes ? std::string() : field);
      } else if (record.error.empty()) {
        record.error = fmt::format("more than {} fields", k_max_csv_fields);
      }
      if (i >= n) {
        record_done = true;
      } else if (text[i] == ',') {
        ++i;
      } else {
        if (text[i] == '\r') {
          ++i;
        }
        if (i < n && text[i] == '\n') {
          ++i;
        }
        ++line;
        record_done = true;
      }
    }
    // A blank line is no record (a trailing newline is the common case).
    if (record.fields.size() == 1 && record.fields[0].empty() && record.error.empty()) {
      continue;
    }
    records.push_back(std::move(record));
  }
  return records;
}

std::string csv_field(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    return std::string(value);
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') {
      out.push_back('"');
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

namespace {

// Every column Game is built from. Extra columns are ignored; these must be there,
// because a downstream model silently losing (say) spread_line to a renamed header
// is worse than a clear error.
constexpr std::array k_required_columns = {
    "game_id",        "season",         "game_type",   "week",        "gameday",   "away_team",
    "away_score",     "home_team",      "home_score",  "location",    "overtime",  "away_rest",
    "home_rest",      "away_moneyline", "home_moneyline", "spread_line", "total_line", "div_game",
    "roof",           "surface",        "temp",        "wind"};

// A row-level problem: becomes a CsvReject with the row's line number.
class RowError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) {
    return {};
  }
  auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::optional<long> parse_optional_int(const std::string& column, std::string_view raw, long min, long max) {
  std::string text = trim(raw);
  if (text.empty()) {
    return std::nullopt;
  }
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    // Some exports write whole numbers as "17.0"; accept those, nothing fractional.
    double d = 0;
    auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (dec != std::errc() || dend != text.data() + text.size() || d != std::floor(d)) {
      throw RowError(fmt::format("{}: '{}' is not a whole number", column, raw));
    }
    // Range first: casting a double beyond long's range is undefined (found by fuzz_csv).
    if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
      throw RowError(fmt::format("{}: {} is out of range [{}, {}]", column, raw, min, max));
    }
    value = static_cast<long>(d);
  }
  if (value < min || value > max) {
    throw RowError(fmt::format("{}: {} is out of range [{}, {}]", column, value, min, max));
  }
  return value;
}

long parse_int_field(const std::string& column, std::string_view raw, long min, long max) {
  auto v = parse_optional_int(column, raw, min, max);
  if (!v) {
    throw RowError(fmt::format("{}: empty; expected a whole number", column));
  }
  return *v;
}

std::optional<double> parse_optional_double(const std::string& column, std::string_view raw, double min,
                                            double max) {
  std::string text = trim(raw);
  if (text.empty() || text == "NA") {
    return std::nullopt;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    throw RowError(fmt::format("{}: '{}' is not a number", column, raw));
  }
  if (value < min || value > max) {
    throw RowError(fmt::format("{}: {} is out of range [{}, {}]", column, value, min, max));
  }
  return value;
}

bool parse_flag(const std::string& column, std::string_view raw, bool empty_value) {
  std::string text = trim(raw);
  if (text.empty()) {
    return empty_value;
  }
  if (text == "1" || text == "TRUE" || text == "true") {
    return true;
  }
  if (text == "0" || text == "FALSE" || text == "false") {
    return false;
  }
  throw RowError(fmt::format("{}: '{}'; expected 0 or 1", column, raw));
}

bool valid_date(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') {
    return false;
  }
  int y = 0;
  int m = 0;
  int day = 0;
  auto digits = [](std::string_view s, int& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
  };
  if (!digits(d.substr(0, 4), y) || !digits(d.substr(5, 2), m) || !digits(d.substr(8, 2), day)) {
    return false;
  }
  if (m < 1 || m > 12 || day < 1) {
    return false;
  }
  static constexpr std::array<int, 12> k_days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max_day = k_days[static_cast<std::size_t>(m - 1)] + ((m == 2 && leap) ? 1 : 0);
  return day <= max_day;
}

bool valid_team(std::string_view t) {
  if (t.empty() || t.size() > 4) {
    return false;
  }
  for (char c : t) {
    if (!(c >= 'A' && c <= 'Z')) {
      return false;
    }
  }
  return true;
}

std::optional<double> parse_moneyline(const std::string& column, std::string_view raw) {
  auto v = parse_optional_double(column, raw, -1e6, 1e6);
  // American odds are at least 100 in size: -100 and +100 are both even money.
  if (v && std::fabs(*v) < 100.0) {
    throw RowError(fmt::format("{}: {} is not American odds (|odds| >= 100)", column, *v));
  }
  return v;
}

class ColumnIndex {
public:
  explicit ColumnIndex(const std::vector<std::string>& header) {
    for (std::size_t i = 0; i < header.size(); ++i) {
      std::string name = trim(header[i]);
      if (m_index.count(name) != 0U) {
        throw InputError(fmt::format("games.csv header: column '{}' appears twice", name));
      }
      m_index[name] = i;
    }
    std::vector<std::string> missing;
    for (const char* name : k_required_columns) {
      if (m_index.count(name) == 0U) {
        missing.emplace_back(name);
      }
    }
    if (!missing.empty()) {
      throw InputError(fmt::format("games.csv header: missing required column{} {}", missing.size() > 1 ? "s" : "",
                                   fmt::join(missing, ", ")));
    }
  }
  std::optional<std::size_t> find(const std::string& name) const {
    auto it = m_index.find(name);
    if (it == m_index.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  std::size_t at(const std::string& name) const { return m_index.at(name); }

private:
  std::map<std::string, std::size_t> m_index;
};

Game parse_row(const ColumnIndex& col, const std::vector<std::string>& f) {
  auto get = [&](const char* name) -> const std::string& { return f[col.at(name)]; };
  Game g;
  g.game_id = trim(get("game_id"));
  if (g.game_id.empty()) {
    throw RowError("game_id: empty");
  }
  g.season = static_cast<int>(parse_int_field("season", get("season"), 1920, 2100));
  g.game_type = trim(get("game_type"));
  static const std::set<std::string> k_types = {"REG", "WC", "DIV", "CON", "SB"};
  if (k_types.count(g.game_type) == 0U) {
    throw RowError(fmt::format("game_type: unknown '{}'; expected REG, WC, DIV, CON or SB", g.game_type));
  }
  g.week = static_cast<int>(parse_int_field("week", get("week"), 1, 30));
  g.gameday = trim(get("gameday"));
  if (!valid_date(g.gameday)) {
    throw RowError(fmt::format("gameday: '{}' is not a date YYYY-MM-DD", get("gameday")));
  }
  g.away_team = trim(get("away_team"));
  g.home_team = trim(get("home_team"));
  if (!valid_team(g.away_team)) {
    throw RowError(fmt::format("away_team: '{}'; expected a team code of 1-4 capital letters", g.away_team));
  }
  if (!valid_team(g.home_team)) {
    throw RowError(fmt::format("home_team: '{}'; expected a team code of 1-4 capital letters", g.home_team));
  }
  if (g.away_team == g.home_team) {
    throw RowError(fmt::format("home_team and away_team are both '{}'", g.home_team));
  }
  auto away = parse_optional_int("away_score", get("away_score"), 0, 200);
  auto home = parse_optional_int("home_score", get("home_score"), 0, 200);
  if (away.has_value() != home.has_value()) {
    throw RowError(fmt::format("{} is given without {}", away ? "away_score" : "home_score",
                               away ? "home_score" : "away_score"));
  }
  if (away) {
    g.away_score = static_cast<int>(*away);
    g.home_score = static_cast<int>(*home);
    // result and total are derived columns; when present they must agree.
    if (auto rc = col.find("result")) {
      auto r = parse_optional_int("result", f[*rc], -200, 200);
      if (r && *r != g.result()) {
        throw RowError(fmt::format("result: {} but home_score - away_score is {}", *r, g.result()));
      }
    }
  }
  std::string location = trim(get("location"));
  if (location == "Neutral") {
    g.neutral = true;
  } else if (location != "Home" && !location.empty()) {
    throw RowError(fmt::format("location: '{}'; expected Home or Neutral", location));
  }
  g.overtime = parse_flag("overtime", get("overtime"), false);
  // The source writes 7 as a placeholder when it has no rest figure (every week 1).
  g.away_rest = static_cast<int>(parse_optional_int("away_rest", get("away_rest"), 0, 400).value_or(7));
  g.home_rest = static_cast<int>(parse_optional_int("home_rest", get("home_rest"), 0, 400).value_or(7));
  g.away_moneyline = parse_moneyline("away_moneyline", get("away_moneyline"));
  g.home_moneyline = parse_moneyline("home_moneyline", get("home_moneyline"));
  g.spread_line = parse_optional_double("spread_line", get("spread_line"), -100, 100);
  g.total_line = parse_optional_double("total_line", get("total_line"), 0, 200);
  g.div_game = parse_flag("div_game", get("div_game"), false);
  g.roof = trim(get("roof"));
  g.surface = trim(get("surface"));
  g.temp = parse_optional_double("temp", get("temp"), -80, 150);
  g.wind = parse_optional_double("wind", get("wind"), 0, 200);
  return g;
}

// --- SQLite ---------------------------------------------------------------

constexpr int k_schema_version = 1;

using DbPtr = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw InternalError(fmt::format("games.sqlite: {}: {}", what, sqlite3_errmsg(db)));
  }
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string message = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw InternalError(fmt::format("games.sqlite: {}", message));
  }
}

StmtPtr prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  check(db, sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), "prepare");
  return StmtPtr(stmt, &sqlite3_finalize);
}

constexpr const char* k_create_sql = R"sql(
CREATE TABLE games (
  game_id TEXT PRIMARY KEY,
  season INTEGER NOT NULL,
  game_type TEXT NOT NULL,
  week INTEGER NOT NULL,
  gameday TEXT NOT NULL,
  away_team TEXT NOT NULL,
  home_team TEXT NOT NULL,
  away_score INTEGER,
  home_score INTEGER,
  neutral INTEGER NOT NULL,
  overtime INTEGER NOT NULL,
  away_rest INTEGER NOT NULL,
  home_rest INTEGER NOT NULL,
  away_moneyline REAL,
  home_moneyline REAL,
  spread_line REAL,
  total_line REAL,
  div_game INTEGER NOT NULL,
  roof TEXT NOT NULL,
  surface TEXT NOT NULL,
  temp REAL,
  wind REAL
);
CREATE INDEX games_season_week ON games(season, week);
)sql";

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind_opt_int(sqlite3_stmt* s, int i, const std::optional<int>& v) {
  if (v) {
    sqlite3_bind_int(s, i, *v);
  } else {
    sqlite3_bind_null(s, i);
  }
}
void bind_opt_double(sqlite3_stmt* s, int i, const std::optional<double>& v) {
  if (v) {
    sqlite3_bind_double(s, i, *v);
  } else {
    sqlite3_bind_null(s, i);
  }
}

void fill_db(sqlite3* db, const std::vector<Game>& games) {
  exec(db, k_create_sql);
  exec(db, fmt::format("PRAGMA user_version = {}", k_schema_version).c_str());
  exec(db, "BEGIN");
  auto stmt = prepare(db, "INSERT INTO games VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  for (const Game& g : games) {
    sqlite3_stmt* s = stmt.get();
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    bind_text(s, 1, g.game_id);
    sqlite3_bind_int(s, 2, g.season);
    bind_text(s, 3, g.game_type);
    sqlite3_bind_int(s, 4, g.week);
    bind_text(s, 5, g.gameday);
    bind_text(s, 6, g.away_team);
    bind_text(s, 7, g.home_team);
    bind_opt_int(s, 8, g.away_score);
    bind_opt_int(s, 9, g.home_score);
    sqlite3_bind_int(s, 10, g.neutral ? 1 : 0);
    sqlite3_bind_int(s, 11, g.overtime ? 1 : 0);
    sqlite3_bind_int(s, 12, g.away_rest);
    sqlite3_bind_int(s, 13, g.home_rest);
    bind_opt_double(s, 14, g.away_moneyline);
    bind_opt_double(s, 15, g.home_moneyline);
    bind_opt_double(s, 16, g.spread_line);
    bind_opt_double(s, 17, g.total_line);
    sqlite3_bind_int(s, 18, g.div_game ? 1 : 0);
    bind_text(s, 19, g.roof);
    bind_text(s, 20, g.surface);
    bind_opt_double(s, 21, g.temp);
    bind_opt_double(s, 22, g.wind);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_CONSTRAINT) {
      throw InputError(fmt::format("games: game_id '{}' appears twice", g.game_id));
    }
    check(db, rc, "insert");
  }
  exec(db, "COMMIT");
}

DbPtr open_memory() {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  DbPtr db(raw, &sqlite3_close);
  if (rc != SQLITE_OK) {
    throw InternalError("games.sqlite: cannot open an in-memory database");
  }
  return db;
}

std::optional<int> column_opt_int(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) {
    return std::nullopt;
  }
  return sqlite3_column_int(s, i);
}
std::optional<double> column_opt_double(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) {
    return std::nullopt;
  }
  return sqlite3_column_double(s, i);
}
std::string column_text(sqlite3_stmt* s, int i) {
  const auto* t = sqlite3_column_text(s, i);
  return t != nullptr ? std::string(reinterpret_cast<const char*>(t)) : std::string();
}

} // namespace

std::vector<Game> read_games_csv(const std::filesystem::path& csv, IngestReport& report) {
  if (!std::filesystem::is_regular_file(csv)) {
    throw InputError(fmt::format("path: '{}' is not a readable file", csv.string()));
  }
  std::string text = read_file(csv);
  std::vector<CsvRecord> records = parse_csv(text);
  if (records.empty()) {
    throw InputError(fmt::format("{}: empty file; expected a header line", csv.string()));
  }
  if (!records.front().error.empty()) {
    throw InputError(fmt::format("{}: header line: {}", csv.string(), records.front().error));
  }
  ColumnIndex col(records.front().fields);
  const std::size_t width = records.front().fields.size();
  std::vector<Game> games;
  games.reserve(records.size());
  std::unordered_set<std::string> seen;
  for (std::size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    ++report.rows_read;
    try {
      if (!rec.error.empty()) {
        throw RowError(rec.error);
      }
      for (std::size_t f = 0; f < rec.fields.size(); ++f) {
        if (!valid_utf8(rec.fields[f])) {
          throw RowError(fmt::format("field {}: not valid UTF-8", f + 1)); // it would end up in JSON results
        }
      }
      if (rec.fields.size() != width) {
        throw RowError(fmt::format("{} fields; the header has {}", rec.fields.size(), width));
      }
      Game g = parse_row(col, rec.fields);
      if (!seen.insert(g.game_id).second) {
        throw RowError(fmt::format("game_id: '{}' appears again (first row kept)", g.game_id));
      }
      games.push_back(std::move(g));
    } catch (const RowError& e) {
      report.rejects.push_back(CsvReject{rec.first_line, e.what()});
    }
  }
  return games;
}

std::string games_db_bytes(const std::vector<Game>& games) {
  DbPtr db = open_memory();
  fill_db(db.get(), games);
  sqlite3_int64 size = 0;
  unsigned char* bytes = sqlite3_serialize(db.get(), "main", &size, 0);
  if (bytes == nullptr) {
    throw InternalError("games.sqlite: cannot serialise the database");
  }
  std::string out(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(size));
  sqlite3_free(bytes);
  return out;
}

void write_games_db(const std::filesystem::path& sqlite_path, const std::vector<Game>& games) {
  // Whole file at once: a re-run replaces it, readers never see a half-built table.
  write_file_atomic(sqlite_path, games_db_bytes(games));
}

std::vector<Game> read_games_db(const std::filesystem::path& sqlite_path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(sqlite_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  DbPtr db(raw, &sqlite3_close);
  if (rc != SQLITE_OK) {
    throw InputError(fmt::format("{}: cannot open as SQLite: {}", sqlite_path.string(), sqlite3_errstr(rc)));
  }
  int version = -1;
  {
    sqlite3_stmt* raw_stmt = nullptr;
    // A file that is not SQLite fails here ("file is not a database"): that is bad input.
    if (sqlite3_prepare_v2(db.get(), "PRAGMA user_version", -1, &raw_stmt, nullptr) != SQLITE_OK) {
      throw InputError(fmt::format("{}: not a games database: {}", sqlite_path.string(), sqlite3_errmsg(db.get())));
    }
    StmtPtr v(raw_stmt, &sqlite3_finalize);
    if (sqlite3_step(v.get()) == SQLITE_ROW) {
      version = sqlite3_column_int(v.get(), 0);
    } else {
      throw InputError(fmt::format("{}: not a games database: {}", sqlite_path.string(), sqlite3_errmsg(db.get())));
    }
  }
  if (version != k_schema_version) {
    throw InputError(fmt::format("{}: games schema version {}, this program reads version {}",
                                 sqlite_path.string(), version, k_schema_version));
  }
  auto stmt = prepare(db.get(), "SELECT game_id, season, game_type, week, gameday, away_team, home_team, "
                                "away_score, home_score, neutral, overtime, away_rest, home_rest, away_moneyline, "
                                "home_moneyline, spread_line, total_line, div_game, roof, surface, temp, wind "
                                "FROM games ORDER BY rowid");
  std::vector<Game> games;
  sqlite3_stmt* s = stmt.get();
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    Game g;
    g.game_id = column_text(s, 0);
    g.season = sqlite3_column_int(s, 1);
    g.game_type = column_text(s, 2);
    g.week = sqlite3_column_int(s, 3);
    g.gameday = column_text(s, 4);
    g.away_team = column_text(s, 5);
    g.home_team = column_text(s, 6);
    g.away_score = column_opt_int(s, 7);
    g.home_score = column_opt_int(s, 8);
    g.neutral = sqlite3_column_int(s, 9) != 0;
    g.overtime = sqlite3_column_int(s, 10) != 0;
    g.away_rest = sqlite3_column_int(s, 11);
    g.home_rest = sqlite3_column_int(s, 12);
    g.away_moneyline = column_opt_double(s, 13);
    g.home_moneyline = column_opt_double(s, 14);
    g.spread_line = column_opt_double(s, 15);
    g.total_line = column_opt_double(s, 16);
    g.div_game = sqlite3_column_int(s, 17) != 0;
    g.roof = column_text(s, 18);
    g.surface = column_text(s, 19);
    g.temp = column_opt_double(s, 20);
    g.wind = column_opt_double(s, 21);
    games.push_back(std::move(g));
  }
  check(db.get(), rc, "read games");
  return games;
}

std::filesystem::path bundled_games_csv() {
  return std::filesystem::path(NFL_SHARE_DIR) / "nfl" / "games.csv";
}

} // namespace nfl::analytics
