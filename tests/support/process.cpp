#include "support/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "support/redis_server.hpp"

namespace nfl::test {

namespace {

int decode_status(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

} // namespace

std::string nfl_binary() { return NFL_BINARY; }

ExecVectors::ExecVectors(std::vector<std::string> argv_strings, const std::map<std::string, std::string>& env)
    : argv_store(std::move(argv_strings)) {
  for (auto& a : argv_store) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const char* path = std::getenv("PATH");
  env_store.push_back(std::string("PATH=") + (path ? path : "/usr/bin:/bin"));
  if (!env.contains("HOME")) {
    env_store.push_back("HOME=/nonexistent");
  }
  for (const auto& [k, v] : env) {
    env_store.push_back(k + "=" + v);
  }
  for (auto& e : env_store) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
}

Process::Process(const std::vector<std::string>& argv_in, const SpawnOptions& options) {
  if (argv_in.empty()) {
    throw std::runtime_error("Process: empty argv");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = options.log.empty() ? std::string("/dev/null") : options.log.string();
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  if (!options.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  }
  // The child starts with default signal dispositions and an empty mask, whatever the
  // test runner set (SIGPIPE ignored, for instance).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  ExecVectors exec(argv_in, options.env);
  const auto& argv_store = exec.argv_store;
  pid_t pid = -1;
  int rc = argv_store[0].find('/') == std::string::npos
               ? ::posix_spawnp(&pid, exec.argv[0], &actions, &attr, exec.argv.data(), exec.envp.data())
               : ::posix_spawn(&pid, exec.argv[0], &actions, &attr, exec.argv.data(), exec.envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    throw std::runtime_error("posix_spawn " + argv_store[0] + " failed: " + std::to_string(rc));
  }
  m_pid = pid;
}

Process::~Process() {
  if (m_pid > 0 && !m_exit) {
    ::kill(m_pid, SIGCONT);
    ::kill(m_pid, SIGKILL);
    reap_if_exited(true);
  }
}

Process::Process(Process&& other) noexcept : m_pid(other.m_pid), m_exit(other.m_exit) {
  other.m_pid = -1;
  other.m_exit.reset();
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (m_pid > 0 && !m_exit) {
      ::kill(m_pid, SIGKILL);
      reap_if_exited(true);
    }
    m_pid = other.m_pid;
    m_exit = other.m_exit;
    other.m_pid = -1;
    other.m_exit.reset();
  }
  return *this;
}

void Process::reap_if_exited(bool block) {
  if (m_pid <= 0 || m_exit) {
    return;
  }
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(m_pid, &status, block ? 0 : WNOHANG);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r == m_pid) {
      m_exit = decode_status(status);
    }
    return;
  }
}

bool Process::running() {
  reap_if_exited(false);
  return m_pid > 0 && !m_exit;
}

void Process::signal(int sig) const {
  if (m_pid > 0 && !m_exit) {
    ::kill(m_pid, sig);
  }
}

int Process::wait() {
  reap_if_exited(true);
  return m_exit.value_or(-1);
}

std::optional<int> Process::wait_for(std::chrono::milliseconds limit) {
  // waitpid has no timeout; a child's exit has no other event a test could block on
  // without installing a SIGCHLD handler in the runner.
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return m_exit;
}

int run_to_completion(const std::vector<std::string>& argv, const SpawnOptions& options, std::string& output) {
  TempDir dir;
  SpawnOptions o = options;
  o.log = dir / "output.txt";
  Process p(argv, o);
  int rc = p.wait();
  std::ifstream in(o.log);
  std::stringstream text;
  text << in.rdbuf();
  output = text.str();
  return rc;
}

} // namespace nfl::test
