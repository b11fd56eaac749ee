#include "worker/logging.hpp"

#include <cctype>
#include <memory>
#include <vector>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "util/error.hpp"
#include "util/ids.hpp"

namespace nfl {

void setup_logging(const Config& config, const std::string& machine_id) {
  std::string text = config.log_level;
  for (auto& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  auto level = spdlog::level::from_str(text);
  // from_str maps anything unknown to "off"; only "off" itself may mean off.
  if (level == spdlog::level::off && text != "off") {
    throw InputError("LOG_LEVEL: '" + config.log_level + "'; expected trace, debug, info, warning, error, critical or off");
  }
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (config.log_to_file) {
    std::string name = id_problem(machine_id).empty() ? machine_id : "worker";
    auto path = config.data_dir / "logs" / (name + ".log");
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(path.string(), 10u << 20, 5));
  }
  auto logger = std::make_shared<spdlog::logger>("nfl", sinks.begin(), sinks.end());
  logger->set_level(level);
  // UTC timestamps so that logs from several machines line up.
  logger->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v",
                                                                     spdlog::pattern_time_type::utc));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(2));
}

} // namespace nfl
