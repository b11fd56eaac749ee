#include "deploy_support.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace nfl::test {

namespace {

std::vector<std::string> env_strings(const EnvMap& env) {
  std::vector<std::string> out;
  for (const char* name : {"PATH", "HOME"}) {
    if (const char* v = std::getenv(name); v && !env.contains(name)) {
      out.push_back(std::string(name) + "=" + v);
    }
  }
  for (const auto& [k, v] : env) {
    out.push_back(k + "=" + v);
  }
  return out;
}

[[noreturn]] void exec_child(const std::vector<std::string>& args, const EnvMap& env) {
  auto envs = env_strings(env);
  std::vector<char*> argv;
  for (const auto& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : envs) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  // The test binary may block signals (gtest does not, but be sure the child starts clean).
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // execvpe searches PATH from the parent; the child gets exactly envp.
  execvpe(argv[0], argv.data(), envp.data());
  _exit(127);
}

} // namespace

pid_t spawn_process(const std::vector<std::string>& args, const EnvMap& env, const std::filesystem::path& log_path) {
  pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
      _exit(126);
    }
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    exec_child(args, env);
  }
  return pid;
}

ProcessResult run_process(const std::vector<std::string>& args, const EnvMap& env, const std::filesystem::path& cwd,
                          bool as_nobody) {
  int fds[2];
  if (pipe(fds) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_t pid = fork();
  if (pid < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[1]);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) {
      _exit(125);
    }
    if (as_nobody && (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
      _exit(124);
    }
    exec_child(args, env);
  }
  close(fds[1]);
  ProcessResult r;
  char buf[4096];
  for (;;) {
    auto n = read(fds[0], buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    r.out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace nfl::test
