#pragma once
// A private redis-server for one test binary: a free loopback port (never 6379),
// its own directory, stopped by PID at the end. Tests never share an instance.
#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace nfl::test {

class RedisServer {
public:
  // extra_args are passed to redis-server (e.g. {"--appendonly", "yes"}).
  explicit RedisServer(std::vector<std::string> extra_args = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return m_port; }
  const std::filesystem::path& dir() const { return m_dir; }
  void stop();          // SIGTERM and wait
  void kill9();         // SIGKILL and wait (crash)
  void pause();         // SIGSTOP
  void resume();        // SIGCONT
  void start();         // (re)start on the same port and dir
  // Runs redis-cli against this server and returns stdout.
  std::string cli(const std::string& args) const;
  void flushall() const;

private:
  void wait_ready() const;
  int m_port = 0;
  pid_t m_pid = -1;
  std::filesystem::path m_dir;
  std::vector<std::string> m_extra;
};

// The process-wide shared server for tests that only need "a Redis" (flushed per test).
RedisServer& shared_redis();

int free_loopback_port();

// A directory removed at scope exit, even when an assertion fails.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

private:
  std::filesystem::path m_path;
};

} // namespace nfl::test
