// games.csv ingest (the RFC 4180 reader, the typed rows, the task's summary and
// rejects.csv) and the evaluation tables' CSV reader. Only InputError may escape a
// reader; rows that do not fit become rejects with a line number.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "analytics/data/games.hpp"
#include "analytics/data/ingestion.hpp"
#include "analytics/evaluation/common.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace a = nfl::analytics;
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("nfl-fuzz-games-" + std::to_string(::getpid()) + ".csv");
  const std::string text(reinterpret_cast<const char*>(data), size);

  try {
    int last_line = 0;
    for (const auto& record : a::parse_csv(text)) {
      if (record.fields.empty() || record.first_line <= last_line) {
        __builtin_trap(); // every record has a field and starts on a later line
      }
      last_line = record.first_line;
    }
  } catch (const nfl::InputError&) {
  }

  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  try {
    a::IngestReport report;
    const auto games = a::read_games_csv(path, report);
    if (games.size() + report.rejects.size() != report.rows_read) {
      __builtin_trap(); // each row is either a game or a reject
    }
    (void)a::data::ingestion_summary(games, report).dump();
    (void)a::data::rejects_csv(report);
  } catch (const nfl::InputError&) {
  }

  try {
    (void)a::eval::parse_csv_table(text, "fuzz.csv");
  } catch (const nfl::InputError&) {
  }
  return 0;
}
