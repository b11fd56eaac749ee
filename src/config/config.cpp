#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/fs.hpp"

extern char** environ;

namespace nfl {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

[[noreturn]] void reject(const std::string& name, const std::string& value, const std::string& expected) {
  throw InputError(fmt::format("{}: '{}' is not valid; expected {}", name, value, expected));
}

std::string one_of(const std::string& name, const std::string& value, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (value == a) return value;
  }
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  reject(name, value, "one of " + list);
}

struct Row {
  ConfigVariable doc;
  std::function<void(Config&, const std::string& name, const std::string& value)> apply;
};

const std::vector<Row>& rows() {
  static const std::vector<Row> k_rows = {
      {{"MACHINE_ID", "auto", "auto, or an id of letters, digits, '_', '-', '.'",
        "This machine's id; auto derives a stable id from the hostname"},
       [](Config& c, const std::string& n, const std::string& v) {
         if (v.empty() || v.size() > 64 ||
             !std::all_of(v.begin(), v.end(), [](unsigned char ch) { return std::isalnum(ch) || ch == '_' || ch == '-' || ch == '.'; }) ||
             v.front() == '.' || v.front() == '-')
           reject(n, v, "auto or 1-64 characters of letters, digits, '_', '-', '.' (not starting with '.' or '-')");
         c.machine_id = v;
       }},
      {{"HARDWARE_PROFILE", "auto", "auto, gpu_high, gpu_standard, cpu_arm_high, cpu_x86",
        "Overrides hardware detection"},
       [](Config& c, const std::string& n, const std::string& v) {
         c.hardware_profile = one_of(n, v, {"auto", "gpu_high", "gpu_standard", "cpu_arm_high", "cpu_x86"});
       }},
      {{"NFL_ANALYTICS_ENV", "development", "development, production", "production makes warnings errors in doctor"},
       [](Config& c, const std::string& n, const std::string& v) {
         c.environment = one_of(n, v, {"development", "production"});
       }},
      {{"QUEUE_BACKEND", "sqlite", "sqlite, redis", "Task store backend"},
       [](Config& c, const std::string& n, const std::string& v) { c.queue_backend = one_of(n, v, {"sqlite", "redis"}); }},
      {{"REDIS_HOST", "localhost", "a host name or IP address", "Redis server"},
       [](Config& c, const std::string& n, const std::string& v) {
         if (v.empty() || v.find_first_of(" \t/") != std::string::npos) reject(n, v, "a host name or IP address");
         c.redis_host = v;
       }},
      {{"REDIS_PORT", "6379", "1-65535", "Redis port"},
       [](Config& c, const std::string& n, const std::string& v) { c.redis_port = static_cast<int>(parse_int(n, v, 1, 65535)); }},
      {{"REDIS_PASSWORD", "", "any string", "Sent with AUTH when set; never logged"},
       [](Config& c, const std::string&, const std::string& v) { c.redis_password = v; }},
      {{"REDIS_USERNAME", "", "empty, or a Redis ACL user name (no spaces)",
        "Sent as AUTH <user> <REDIS_PASSWORD> when set (Redis 6+ ACL); empty: the default user"},
       [](Config& c, const std::string& n, const std::string& v) {
         if (v.size() > 128 || std::any_of(v.begin(), v.end(), [](unsigned char ch) { return !std::isgraph(ch); }))
           reject(n, v, "empty, or up to 128 printable characters without spaces");
         c.redis_username = v;
       }},
      {{"REDIS_DB", "0", "0-15", "Redis logical database"},
       [](Config& c, const std::string& n, const std::string& v) { c.redis_db = static_cast<int>(parse_int(n, v, 0, 15)); }},
      {{"REDIS_KEY_PREFIX", "", "empty, or up to 64 printable characters without spaces",
        "Prefix for every key; a hash tag such as {nfl}: keeps every script in one Redis Cluster slot"},
       [](Config& c, const std::string& n, const std::string& v) {
         if (v.size() > 64 || std::any_of(v.begin(), v.end(), [](unsigned char ch) { return !std::isgraph(ch); }))
           reject(n, v, "up to 64 printable characters without spaces");
         c.redis_key_prefix = v;
       }},
      {{"REDIS_CLUSTER", "auto", "auto, true or false",
        "Redis Cluster client (slot routing, MOVED/ASK, failover); auto asks the server (INFO cluster); a cluster "
        "needs a REDIS_KEY_PREFIX with a hash tag such as {nfl}:"},
       [](Config& c, const std::string& n, const std::string& v) {
         if (lower(trim(v)) == "auto") {
           c.redis_cluster = "auto";
           return;
         }
         try {
           c.redis_cluster = parse_bool(n, v) ? "true" : "false";
         } catch (const InputError&) {
           reject(n, v, "auto, true or false (also 1/0, yes/no, on/off)");
         }
       }},
      {{"REDIS_CLUSTER_WAIT_REPLICAS", "1", "0-16",
        "On a cluster, a write counts once this many replicas of its master confirmed it (WAIT, capped by the "
        "replicas it has); 0: asynchronous replication, a failover may lose acknowledged writes"},
       [](Config& c, const std::string& n, const std::string& v) {
         c.redis_cluster_wait_replicas = static_cast<int>(parse_int(n, v, 0, 16));
       }},
      {{"REDIS_MAX_MEMORY", "2gb", "a Redis memory size such as 512mb or 2gb", "maxmemory for the bundled redis.conf"},
       [](Config& c, const std::string& n, const std::string& v) {
         auto l = lower(v);
         std::size_t digits = 0;
         while (digits < l.size() && std::isdigit(static_cast<unsigned char>(l[digits]))) ++digits;
         auto unit = l.substr(digits);
         if (digits == 0 || !(unit.empty() || unit == "b" || unit == "k" || unit == "kb" || unit == "m" || unit == "mb" ||
                              unit == "g" || unit == "gb"))
           reject(n, v, "a size such as 512mb or 2gb");
         c.redis_max_memory = l;
       }},
      {{"GOOGLE_DRIVE_SYNC_INTERVAL", "300", "5-86400 (seconds)", "Seconds between snapshots to the shared folder"},
       [](Config& c, const std::string& n, const std::string& v) { c.sync_interval_s = static_cast<int>(parse_int(n, v, 5, 86400)); }},
      {{"SYNC_ENABLED", "false", "true or false", "Write and merge snapshots through DATA_DIR"},
       [](Config& c, const std::string& n, const std::string& v) { c.sync_enabled = parse_bool(n, v); }},
      {{"SYNC_TAKEOVER_SECONDS", "0", "0 (three sync intervals) or 30-604800 (seconds)",
        "Silence after which other machines take over a machine's pending and running tasks"},
       [](Config& c, const std::string& n, const std::string& v) {
         auto s = parse_int(n, v, 0, 604800);
         if (s != 0 && s < 30) reject(n, v, "0 or 30-604800 (seconds)");
         c.sync_takeover_s = static_cast<int>(s);
       }},
      {{"MAX_CONCURRENT_TASKS", "4", "1-1024", "Tasks a worker runs at once"},
       [](Config& c, const std::string& n, const std::string& v) {
         c.max_concurrent_tasks = static_cast<int>(parse_int(n, v, 1, 1024));
       }},
      {{"TASK_TIMEOUT_HOURS", "6", "a number of hours > 0 and <= 720", "Bound on one attempt unless the task sets timeout_s"},
       [](Config& c, const std::string& n, const std::string& v) {
         c.task_timeout_hours = parse_double(n, v, 1e-6, 720);
       }},
      {{"ENABLE_CACHING", "true", "true or false", "Complete a task from an identical completed task's result"},
       [](Config& c, const std::string& n, const std::string& v) { c.enable_caching = parse_bool(n, v); }},
      {{"LOG_LEVEL", "info", "trace, debug, info, warning, error, critical, off", "Log verbosity"},
       [](Config& c, const std::string& n, const std::string& v) {
         auto l = lower(v);
         if (l == "warn") l = "warning";
         c.log_level = one_of(n, l, {"trace", "debug", "info", "warning", "error", "critical", "off"});
       }},
      {{"LOG_TO_FILE", "false", "true or false", "Also log to DATA_DIR/logs/<machine>.log (rotated)"},
       [](Config& c, const std::string& n, const std::string& v) { c.log_to_file = parse_bool(n, v); }},
      {{"DATA_DIR", "./data", "a directory path", "What machines share: results, checkpoints, logs, snapshots"},
       [](Config& c, const std::string& n, const std::string& v) {
         if (v.empty()) reject(n, v, "a directory path");
         c.data_dir = v;
       }},
      {{"STATE_DIR", "./state", "a directory path outside DATA_DIR", "This machine's own store (SQLite file) and spool"},
       [](Config& c, const std::string& n, const std::string& v) {
         if (v.empty()) reject(n, v, "a directory path");
         c.state_dir = v;
       }},
      {{"LEASE_SECONDS", "30", "5-3600", "Visibility timeout of a claim; the worker renews it"},
       [](Config& c, const std::string& n, const std::string& v) { c.lease_seconds = static_cast<int>(parse_int(n, v, 1, 3600)); }},
      {{"RESULT_TTL", "604800", "60-31536000 (seconds)", "After this, finished tasks keep only a summary in the store"},
       [](Config& c, const std::string& n, const std::string& v) { c.result_ttl_s = parse_int(n, v, 60, 31'536'000); }},
      {{"MACHINE_TTL_SECONDS", "60", "5-86400", "A machine not heard from for this long is stale"},
       [](Config& c, const std::string& n, const std::string& v) { c.machine_ttl_s = static_cast<int>(parse_int(n, v, 5, 86400)); }},
      {{"GPU_FALLBACK_WAIT_SECONDS", "600", "0 (never) or 1-604800",
        "A GPU task with allow_cpu_fallback waits this long for a live machine serving its queue, then a CPU "
        "worker reroutes it to cpu:parallel"},
       [](Config& c, const std::string& n, const std::string& v) {
         c.gpu_fallback_wait_s = static_cast<int>(parse_int(n, v, 0, 604800));
       }},
      {{"DASHBOARD_TOKEN", "", "empty, or a token of at least 16 characters",
        "Enables dashboard actions; required to bind a non-loopback address"},
       [](Config& c, const std::string& n, const std::string& v) {
         if (!v.empty() && v.size() < 16) reject(n, "<redacted>", "at least 16 characters");
         c.dashboard_token = v;
       }},
      {{"EXEC_ALLOWED", "", "empty, or absolute program paths separated by ':'",
        "Programs exec tasks may run; empty: any program in development, exec disabled in production"},
       [](Config& c, const std::string& n, const std::string& v) {
         std::vector<std::string> paths;
         std::size_t start = 0;
         while (start <= v.size() && !v.empty()) {
           auto end = std::min(v.find(':', start), v.size());
           auto path = trim(v.substr(start, end - start));
           if (path.empty() || path.front() != '/' || path.find('\0') != std::string::npos)
             reject(n, v, "absolute program paths separated by ':' (e.g. /usr/bin/python3:/opt/nfl/bin/model)");
           paths.push_back(path);
           start = end + 1;
         }
         c.exec_allowed = std::move(paths);
       }},
  };
  return k_rows;
}

} // namespace

