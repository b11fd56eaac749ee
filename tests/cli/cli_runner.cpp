#include "cli_runner.hpp"
#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace nfl::test {

RunResult run_nfl(const std::vector<std::string>& args, const RunOptions& options) {
  int in_pipe[2];
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe(in_pipe) != 0 || ::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) {
    throw std::runtime_error("pipe failed");
  }
  for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  if (!options.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
  }
  std::vector<std::string> argv_strings = {NFL_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  ExecVectors exec(std::move(argv_strings), options.env);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, exec.argv[0], &actions, nullptr, exec.argv.data(), exec.envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    throw std::runtime_error("posix_spawn " + std::string(NFL_BINARY) + " failed");
  }

  RunResult result;
  std::size_t written = 0;
  int in_fd = in_pipe[1];
  if (options.stdin_text.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  int out_fd = out_pipe[0];
  int err_fd = err_pipe[0];
  // The child may write more than a pipe holds before reading all its stdin: serve all
  // three ends together.
  ::signal(SIGPIPE, SIG_IGN);
  while (out_fd >= 0 || err_fd >= 0) {
    std::vector<pollfd> fds;
    if (in_fd >= 0) {
      fds.push_back({in_fd, POLLOUT, 0});
    }
    if (out_fd >= 0) {
      fds.push_back({out_fd, POLLIN, 0});
    }
    if (err_fd >= 0) {
      fds.push_back({err_fd, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 120'000) <= 0) {
      if (errno == EINTR) {
        continue;
      }
      ::kill(pid, SIGKILL);
      break;
    }
    for (const auto& p : fds) {
      if (p.revents == 0) {
        continue;
      }
      if (p.fd == in_fd) {
        auto n = ::write(in_fd, options.stdin_text.data() + written, options.stdin_text.size() - written);
        if (n > 0) {
          written += static_cast<std::size_t>(n);
        }
        if (n < 0 || written == options.stdin_text.size()) {
          ::close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      char buf[65536];
      auto n = ::read(p.fd, buf, sizeof buf);
      std::string& target = p.fd == out_fd ? result.out : result.err;
      if (n > 0) {
        target.append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(p.fd);
        (p.fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  if (in_fd >= 0) {
    ::close(in_fd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
  }
  return lines;
}

} // namespace nfl::test
