#pragma once
// Settings from the process environment and an optional .env file (the process
// environment wins), one table row per variable (config.cpp). Every value is
// validated before anything touches state; errors name the variable, the value and
// what is accepted.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nfl {

struct Config {
  std::string machine_id = "auto";
  std::string hardware_profile = "auto";
  std::string environment = "development"; // NFL_ANALYTICS_ENV
  std::string redis_host = "localhost";
  int redis_port = 6379;
  std::string redis_password;
  std::string redis_username; // ACL user; empty: AUTH with the password alone (the default user)
  std::string redis_key_prefix;
  std::string redis_cluster = "auto"; // auto, true, false
  int redis_cluster_wait_replicas = 1;
  int redis_db = 0;
  std::string redis_max_memory = "2gb";
  int sync_interval_s = 300; // GOOGLE_DRIVE_SYNC_INTERVAL
  bool sync_enabled = false;
  int sync_takeover_s = 0; // SYNC_TAKEOVER_SECONDS; 0: three sync intervals
  int max_concurrent_tasks = 4;
  double task_timeout_hours = 6.0;
  bool enable_caching = true;
  std::string log_level = "info";
  bool log_to_file = false;
  std::filesystem::path data_dir = "./data";
  std::filesystem::path state_dir = "./state";
  std::string queue_backend = "sqlite";
  int lease_seconds = 30;
  std::int64_t result_ttl_s = 7LL * 24 * 3600;
  std::string dashboard_token;
  int machine_ttl_s = 60;
  // Programs the exec task type may run (absolute paths). Empty: any program in
  // development, exec disabled in production (docs/security.md).
  std::vector<std::string> exec_allowed;
  int gpu_fallback_wait_s = 600; // GPU_FALLBACK_WAIT_SECONDS; 0: GPU tasks never fall back to a CPU

  std::filesystem::path sqlite_path() const { return state_dir / "nfl-compute.db"; }
};

using Environment = std::map<std::string, std::string>;

// Reads KEY=VALUE lines (blank lines and # comments allowed, optional `export `,
// optional matching quotes). Throws InputError "path:line: message".
Environment parse_dotenv(const std::string& text, const std::string& origin);

// The process environment as a map (only variables this program knows).
Environment process_environment();

// Applies `env` over the defaults. Throws InputError naming the variable.
Config config_from_environment(const Environment& env);

// Loads .env (if `dotenv` exists) under the process environment and validates.
Config load_config(const std::optional<std::filesystem::path>& dotenv = std::filesystem::path(".env"));

struct ConfigVariable {
  const char* name;
  const char* default_text;
  const char* accepted;
  const char* meaning;
};
// Every variable, for `.env.template`, docs and `nfl-compute config`.
const std::vector<ConfigVariable>& config_variables();

// The text of .env.template: every variable with its meaning, accepted values and
// default (tests/config checks that the committed file equals it).
std::string env_template();

// Parses strictly; each throws InputError "NAME: 'value' ...; expected ...".
bool parse_bool(const std::string& name, const std::string& value);
std::int64_t parse_int(const std::string& name, const std::string& value, std::int64_t min, std::int64_t max);
double parse_double(const std::string& name, const std::string& value, double min, double max);
// "12GB", "12 GiB", "512MB", "12" (GiB) -> GiB.
double parse_memory_gib(const std::string& name, const std::string& value);

} // namespace nfl
