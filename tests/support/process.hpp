#pragma once
// A child process for process-level tests: the real nfl-compute binary (or any
// program) started with a controlled environment and working directory, stdout and
// stderr appended to a log file, signalled and reaped by PID. The destructor kills
// (SIGKILL) and reaps a child that is still running, so a failing test leaves no
// process behind.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace nfl::test {

struct SpawnOptions {
  std::map<std::string, std::string> env; // the whole environment besides PATH (and HOME, unless given)
  std::filesystem::path cwd;              // default: the current directory
  std::filesystem::path log;              // stdout and stderr are appended here; default: /dev/null
};

class Process {
public:
  Process() = default;
  // Starts `argv` (argv[0] is looked up in PATH when it has no '/'). Throws std::runtime_error.
  Process(const std::vector<std::string>& argv, const SpawnOptions& options);
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return m_pid; }
  bool started() const { return m_pid > 0; }
  // True while the child has not exited (reaps it when it has).
  bool running();
  void signal(int sig) const;
  // Blocks until the child exits; returns its exit code, or 128+signal.
  int wait();
  // Waits at most `limit`; nullopt when the child is still running then.
  std::optional<int> wait_for(std::chrono::milliseconds limit);
  // The exit code once reaped.
  std::optional<int> exit_code() const { return m_exit; }

private:
  void reap_if_exited(bool block);
  pid_t m_pid = -1;
  std::optional<int> m_exit;
};

// argv and environment as posix_spawn wants them (NULL-terminated char* arrays), owning
// their strings. The environment is PATH from this process, HOME=/nonexistent unless
// `env` names one, then `env`. Built in place: the arrays point into the strings.
struct ExecVectors {
  ExecVectors(std::vector<std::string> argv_strings, const std::map<std::string, std::string>& env);
  ExecVectors(const ExecVectors&) = delete;
  ExecVectors& operator=(const ExecVectors&) = delete;
  std::vector<std::string> argv_store;
  std::vector<std::string> env_store;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

// The nfl-compute binary this build made (NFL_BINARY).
std::string nfl_binary();

// Runs `args` to completion; returns the exit code, with stdout+stderr in `output`.
int run_to_completion(const std::vector<std::string>& argv, const SpawnOptions& options, std::string& output);

} // namespace nfl::test
