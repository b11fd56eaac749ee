// `nfl-compute doctor` (the seed's test_redis_setup.py): checks this machine's setup
// and explains each finding with a fix. Exit 1 when a check fails (something would
// lose data or stop the queue); in production (NFL_ANALYTICS_ENV=production) warnings
// count as failures too. Behaviour for users: docs/operations.md.
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include "cli/context.hpp"
#include "cli/sync_setup.hpp"
#include "sync/snapshot.hpp"
#include "store/redis/redis_connection.hpp"
#include "store/redis/redis_scripts.hpp"
#include "store/store_factory.hpp"
#include "util/error.hpp"

namespace nfl::cli {

namespace {

namespace fs = std::filesystem;

enum class Level { pass, warn, fail };

struct Finding {
  Level level;
  std::string check;
  std::string detail;
  std::string fix; // empty on pass
};

// Below this Redis version the scripts' features (EVALSHA with no-writes flags in
// `#!lua` shebangs) are missing.
constexpr int k_min_redis_major = 7;
// Leases and retry times are computed from the clients' clocks (docs/decisions.md):
// machines apart by more than this make leases expire early or late.
constexpr double k_clock_warn_s = 1.0;
constexpr double k_clock_fail_s = 10.0;
constexpr double k_memory_warn = 0.80;
constexpr double k_memory_fail = 0.95;
constexpr std::string_view k_data_layout[] = {"results", "artifacts", "checkpoints", "logs", "machine_dumps"};

std::map<std::string, std::string> parse_info(std::string_view text) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    auto colon = line.find(':');
    if (line.empty() || line[0] == '#' || colon == std::string_view::npos) {
      continue;
    }
    out[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 1));
  }
  return out;
}

class RedisChecks {
public:
  RedisChecks(const Config& config, std::vector<Finding>& findings)
      : m_options(redis_options_from(config)), m_findings(findings) {}

  void run() {
    redis_detail::Connection conn(m_options, 5000);
    auto endpoint = fmt::format("redis at {}:{}", m_options.host, m_options.port);
    try {
      auto pong = conn.command({"PING"});
      conn.check(*pong);
    } catch (const std::exception& e) {
      add(Level::fail, "backend reachable", e.what(),
          "start Redis (the container's entrypoint does), or set REDIS_HOST/REDIS_PORT/REDIS_PASSWORD to a Redis "
          "that answers");
      return;
    }
    add(Level::pass, "backend reachable", endpoint + " answers PING", "");
    version(conn);
    auto cfg = config_values(conn);
    persistence(cfg);
    eviction(cfg);
    memory(conn);
    scripts(conn);
    clock_offset(conn);
  }

private:
  void add(Level level, std::string check, std::string detail, std::string fix) {
    m_findings.push_back({level, std::move(check), std::move(detail), std::move(fix)});
  }

  std::map<std::string, std::string> info(redis_detail::Connection& conn, const std::string& section) {
    auto reply = conn.command({"INFO", section});
    conn.check(*reply);
    return parse_info(redis_detail::reply_text(*reply));
  }

  void version(redis_detail::Connection& conn) {
    auto server = info(conn, "server");
    auto v = server["redis_version"];
    int major = v.empty() ? 0 : std::atoi(v.c_str());
    if (major < k_min_redis_major) {
      add(Level::fail, "redis version", fmt::format("{} (need {} or newer)", v.empty() ? "unknown" : v, k_min_redis_major),
          "upgrade Redis: the Lua scripts use features of Redis 7 (Debian 12 ships 7.0)");
      return;
    }
    add(Level::pass, "redis version", v + (server.contains("redis_mode") ? ", " + server["redis_mode"] + " mode" : ""),
        "");
  }