bool parse_bool(const std::string& name, const std::string& value) {
  auto l = lower(trim(value));
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  reject(name, value, "true or false (also 1/0, yes/no, on/off)");
}

std::int64_t parse_int(const std::string& name, const std::string& value, std::int64_t min, std::int64_t max) {
  std::int64_t v = 0;
  auto t = trim(value);
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size() || v < min || v > max)
    reject(name, value, fmt::format("an integer from {} to {}", min, max));
  return v;
}

double parse_double(const std::string& name, const std::string& value, double min, double max) {
  auto t = trim(value);
  char* end = nullptr;
  double v = t.empty() ? NAN : std::strtod(t.c_str(), &end);
  if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(v) || v < min || v > max)
    reject(name, value, fmt::format("a number from {} to {}", min, max));
  return v;
}

double parse_memory_gib(const std::string& name, const std::string& value) {
  auto l = lower(trim(value));
  char* end = nullptr;
  double v = l.empty() ? NAN : std::strtod(l.c_str(), &end);
  std::string unit = end ? trim(std::string(end)) : "";
  double scale = 0;
  if (unit.empty() || unit == "g" || unit == "gb" || unit == "gib") scale = 1.0;
  else if (unit == "m" || unit == "mb" || unit == "mib") scale = 1.0 / 1024;
  else if (unit == "t" || unit == "tb" || unit == "tib") scale = 1024.0;
  if (l.empty() || scale == 0 || !std::isfinite(v) || v < 0 || v > 1e6)
    reject(name, value, "a non-negative memory size such as 12GB, 512MB or 12 (GiB)");
  return v * scale;
}

