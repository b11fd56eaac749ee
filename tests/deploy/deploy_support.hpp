#pragma once
// Child processes for the deployment tests: the entrypoint script, the real binary,
// redis-server, shellcheck. Each runs with exactly the environment given (plus PATH
// and HOME), so the developer's .env or REDIS_* variables never leak in.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace nfl::test {

using EnvMap = std::map<std::string, std::string>;

struct ProcessResult {
  int exit_code = -1;
  std::string out; // stdout and stderr together
};

// Starts args[0] (searched in PATH) with env; stdout+stderr go to log_path.
pid_t spawn_process(const std::vector<std::string>& args, const EnvMap& env, const std::filesystem::path& log_path);

// Runs to completion (in cwd when given) and collects the output.
// With as_nobody (only possible as root) the child drops to uid/gid 65534 first, so
// permission checks apply to it.
ProcessResult run_process(const std::vector<std::string>& args, const EnvMap& env,
                          const std::filesystem::path& cwd = {}, bool as_nobody = false);

// Waits for pid up to timeout; returns the exit code (128+signal when killed) or -1
// on timeout (the child is left running).
int wait_exit(pid_t pid, std::chrono::milliseconds timeout);

// Polls condition until it holds or the deadline passes (for states that only an
// outside process can change, where no event reaches the test).
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

std::string read_text(const std::filesystem::path& path);

} // namespace nfl::test
