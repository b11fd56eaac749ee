#pragma once
// ingestion: games.csv -> games.sqlite (typed table `games`) + rejects.csv.
#include <string>

#include "analytics/data/games.hpp"
#include "tasks/registry.hpp"

namespace nfl::analytics::data {

// rejects.csv: line,reason (RFC 4180 quoted where needed).
std::string rejects_csv(const IngestReport& report);
// The summary the task returns (without "artifacts"): seasons, games, played games, rejects.
Json ingestion_summary(const std::vector<Game>& games, const IngestReport& report);

TaskType ingestion_task();

} // namespace nfl::analytics::data
