#pragma once
// What every subcommand shares: the global options, the configuration they produce
// (validated before anything touches state), the store opened on first use, and how
// to print (colour only on a terminal).
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/config.hpp"
#include "hardware/hardware.hpp"
#include "store/task_store.hpp"

namespace nfl::cli {

struct GlobalOptions {
  std::optional<std::string> backend;          // QUEUE_BACKEND
  std::optional<std::string> machine_id;       // MACHINE_ID
  std::optional<std::string> hardware_profile; // HARDWARE_PROFILE
  std::optional<std::string> data_dir;         // DATA_DIR
  std::optional<std::string> state_dir;        // STATE_DIR
  std::optional<std::string> env_file;         // default .env (missing is fine unless named)
  bool verbose = false;
};

// Where a variable's value came from, for `nfl-compute config`.
enum class ValueSource { default_value, env_file, environment, flag };

class Context {
public:
  Context(std::ostream& out, std::ostream& err);
  ~Context();

  GlobalOptions globals;
  std::ostream& out;
  std::ostream& err;

  // Loads .env, the process environment and the global flags (in rising order of
  // precedence) and validates; throws InputError naming the variable or flag.
  const Config& config();
  const Environment& raw_environment();          // the merged values, after config()
  ValueSource source_of(const std::string& name); // after config()

  // Opens the configured backend (creating STATE_DIR for SQLite). Throws
  // StoreUnavailable with the backend's address when it does not answer.
  TaskStore& store();
  std::unique_ptr<TaskStore> open_new_store();

  // This machine, after MACHINE_ID / HARDWARE_PROFILE.
  const MachineIdentity& identity();

  bool colour() const { return m_colour; }
  void set_colour(bool on) { m_colour = on; }

  // The subcommand to run once parsing is done (set by the subcommand's callback).
  std::function<int()> action;

private:
  void load();
  std::optional<Config> m_config;
  Environment m_env;
  std::map<std::string, ValueSource> m_sources;
  std::unique_ptr<TaskStore> m_store;
  std::optional<MachineIdentity> m_identity;
  bool m_colour = false;
};

// run_cli with explicit streams (tests run it in-process).
int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Each adds its subcommand(s) to `app`; the callbacks set ctx.action.
void add_submit_command(CLI::App& app, Context& ctx);
void add_status_command(CLI::App& app, Context& ctx);
void add_tasks_command(CLI::App& app, Context& ctx);
void add_hardware_command(CLI::App& app, Context& ctx);
void add_health_command(CLI::App& app, Context& ctx);
void add_config_command(CLI::App& app, Context& ctx);
void add_init_command(CLI::App& app, Context& ctx);
void add_worker_command(CLI::App& app, Context& ctx);
void add_scoreboard_command(CLI::App& app, Context& ctx);
void add_doctor_command(CLI::App& app, Context& ctx);

// Maps the seed's flag forms onto subcommands (see docs/cli.md): --redis-mode ->
// --backend redis; --init / --status / --scoreboard / --dashboard -> that subcommand;
// no subcommand at all -> worker. argv[0] is kept.
std::vector<std::string> translate_legacy_args(const std::vector<std::string>& args,
                                               const std::vector<std::string>& subcommands);

// Shared helpers.
std::vector<std::string> split_list(const std::vector<std::string>& values); // "a,b" "c" -> a b c
std::string format_duration(Millis ms);                                      // 42s, 3m05s, 2h07m, 3d04h
std::string format_age(Millis ms);                                           // "5s ago"
std::string progress_bar(double percent, std::size_t width);                 // [#####-----]
std::string colourise(bool on, const char* code, const std::string& text);
// The one-line form of a store error for messages ("redis at host:port unreachable: ...").
std::string backend_label(const Config& config);

} // namespace nfl::cli