Environment parse_dotenv(const std::string& text, const std::string& origin) {
  Environment env;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.rfind("export ", 0) == 0) t = trim(t.substr(7));
    auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError(fmt::format("{}:{}: expected KEY=VALUE, got '{}'", origin, number, t));
    auto key = trim(t.substr(0, eq));
    auto value = trim(t.substr(eq + 1));
    if (!std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isupper(c) || std::isdigit(c) || c == '_'; }))
      throw InputError(fmt::format("{}:{}: '{}' is not a variable name (A-Z, 0-9, _)", origin, number, key));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
      if (value.back() != value.front())
        throw InputError(fmt::format("{}:{}: {}: unterminated quote", origin, number, key));
      value = value.substr(1, value.size() - 2);
    } else if (auto hash = value.find(" #"); hash != std::string::npos) {
      value = trim(value.substr(0, hash));
    }
    env[key] = value;
  }
  return env;
}

Environment process_environment() {
  Environment env;
  for (const auto& row : rows()) {
    if (const char* v = std::getenv(row.doc.name)) env[row.doc.name] = v;
  }
  return env;
}

Config config_from_environment(const Environment& env) {
  Config c;
  for (const auto& row : rows()) {
    if (auto it = env.find(row.doc.name); it != env.end()) row.apply(c, row.doc.name, it->second);
  }
  // A path the file system refuses (too long, a loop of links) is a bad value, not a crash.
  auto resolve = [](const char* name, const std::filesystem::path& p) {
    try {
      return std::filesystem::weakly_canonical(std::filesystem::absolute(p));
    } catch (const std::filesystem::filesystem_error& e) {
      throw InputError(fmt::format("{}: '{}' is not usable: {}", name, p.string(), e.code().message()));
    }
  };
  auto data = resolve("DATA_DIR", c.data_dir);
  auto state = resolve("STATE_DIR", c.state_dir);
  auto [d, s] = std::mismatch(data.begin(), data.end(), state.begin(), state.end());
  if (d == data.end())
    throw InputError(fmt::format("STATE_DIR: '{}' is inside DATA_DIR '{}'; the store must not live in a folder "
                                 "that sync tools copy between machines",
                                 c.state_dir.string(), c.data_dir.string()));
  return c;
}

Config load_config(const std::optional<std::filesystem::path>& dotenv) {
  Environment env;
  if (dotenv && std::filesystem::exists(*dotenv)) env = parse_dotenv(read_file(*dotenv), dotenv->string());
  for (auto& [k, v] : process_environment()) env[k] = v;
  return config_from_environment(env);
}

const std::vector<ConfigVariable>& config_variables() {
  static const std::vector<ConfigVariable> k_vars = [] {
    std::vector<ConfigVariable> out;
    for (const auto& row : rows()) out.push_back(row.doc);
    return out;
  }();
  return k_vars;
}

std::string env_template() {
  std::string out =
      "# nfl-compute configuration. Copy to .env and edit; the process environment wins over this file.\n"
      "# Generated from the table in src/config/config.cpp (`nfl-compute config --template`).\n";
  for (const auto& v : config_variables()) {
    out += fmt::format("\n# {}\n# Accepted: {}\n{}={}\n", v.meaning, v.accepted, v.name, v.default_text);
  }
  return out;
}

} // namespace nfl
