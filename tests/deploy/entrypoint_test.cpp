// docker/entrypoint.sh run directly (no Docker engine on these machines): it must lay
// out DATA_DIR, start the bundled Redis with docker/redis.conf, run the worker, drain
// on SIGTERM (what `docker stop` sends through tini) and shut Redis down cleanly.
#include <gtest/gtest.h>

#include <signal.h>

#include <cerrno>
#include <fstream>

#include <nlohmann/json.hpp>

#include "deploy_support.hpp"
#include "support/redis_server.hpp"

using namespace nfl::test;
using namespace std::chrono_literals;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path k_source{NFL_SOURCE_DIR};

class EntrypointTest : public ::testing::Test {
protected:
  TempDir dir;
  int port = free_loopback_port();

  EnvMap env() const {
    return {{"NFL_BIN", NFL_BINARY},
            {"DATA_DIR", (dir / "data").string()},
            {"STATE_DIR", (dir / "state").string()},
            {"REDIS_CONF", (k_source / "docker" / "redis.conf").string()},
            {"REDIS_PORT", std::to_string(port)},
            {"REDIS_HOST", "localhost"},
            {"REDIS_MAX_MEMORY", "64mb"},
            {"QUEUE_BACKEND", "redis"},
            {"MACHINE_ID", "entrypoint-box"}};
  }
  EnvMap env_on_port(int p) const {
    auto e = env();
    e["REDIS_PORT"] = std::to_string(p);
    return e;
  }
  bool redis_answers(int p) const {
    return run_process({"redis-cli", "-p", std::to_string(p), "ping"}, {}).out.find("PONG") != std::string::npos;
  }
  std::string submit(const std::string& type, const std::string& config, const EnvMap& e) const {
    auto r = run_process({NFL_BINARY, "submit", "--type", type, "--config", config}, e);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    auto id = r.out.substr(0, r.out.find('\n'));
    return id;
  }
  std::string status_of(const std::string& id, const EnvMap& e) const {
    auto r = run_process({NFL_BINARY, "tasks", "show", id, "--json"}, e);
    if (r.exit_code != 0) {
      return "error: " + r.out;
    }
    return Json::parse(r.out).value("status", "");
  }
};

TEST_F(EntrypointTest, RunsTasksThenDrainsAndStopsRedisOnSigterm) {
  const auto log = dir / "entrypoint.log";
  pid_t pid = spawn_process({"bash", (k_source / "docker" / "entrypoint.sh").string(), "nfl-compute", "worker",
                             "--grace", "1", "--concurrency", "2"},
                            env(), log);
  ASSERT_TRUE(eventually([&] { return redis_answers(port); }, 20s)) << read_text(log);

  for (const char* sub : {"results", "artifacts", "checkpoints", "logs", "machine_dumps"}) {
    EXPECT_TRUE(fs::is_directory(dir / "data" / sub)) << sub;
  }
  // Redis's own files live in STATE_DIR, never in the synced DATA_DIR.
  const auto redis_dir = dir / "state" / "redis";
  const auto pidfile = redis_dir / "redis.pid";
  ASSERT_TRUE(eventually([&] { return fs::exists(pidfile) && !read_text(pidfile).empty(); }, 5s));
  const pid_t redis_pid = std::stoi(read_text(pidfile));
  auto policy = run_process({"redis-cli", "-p", std::to_string(port), "config", "get", "maxmemory-policy"}, {});
  EXPECT_NE(policy.out.find("noeviction"), std::string::npos) << policy.out;

  std::vector<std::string> quick;
  for (int i = 0; i < 3; ++i) {
    quick.push_back(submit("noop", "{}", env()));
  }
  for (const auto& id : quick) {
    EXPECT_TRUE(eventually([&] { return status_of(id, env()) == "completed"; }, 30s))
        << id << " is " << status_of(id, env()) << "\n"
        << read_text(log);
  }
  auto long_task = submit("sleep", R"({"seconds": 600})", env());
  ASSERT_TRUE(eventually([&] { return status_of(long_task, env()) == "running"; }, 30s))
      << status_of(long_task, env()) << "\n"
      << read_text(log);

  const auto stop_requested = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  // --grace 1: the worker stops within about a second plus the release round trip.
  const int code = wait_exit(pid, 20s);
  const auto took = std::chrono::steady_clock::now() - stop_requested;
  if (code == -1) {
    kill(pid, SIGKILL);
    wait_exit(pid, 5s);
  }
  ASSERT_EQ(code, 0) << read_text(log);
  EXPECT_LT(took, 10s);
  const auto text = read_text(log);
  EXPECT_NE(text.find("received TERM, forwarding"), std::string::npos) << text;
  EXPECT_NE(text.find("stopping redis-server"), std::string::npos) << text;

  // Redis went through SHUTDOWN (it removes its pidfile and says goodbye), and the
  // process is gone, not left behind as an orphan.
  EXPECT_EQ(kill(redis_pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(fs::exists(pidfile));
  auto redis_log = read_text(dir / "data" / "logs" / "redis.log");
  EXPECT_NE(redis_log.find("ready to exit"), std::string::npos) << redis_log;
  ASSERT_TRUE(fs::is_directory(redis_dir / "appendonlydir"));
  std::uintmax_t aof_bytes = 0;
  for (const auto& f : fs::directory_iterator(redis_dir / "appendonlydir")) {
    aof_bytes += fs::file_size(f.path());
  }
  EXPECT_GT(aof_bytes, 0u);

  // What survives is what the next container start loads: the same conf and dir on a
  // fresh Redis. The finished tasks stay finished; the interrupted one is pending again.
  const int port2 = free_loopback_port();
  const auto log2 = dir / "redis2.log";
  pid_t redis2 = spawn_process({"redis-server", (k_source / "docker" / "redis.conf").string(), "--port",
                                std::to_string(port2), "--dir", redis_dir.string()},
                               {}, log2);
  ASSERT_TRUE(eventually([&] { return redis_answers(port2); }, 20s)) << read_text(log2);
  for (const auto& id : quick) {
    EXPECT_EQ(status_of(id, env_on_port(port2)), "completed") << id;
  }
  EXPECT_EQ(status_of(long_task, env_on_port(port2)), "pending");
  run_process({"redis-cli", "-p", std::to_string(port2), "shutdown", "nosave"}, {});
  EXPECT_EQ(wait_exit(redis2, 20s), 0);
}

TEST_F(EntrypointTest, ExitsWithAClearMessageWhenRedisCannotStart) {
  auto e = env();
  e["REDIS_CONF"] = (dir / "missing.conf").string();
  const auto log = dir / "entrypoint.log";
  pid_t pid = spawn_process({"bash", (k_source / "docker" / "entrypoint.sh").string()}, e, log);
  const int code = wait_exit(pid, 20s);
  if (code == -1) {
    kill(pid, SIGKILL);
    wait_exit(pid, 5s);
  }
  EXPECT_EQ(code, 1);
  EXPECT_NE(read_text(log).find("redis-server exited"), std::string::npos) << read_text(log);
}

} // namespace
