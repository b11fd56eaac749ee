// Parses argv with CLI11, then runs the chosen subcommand and maps errors to exit
// codes: 0 ok, 1 runtime failure (store unreachable, task in the wrong state),
// 2 bad input (flags, environment, task JSON). Only main() exits.
#include "cli/cli.hpp"

#include <algorithm>
#include <iostream>

#include <spdlog/spdlog.h>

#include "cli/context.hpp"
#include "cli/sync_setup.hpp"
#include "util/error.hpp"

namespace nfl {
namespace cli {

namespace {

constexpr std::string_view k_options_with_value[] = {"--backend",  "--machine-id", "--hardware-profile",
                                                     "--data-dir", "--state-dir",  "--env-file"};
constexpr std::pair<std::string_view, std::string_view> k_legacy_actions[] = {
    {"--init", "init"}, {"--status", "status"}, {"--sync", "sync"}, {"--scoreboard", "scoreboard"}, {"--dashboard", "dashboard"}};

bool takes_value(std::string_view token) {
  return std::find(std::begin(k_options_with_value), std::end(k_options_with_value), token) !=
         std::end(k_options_with_value);
}

void error_line(std::ostream& err, std::string_view message) {
  // One line, whatever the message carries.
  std::string text(message);
  std::replace(text.begin(), text.end(), '\n', ' ');
  err << "nfl-compute: error: " << text << "\n";
}

} // namespace

std::vector<std::string> translate_legacy_args(const std::vector<std::string>& args,
                                               const std::vector<std::string>& subcommands) {
  std::vector<std::string> out;
  if (args.empty()) {
    return out;
  }
  out.push_back(args[0]);
  std::optional<std::string> action;
  bool has_subcommand = false;
  bool has_positional = false;
  bool informational = false;
  // A word right after an option we do not know here is taken as that option's value
  // (`nfl-compute --concurrency 2` is the worker's flag and its value, not a command).
  bool after_unknown_option = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& token = args[i];
    if (token == "--") {
      // Everything after belongs to someone else (e.g. a subcommand's positionals).
      out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      has_positional = true;
      break;
    }
    if (!has_subcommand) {
      auto legacy = std::find_if(std::begin(k_legacy_actions), std::end(k_legacy_actions),
                                 [&](const auto& p) { return p.first == token; });
      if (legacy != std::end(k_legacy_actions)) {
        action = std::string(legacy->second);
        continue;
      }
    }
    if (token == "--redis-mode") {
      out.emplace_back("--backend");
      out.emplace_back("redis");
      continue;
    }
    if (takes_value(token) && i + 1 < args.size()) {
      out.push_back(token);
      out.push_back(args[++i]);
      continue;
    }
    if (token == "-h" || token == "--help" || token == "--help-all" || token == "--version") {
      informational = true;
    }
    bool is_option = !token.empty() && token[0] == '-';
    if (!has_subcommand && !is_option) {
      if (std::find(subcommands.begin(), subcommands.end(), token) != subcommands.end()) {
        has_subcommand = true;
        has_positional = true;
      } else if (!after_unknown_option) {
        has_positional = true;
      }
    }
    after_unknown_option = is_option && token.find('=') == std::string::npos && token != "-v" &&
                           token != "--verbose" && token != "--redis-mode";
    out.push_back(token);
  }
  if (action) {
    out.insert(out.begin() + 1, *action);
  } else if (!has_subcommand && !has_positional && !informational) {
    // The seed's plain `python run_compute.py` ran the worker.
    out.insert(out.begin() + 1, "worker");
  }
  return out;
}

int run(const std::vector<std::string>& raw_args, std::ostream& out, std::ostream& err) {
  Context ctx(out, err);
  CLI::App app{"nfl-compute: a distributed task queue for NFL analytics (SQLite or Redis backend)", "nfl-compute"};
  app.set_version_flag("--version", NFL_VERSION);
  app.require_subcommand(0, 1);
  // Global options are accepted before or after the subcommand.
  app.fallthrough();
  auto& g = ctx.globals;
  app.add_option("--backend", g.backend, "Task store backend (overrides QUEUE_BACKEND)")
      ->check(CLI::IsMember({"sqlite", "redis"}));
  app.add_option("--machine-id", g.machine_id, "This machine's id (overrides MACHINE_ID)");
  app.add_option("--hardware-profile", g.hardware_profile, "Override hardware detection (HARDWARE_PROFILE)")
      ->check(CLI::IsMember({"auto", "gpu_high", "gpu_standard", "cpu_arm_high", "cpu_x86"}));
  app.add_option("--data-dir", g.data_dir, "Shared results, checkpoints, logs (DATA_DIR)");
  app.add_option("--state-dir", g.state_dir, "This machine's store and spool (STATE_DIR)");
  app.add_option("--env-file", g.env_file, "Environment file to read (default .env, if present)");
  app.add_flag("-v,--verbose", g.verbose, "Log debug detail to stderr");

  add_submit_command(app, ctx);
  add_status_command(app, ctx);
  add_tasks_command(app, ctx);
  add_hardware_command(app, ctx);
  add_health_command(app, ctx);
  add_config_command(app, ctx);
  add_init_command(app, ctx);
  add_worker_command(app, ctx);
  add_scoreboard_command(app, ctx);
  add_doctor_command(app, ctx);
  add_sync_command(app, ctx);

  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands({})) {
    names.push_back(sub->get_name());
  }
  auto args = translate_legacy_args(raw_args, names);
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    error_line(err, e.what());
    return 2;
  }

  spdlog::set_level(g.verbose ? spdlog::level::debug : spdlog::level::warn);
  try {
    if (!ctx.action) {
      error_line(err, "no subcommand given; see nfl-compute --help");
      return 2;
    }
    return ctx.action();
  } catch (const InputError& e) {
    error_line(err, e.what());
    return 2;
  } catch (const StoreUnavailable& e) {
    error_line(err, e.what());
    return 1;
  } catch (const std::exception& e) {
    error_line(err, e.what());
    return 1;
  }
}

} // namespace cli

int run_cli(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return cli::run(args, std::cout, std::cerr);
}

} // namespace nfl