  // CONFIG GET may be renamed or disabled (managed Redis); then the settings are unknown.
  std::optional<std::map<std::string, std::string>> config_values(redis_detail::Connection& conn) {
    auto reply = conn.command({"CONFIG", "GET", "*"});
    if (reply->type == REDIS_REPLY_ERROR) {
      add(Level::warn, "redis settings", fmt::format("CONFIG GET refused: {}", redis_detail::reply_text(*reply)),
          "on managed Redis, check in the provider's console: AOF persistence on, maxmemory-policy noeviction");
      return std::nullopt;
    }
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i + 1 < reply->elements; i += 2) {
      out[std::string(redis_detail::reply_text(*reply->element[i]))] =
          std::string(redis_detail::reply_text(*reply->element[i + 1]));
    }
    return out;
  }

  void persistence(const std::optional<std::map<std::string, std::string>>& cfg) {
    if (!cfg) {
      return;
    }
    auto get = [&](const char* k) { return cfg->contains(k) ? cfg->at(k) : std::string(); };
    const auto aof = get("appendonly");
    const auto fsync = get("appendfsync");
    const auto save = get("save");
    if (aof != "yes") {
      if (save.empty()) {
        add(Level::fail, "persistence", "appendonly no and no RDB snapshots: a restart loses every task",
            "set `appendonly yes` and `appendfsync everysec` (docker/redis.conf does)");
      } else {
        add(Level::warn, "persistence",
            fmt::format("appendonly no, RDB snapshots only (save {}): a crash loses the changes since the last "
                        "snapshot",
                        save),
            "set `appendonly yes` and `appendfsync everysec` (docker/redis.conf does)");
      }
      return;
    }
    if (fsync == "no") {
      add(Level::warn, "persistence", "appendonly yes but appendfsync no: the OS decides when writes reach disk",
          "set `appendfsync everysec` (at most ~1 s lost on a power cut)");
      return;
    }
    add(Level::pass, "persistence", fmt::format("appendonly yes, appendfsync {}", fsync), "");
  }

  void eviction(const std::optional<std::map<std::string, std::string>>& cfg) {
    if (!cfg) {
      return;
    }
    auto policy = cfg->contains("maxmemory-policy") ? cfg->at("maxmemory-policy") : std::string("unknown");
    if (policy != "noeviction") {
      add(Level::fail, "eviction policy",
          fmt::format("maxmemory-policy {}: under memory pressure Redis silently deletes task keys", policy),
          "set `maxmemory-policy noeviction` (redis.conf or CONFIG SET): a full Redis then refuses writes "
          "and nfl-compute reports it");
      return;
    }
    add(Level::pass, "eviction policy", "noeviction (a full Redis refuses writes instead of deleting tasks)", "");
  }

  void memory(redis_detail::Connection& conn) {
    auto mem = info(conn, "memory");
    const double used = std::atof(mem["used_memory"].c_str());
    const double max = std::atof(mem["maxmemory"].c_str());
    const double mib = 1024.0 * 1024.0;
    if (max <= 0) {
      add(Level::warn, "memory headroom",
          fmt::format("{:.1f} MiB used, no maxmemory: Redis grows until the kernel's OOM killer stops it", used / mib),
          "set maxmemory (REDIS_MAX_MEMORY for the bundled Redis) below the machine's free memory");
      return;
    }
    const double ratio = used / max;
    auto detail = fmt::format("{:.1f} of {:.1f} MiB used ({:.0f} %)", used / mib, max / mib, 100.0 * ratio);
    const std::string fix = "raise maxmemory (REDIS_MAX_MEMORY), or trim finished tasks (RESULT_TTL)";
    if (ratio >= k_memory_fail) {
      add(Level::fail, "memory headroom", detail + ": new tasks and results are about to be refused", fix);
    } else if (ratio >= k_memory_warn) {
      add(Level::warn, "memory headroom", detail, fix);
    } else {
      add(Level::pass, "memory headroom", detail, "");
    }
  }

  void scripts(redis_detail::Connection& conn) {
    std::size_t loaded = 0;
    for (const auto& s : redis_detail::k_scripts) {
      auto reply = conn.command({"SCRIPT", "LOAD", redis_detail::script_source(s.script)});
      if (reply->type == REDIS_REPLY_ERROR) {
        add(Level::fail, "lua scripts", fmt::format("{}: {}", s.file, redis_detail::reply_text(*reply)),
            "Redis must allow EVAL/EVALSHA/SCRIPT (check the ACL user's permissions or renamed commands)");
        return;
      }
      ++loaded;
    }
    add(Level::pass, "lua scripts", fmt::format("all {} scripts load", loaded), "");
  }

  void clock_offset(redis_detail::Connection& conn) {
    const auto before = system_clock()->now_ms();
    auto reply = conn.command({"TIME"});
    const auto after = system_clock()->now_ms();
    conn.check(*reply);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
      add(Level::warn, "clock offset", "TIME gave an unexpected reply", "");
      return;
    }
    const double server_ms = std::atof(std::string(redis_detail::reply_text(*reply->element[0])).c_str()) * 1000.0 +
                             std::atof(std::string(redis_detail::reply_text(*reply->element[1])).c_str()) / 1000.0;
    const double local_ms = (static_cast<double>(before) + static_cast<double>(after)) / 2.0;
    const double offset_s = (local_ms - server_ms) / 1000.0;
    auto detail = fmt::format("this machine is {:+.3f} s from the Redis host", offset_s);
    const std::string fix = "run NTP (chrony, systemd-timesyncd) on every machine: leases and retry times use the "
                            "clients' clocks";
    if (std::fabs(offset_s) >= k_clock_fail_s) {
      add(Level::fail, "clock offset", detail, fix);
    } else if (std::fabs(offset_s) >= k_clock_warn_s) {
      add(Level::warn, "clock offset", detail, fix);
    } else {
      add(Level::pass, "clock offset", detail, "");
    }
  }

  RedisOptions m_options;
  std::vector<Finding>& m_findings;
};

