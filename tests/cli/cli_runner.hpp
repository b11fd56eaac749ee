#pragma once
// Runs the real nfl-compute binary with a controlled environment, working directory
// and stdin; collects exit code, stdout and stderr.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nfl::test {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

struct RunOptions {
  std::map<std::string, std::string> env; // the whole environment besides PATH and HOME
  std::filesystem::path cwd;              // default: the current directory
  std::string stdin_text;
};

RunResult run_nfl(const std::vector<std::string>& args, const RunOptions& options);

std::vector<std::string> lines_of(const std::string& text);

} // namespace nfl::test
