#pragma once
// spdlog setup shared by the worker and the CLI: LOG_LEVEL, and with LOG_TO_FILE a
// rotating file DATA_DIR/logs/<machine_id>.log (10 MiB x 5) next to stderr.
#include <string>

#include "config/config.hpp"

namespace nfl {

// Replaces the default logger. Throws InputError for an unknown LOG_LEVEL.
void setup_logging(const Config& config, const std::string& machine_id);

} // namespace nfl