// Creates and removes a probe file: the only reliable test (ACLs, read-only mounts, root).
bool writable(const fs::path& dir, std::string& why) {
  auto probe = dir / fmt::format(".nfl-doctor-{}", ::getpid());
  {
    std::ofstream out(probe);
    if (!out || !(out << "probe\n") || !out.flush()) {
      why = std::strerror(errno);
      return false;
    }
  }
  std::error_code ec;
  fs::remove(probe, ec);
  return true;
}

void directory_checks(const Config& config, std::vector<Finding>& findings) {
  std::error_code ec;
  const auto& data = config.data_dir;
  if (!fs::is_directory(data, ec)) {
    findings.push_back({Level::fail, "DATA_DIR", fmt::format("{} does not exist", data.string()),
                        "create it (or point DATA_DIR at the synced folder), then run `nfl-compute init`"});
  } else if (std::string why; !writable(data, why)) {
    findings.push_back({Level::fail, "DATA_DIR", fmt::format("{} is not writable: {}", data.string(), why),
                        "give this user write access (in Docker: the volume must be writable by uid 10001)"});
  } else {
    std::string missing;
    for (auto sub : k_data_layout) {
      if (!fs::is_directory(data / sub, ec)) {
        missing += (missing.empty() ? "" : ", ") + std::string(sub);
      }
    }
    if (!missing.empty()) {
      findings.push_back({Level::warn, "DATA_DIR", fmt::format("{} lacks {}", data.string(), missing),
                          "run `nfl-compute init` or the container entrypoint, which create the layout"});
    } else {
      findings.push_back({Level::pass, "DATA_DIR", fmt::format("{} writable and laid out", data.string()), ""});
    }
  }

  const auto state = fs::weakly_canonical(config.state_dir, ec);
  const auto data_c = fs::weakly_canonical(data, ec);
  auto rel = state.lexically_relative(data_c);
  if (!rel.empty() && *rel.begin() != "..") {
    findings.push_back({Level::fail, "STATE_DIR", fmt::format("{} is inside DATA_DIR", state.string()),
                        "move STATE_DIR out of the synced folder: a synced database or AOF gets forked or corrupted"});
  } else if (config.queue_backend == "sqlite") {
    std::error_code mk;
    fs::create_directories(config.state_dir, mk);
    if (std::string why; mk || !writable(config.state_dir, why)) {
      findings.push_back({Level::fail, "STATE_DIR",
                          fmt::format("{} is not writable: {}", config.state_dir.string(), mk ? mk.message() : why),
                          "the SQLite queue lives here: give this user write access"});
    } else {
      findings.push_back({Level::pass, "STATE_DIR", fmt::format("{} writable, outside DATA_DIR", state.string()), ""});
    }
  } else {
    findings.push_back({Level::pass, "STATE_DIR", fmt::format("{} outside DATA_DIR", state.string()), ""});
  }
}

void sqlite_checks(Context& ctx, std::vector<Finding>& findings) {
  try {
    auto store = ctx.open_new_store();
    store->ping();
    findings.push_back({Level::pass, "backend reachable", store->describe() + " opens", ""});
  } catch (const std::exception& e) {
    findings.push_back({Level::fail, "backend reachable", e.what(), "check STATE_DIR (the database lives there)"});
  }
}

void hardware_check(Context& ctx, std::vector<Finding>& findings) {
  try {
    const auto& id = ctx.identity();
    std::string queues;
    for (const auto& q : id.queues) {
      queues += (queues.empty() ? "" : ", ") + q;
    }
    auto detail = fmt::format("{} profile {}, {} cores, {:.1f} GiB, {} GPU(s); queues {}", id.machine_id, id.profile,
                              id.hardware.cpu_cores, id.hardware.memory_gib, id.hardware.gpus.size(), queues);
    if (id.profile_overridden && id.profile != id.detected_profile) {
      findings.push_back({Level::warn, "hardware", detail + fmt::format(" (HARDWARE_PROFILE; detected {})",
                                                                         id.detected_profile),
                          "unset HARDWARE_PROFILE unless this machine really should serve other queues"});
    } else {
      findings.push_back({Level::pass, "hardware", detail, ""});
    }
  } catch (const std::exception& e) {
    findings.push_back({Level::fail, "hardware", e.what(), "set HARDWARE_PROFILE to skip detection"});
  }
}

