#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <netinet/in.h>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <hiredis/hiredis.h>

namespace nfl::test {

int free_loopback_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      continue;
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    int port = ntohs(addr.sin_port);
    ::close(fd);
    if (port != 6379) return port;
  }
  throw std::runtime_error("no free loopback port");
}

TempDir::TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "nfl-test-XXXXXX").string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  m_path = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

namespace {

// redis-server exited before it answered: typically its port was taken between
// free_loopback_port() closing it and redis binding it (tests run in parallel).
struct ExitedAtStart : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Whether process `pid` holds the socket listening on 127.0.0.1:`port` (Linux /proc;
// true where /proc cannot tell: no such file, no listener listed, fds unreadable): a
// PING answered by another test's server on a port we were about to bind must not
// count as ours being ready.
bool listens_on(pid_t pid, int port) {
  std::ifstream tcp("/proc/net/tcp");
  if (!tcp) {
    return true;
  }
  char want[16];
  std::snprintf(want, sizeof want, "0100007F:%04X", port);
  std::set<std::string> inodes;
  std::string line;
  std::getline(tcp, line); // header
  while (std::getline(tcp, line)) {
    std::istringstream in(line);
    std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
    if (in >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode &&
        local == want && state == "0A") {
      inodes.insert("socket:[" + inode + "]");
    }
  }
  if (inodes.empty()) {
    return true;
  }
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec);
  if (ec) {
    return true;
  }
  for (std::filesystem::directory_iterator end; !ec && it != end; it.increment(ec)) {
    std::error_code link_ec;
    auto target = std::filesystem::read_symlink(it->path(), link_ec);
    if (!link_ec && inodes.count(target.string())) {
      return true;
    }
  }
  return false;
}

} // namespace

RedisServer::RedisServer(std::vector<std::string> extra_args) : m_extra(std::move(extra_args)) {
  std::string templ = (std::filesystem::temp_directory_path() / "nfl-redis-XXXXXX").string();
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  m_dir = templ;
  // A port another process took first costs a retry on a fresh port, not the test.
  for (int attempt = 1;; ++attempt) {
    m_port = free_loopback_port();
    try {
      start();
      return;
    } catch (const ExitedAtStart&) {
      if (attempt == 5) {
        std::error_code ec;
        std::filesystem::remove_all(m_dir, ec); // no destructor runs for a throwing constructor
        throw;
      }
    }
  }
}

RedisServer::~RedisServer() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGCONT);
    kill9();
  }
  std::error_code ec;
  std::filesystem::remove_all(m_dir, ec);
}

void RedisServer::start() {
  std::vector<std::string> args = {"redis-server", "--port", std::to_string(m_port), "--bind", "127.0.0.1",
                                   "--dir", m_dir.string(), "--save", "", "--appendonly", "no",
                                   "--daemonize", "no", "--loglevel", "warning",
                                   "--logfile", (m_dir / "redis.log").string()};
  // Later arguments win in redis-server, so the caller's extras override defaults.
  args.insert(args.end(), m_extra.begin(), m_extra.end());
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // The server logs to its logfile; without the runner's pipes, a server outliving
    // a crashed test (ASan abort) cannot keep ctest waiting for end of output.
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
      ::dup2(null_fd, 0);
      ::dup2(null_fd, 1);
      ::dup2(null_fd, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp("redis-server", argv.data());
    std::_Exit(127);
  }
  m_pid = pid;
  try {
    wait_ready();
  } catch (...) {
    kill9(); // never leave a child holding the test runner's output pipe
    throw;
  }
}

void RedisServer::wait_ready() const {
  // Polling here is connection establishment, not synchronisation on our own
  // events: redis-server offers no readiness signal we could wait on.
  for (int i = 0; i < 500; ++i) {
    timeval tv{0, 200000};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", m_port, tv);
    if (c && !c->err) {
      // With --requirepass, PING answers NOAUTH: the server is up, which is all we need.
      auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
      bool ok = r && (r->type == REDIS_REPLY_STATUS ||
                      (r->type == REDIS_REPLY_ERROR && std::string(r->str).rfind("NOAUTH", 0) == 0));
      if (r) freeReplyObject(r);
      redisFree(c);
      if (ok && listens_on(m_pid, m_port)) return;
    } else if (c) {
      redisFree(c);
    }
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid)
      throw ExitedAtStart("redis-server exited at start on port " + std::to_string(m_port) + "; see " +
                          (m_dir / "redis.log").string());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("redis-server did not answer on port " + std::to_string(m_port));
}

void RedisServer::stop() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGCONT);
  ::kill(m_pid, SIGTERM);
  ::waitpid(m_pid, nullptr, 0);
  m_pid = -1;
}

void RedisServer::kill9() {
  if (m_pid <= 0) return;
  ::kill(m_pid, SIGKILL);
  ::waitpid(m_pid, nullptr, 0);
  m_pid = -1;
}

void RedisServer::pause() { ::kill(m_pid, SIGSTOP); }
void RedisServer::resume() { ::kill(m_pid, SIGCONT); }

std::string RedisServer::cli(const std::string& args) const {
  std::string cmd = "redis-cli -h 127.0.0.1 -p " + std::to_string(m_port) + " " + args;
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed");
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

void RedisServer::flushall() const { cli("FLUSHALL"); }

RedisServer& shared_redis() {
  static RedisServer server;
  return server;
}

} // namespace nfl::test
