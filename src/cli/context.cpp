#include "cli/context.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <ostream>

#include <fmt/format.h>

#include "store/store_factory.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::cli {

namespace {

bool stdout_wants_colour() {
  if (std::getenv("NO_COLOR") != nullptr) {
    return false;
  }
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") {
    return false;
  }
  return ::isatty(STDOUT_FILENO) == 1;
}

struct FlagVariable {
  std::optional<std::string> GlobalOptions::*member;
  const char* variable;
  const char* flag;
};

constexpr FlagVariable k_flag_variables[] = {
    {&GlobalOptions::backend, "QUEUE_BACKEND", "--backend"},
    {&GlobalOptions::machine_id, "MACHINE_ID", "--machine-id"},
    {&GlobalOptions::hardware_profile, "HARDWARE_PROFILE", "--hardware-profile"},
    {&GlobalOptions::data_dir, "DATA_DIR", "--data-dir"},
    {&GlobalOptions::state_dir, "STATE_DIR", "--state-dir"},
};

} // namespace

Context::Context(std::ostream& out_stream, std::ostream& err_stream)
    : out(out_stream), err(err_stream), m_colour(stdout_wants_colour()) {}

Context::~Context() = default;

void Context::load() {
  Environment env;
  std::filesystem::path dotenv = globals.env_file.value_or(".env");
  if (std::filesystem::exists(dotenv)) {
    env = parse_dotenv(read_file(dotenv), dotenv.string());
    for (const auto& [name, value] : env) {
      m_sources[name] = ValueSource::env_file;
    }
  } else if (globals.env_file) {
    throw InputError(fmt::format("--env-file: '{}' does not exist", dotenv.string()));
  }
  for (const auto& [name, value] : process_environment()) {
    env[name] = value;
    m_sources[name] = ValueSource::environment;
  }
  for (const auto& f : k_flag_variables) {
    if (const auto& value = globals.*(f.member)) {
      env[f.variable] = *value;
      m_sources[f.variable] = ValueSource::flag;
    }
  }
  try {
    m_config = config_from_environment(env);
  } catch (const InputError& e) {
    // Name the flag when the bad value came from one.
    std::string_view message = e.what();
    for (const auto& f : k_flag_variables) {
      std::string prefix = std::string(f.variable) + ":";
      if (message.rfind(prefix, 0) == 0 && m_sources[f.variable] == ValueSource::flag) {
        throw InputError(fmt::format("{} ({}){}", f.flag, f.variable, message.substr(prefix.size() - 1)));
      }
    }
    throw;
  }
  m_env = std::move(env);
}

const Config& Context::config() {
  if (!m_config) {
    load();
  }
  return *m_config;
}

const Environment& Context::raw_environment() {
  config();
  return m_env;
}

ValueSource Context::source_of(const std::string& name) {
  config();
  auto it = m_sources.find(name);
  return it == m_sources.end() ? ValueSource::default_value : it->second;
}

std::unique_ptr<TaskStore> Context::open_new_store() { return open_store(config()); }

TaskStore& Context::store() {
  if (!m_store) {
    m_store = open_new_store();
  }
  return *m_store;
}

const MachineIdentity& Context::identity() {
  if (!m_identity) {
    m_identity = detect_identity(config());
  }
  return *m_identity;
}

std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::size_t start = 0;
    while (start <= v.size()) {
      auto comma = v.find(',', start);
      auto end = comma == std::string::npos ? v.size() : comma;
      auto item = v.substr(start, end - start);
      auto b = item.find_first_not_of(" \t");
      if (b != std::string::npos) {
        out.push_back(item.substr(b, item.find_last_not_of(" \t") - b + 1));
      }
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
  }
  return out;
}

std::string format_duration(Millis ms) {
  if (ms < 0) {
    ms = 0;
  }
  auto s = ms / 1000;
  if (s < 60) {
    return fmt::format("{}s", s);
  }
  if (s < 3600) {
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  }
  if (s < 86400) {
    return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  }
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string format_age(Millis ms) { return format_duration(ms) + " ago"; }

std::string progress_bar(double percent, std::size_t width) {
  if (!(percent >= 0)) {
    percent = 0;
  }
  percent = std::min(percent, 100.0);
  auto filled = static_cast<std::size_t>(percent / 100.0 * static_cast<double>(width) + 0.5);
  return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
}

std::string colourise(bool on, const char* code, const std::string& text) {
  if (!on) {
    return text;
  }
  return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
}

std::string backend_label(const Config& config) {
  if (config.queue_backend == "redis") {
    return fmt::format("redis at {}:{}", config.redis_host, config.redis_port);
  }
  return "sqlite at " + config.sqlite_path().string();
}

} // namespace nfl::cli