// The shared folder as sync sees it (docs/sync.md): silent machines, conflict copies
// made by the sync tool, snapshot files skipped and why.
void sync_checks(const Config& config, std::vector<Finding>& findings) {
  auto dumps = config.data_dir / "machine_dumps";
  std::error_code ec;
  // Off and never used here: nothing to check (DATA_DIR's layout has machine_dumps/ anyway).
  if (!config.sync_enabled && !std::filesystem::exists(config.state_dir / "sync" / "state.json", ec)) {
    return;
  }
  sync::SyncState state;
  try {
    state = sync::Syncer::read_state(config.state_dir);
  } catch (const InputError& e) {
    findings.push_back({Level::fail, "sync state", e.what(), "move the named file away; the next round rebuilds it"});
    return;
  }
  if (state.rounds == 0) {
    findings.push_back({Level::warn, "sync", "no sync round has run on this machine yet",
                        "run `nfl-compute sync` (or a worker with SYNC_ENABLED=true)"});
    return;
  }
  Millis now = system_clock()->now_ms();
  Millis takeover = takeover_ms(config);
  std::vector<std::string> stale;
  for (const auto& [id, peer] : state.peers) {
    if (peer.observed_at_ms == 0 || now - peer.observed_at_ms > takeover) {
      stale.push_back(fmt::format("{} (last heard {})", id,
                                  peer.observed_at_ms == 0 ? std::string("never") : format_age(now - peer.observed_at_ms)));
    }
  }
  if (stale.empty()) {
    findings.push_back({Level::pass, "sync machines",
                        fmt::format("{} other machine(s), all heard within {}s; {} round(s) here", state.peers.size(),
                                    takeover / 1000, state.rounds),
                        ""});
  } else {
    findings.push_back({Level::warn, "sync machines", fmt::format("silent past the takeover limit: {}", fmt::join(stale, ", ")),
                        "their pending and running tasks are being taken over; if a machine is retired for good, "
                        "delete its machine_dumps/<machine>_*.snap files"});
  }
  std::size_t copies = 0;
  for (std::filesystem::directory_iterator it(dumps, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = sync::parse_snapshot_name(it->path().filename().string());
    copies += name && name->conflict_copy ? 1 : 0;
  }
  if (copies > 0) {
    findings.push_back({Level::warn, "sync conflict copies",
                        fmt::format("{} conflict cop{} in machine_dumps/ (read as ordinary snapshots)", copies,
                                    copies == 1 ? "y" : "ies"),
                        "harmless; delete those older than their machine's newest snapshot to save space"});
  }
  if (state.skipped.empty()) {
    findings.push_back({Level::pass, "sync snapshots", "no snapshot file skipped", ""});
  } else {
    const auto& last = state.skipped.back();
    findings.push_back({Level::warn, "sync snapshots",
                        fmt::format("{} file(s) skipped; latest {}: {}", state.skipped.size(), last.file, last.reason),
                        "usually a file still uploading; if it persists, the writing machine's disk or sync tool "
                        "is damaging files (see `nfl-compute sync --status`)"});
  }
}

std::string_view label(Level level) {
  switch (level) {
  case Level::pass: return "PASS";
  case Level::warn: return "WARN";
  case Level::fail: return "FAIL";
  }
  return "";
}

} // namespace

void add_doctor_command(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("doctor", "Check the backend, Redis settings, folders, hardware and clock; explain fixes");
  sub->callback([&ctx] {
    ctx.action = [&ctx] {
      std::vector<Finding> findings;
      const Config* config = nullptr;
      try {
        config = &ctx.config();
        findings.push_back({Level::pass, "configuration",
                            fmt::format("backend {}, environment {}", config->queue_backend, config->environment), ""});
      } catch (const InputError& e) {
        findings.push_back({Level::fail, "configuration", e.what(), "fix the named variable in .env or the environment"});
      }
      if (config) {
        if (config->queue_backend == "redis") {
          RedisChecks(*config, findings).run();
        } else {
          sqlite_checks(ctx, findings);
        }
        directory_checks(*config, findings);
        sync_checks(*config, findings);
        hardware_check(ctx, findings);
      }
      const bool production = config && config->environment == "production";
      int fails = 0;
      int warns = 0;
      for (const auto& f : findings) {
        fails += f.level == Level::fail ? 1 : 0;
        warns += f.level == Level::warn ? 1 : 0;
        auto code = f.level == Level::pass ? "32" : (f.level == Level::warn ? "33" : "31");
        ctx.out << colourise(ctx.colour(), code, std::string(label(f.level))) << "  " << f.check << ": " << f.detail
                << "\n";
        if (!f.fix.empty()) {
          ctx.out << "      fix: " << f.fix << "\n";
        }
      }
      const bool failed = fails > 0 || (production && warns > 0);
      ctx.out << fmt::format("{} passed, {} warning(s), {} failed{}\n", findings.size() - fails - warns, warns, fails,
                             production && warns > 0 ? " (production: warnings count as failures)" : "");
      return failed ? 1 : 0;
    };
  });
}

} // namespace nfl::cli
