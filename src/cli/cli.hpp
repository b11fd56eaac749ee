#pragma once

namespace nfl {

// Parses argv, loads configuration, dispatches to a subcommand and returns the
// process exit code (0 ok, 1 runtime failure, 2 bad input). Only main() exits.
int run_cli(int argc, char** argv);

} // namespace nfl
