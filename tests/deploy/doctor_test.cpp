// `nfl-compute doctor` against real redis-servers: a healthy one and misconfigured
// ones, each finding with its PASS/WARN/FAIL line and the exit code the deployment
// scripts rely on.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>

#include "deploy_support.hpp"
#include "support/redis_server.hpp"

using namespace nfl::test;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> k_healthy_redis{"--appendonly",  "yes", "--appendfsync", "everysec", "--maxmemory",
                                               "64mb",          "--maxmemory-policy", "noeviction"};

class DoctorTest : public ::testing::Test {
protected:
  TempDir dir;

  void SetUp() override {
    for (const char* sub : {"results", "artifacts", "checkpoints", "logs", "machine_dumps"}) {
      fs::create_directories(dir / "data" / sub);
    }
  }
  EnvMap env(int port) const {
    return {{"DATA_DIR", (dir / "data").string()}, {"STATE_DIR", (dir / "state").string()},
            {"QUEUE_BACKEND", "redis"},           {"REDIS_HOST", "127.0.0.1"},
            {"REDIS_PORT", std::to_string(port)}, {"MACHINE_ID", "doctor-box"}};
  }
  ProcessResult doctor(const EnvMap& e) const { return run_process({NFL_BINARY, "doctor"}, e, dir.path()); }
};

// The line for one check, e.g. "FAIL  eviction policy: ...".
std::string line_of(const std::string& out, const std::string& check) {
  auto pos = out.find("  " + check + ": ");
  if (pos == std::string::npos || pos < 4) {
    return {};
  }
  auto start = pos - 4;
  return out.substr(start, out.find('\n', pos) - start);
}

bool has_fix_after(const std::string& out, const std::string& check) {
  auto pos = out.find("  " + check + ": ");
  auto next = out.find('\n', pos);
  return next != std::string::npos && out.compare(next + 1, 11, "      fix: ") == 0;
}

TEST_F(DoctorTest, HealthyRedisPassesEveryCheck) {
  RedisServer redis(k_healthy_redis);
  auto r = doctor(env(redis.port()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  for (const char* check : {"configuration", "backend reachable", "redis version", "persistence", "eviction policy",
                            "memory headroom", "lua scripts", "clock offset", "DATA_DIR", "STATE_DIR", "hardware"}) {
    EXPECT_EQ(line_of(r.out, check).rfind("PASS", 0), 0u) << check << "\n" << r.out;
  }
  EXPECT_NE(line_of(r.out, "persistence").find("appendonly yes, appendfsync everysec"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 warning(s), 0 failed"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("fix:"), std::string::npos) << r.out;
}

TEST_F(DoctorTest, EvictingRedisFailsWithAFix) {
  RedisServer redis({"--appendonly", "yes", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"});
  auto r = doctor(env(redis.port()));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  auto line = line_of(r.out, "eviction policy");
  EXPECT_EQ(line.rfind("FAIL", 0), 0u) << r.out;
  EXPECT_NE(line.find("allkeys-lru"), std::string::npos) << line;
  EXPECT_TRUE(has_fix_after(r.out, "eviction policy")) << r.out;
  EXPECT_NE(r.out.find("noeviction"), std::string::npos);
}

TEST_F(DoctorTest, UnwritableDataDirFails) {
  RedisServer redis(k_healthy_redis);
  // Root writes through permission bits, so as root the doctor runs as nobody: the
  // folders it must reach are opened up, DATA_DIR itself is read-only for everyone.
  const bool as_nobody = ::geteuid() == 0;
  const auto rx = fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read | fs::perms::group_exec |
                  fs::perms::others_read | fs::perms::others_exec;
  fs::permissions(dir.path(), rx | fs::perms::owner_write);
  fs::permissions(dir / "data", rx);
  auto r = run_process({NFL_BINARY, "doctor"}, env(redis.port()), dir.path(), as_nobody);
  fs::permissions(dir / "data", fs::perms::owner_all);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  auto line = line_of(r.out, "DATA_DIR");
  EXPECT_EQ(line.rfind("FAIL", 0), 0u) << r.out;
  EXPECT_NE(line.find("not writable"), std::string::npos) << line;
  EXPECT_TRUE(has_fix_after(r.out, "DATA_DIR")) << r.out;
}

TEST_F(DoctorTest, MissingLayoutWarnsAndNamesTheFolders) {
  RedisServer redis(k_healthy_redis);
  fs::remove_all(dir / "data" / "checkpoints");
  auto r = doctor(env(redis.port()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto line = line_of(r.out, "DATA_DIR");
  EXPECT_EQ(line.rfind("WARN", 0), 0u) << r.out;
  EXPECT_NE(line.find("checkpoints"), std::string::npos) << line;
}

TEST_F(DoctorTest, SnapshotOnlyPersistenceWarnsAndFailsInProduction) {
  RedisServer redis({"--appendonly", "no", "--save", "900 1", "--maxmemory", "64mb", "--maxmemory-policy",
                     "noeviction"});
  auto dev = doctor(env(redis.port()));
  EXPECT_EQ(dev.exit_code, 0) << dev.out;
  EXPECT_EQ(line_of(dev.out, "persistence").rfind("WARN", 0), 0u) << dev.out;

  auto e = env(redis.port());
  e["NFL_ANALYTICS_ENV"] = "production";
  auto prod = doctor(e);
  EXPECT_EQ(prod.exit_code, 1) << prod.out;
  EXPECT_NE(prod.out.find("warnings count as failures"), std::string::npos) << prod.out;
}

TEST_F(DoctorTest, NoPersistenceAtAllFails) {
  RedisServer redis({"--appendonly", "no", "--save", "", "--maxmemory", "64mb", "--maxmemory-policy", "noeviction"});
  auto r = doctor(env(redis.port()));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(line_of(r.out, "persistence").rfind("FAIL", 0), 0u) << r.out;
}

TEST_F(DoctorTest, NearlyFullRedisFailsMemoryHeadroom) {
  RedisServer redis(k_healthy_redis);
  auto info = redis.cli("info memory");
  auto pos = info.find("used_memory:");
  ASSERT_NE(pos, std::string::npos);
  long long used = std::atoll(info.c_str() + pos + 12);
  // Just above what is used now: any further write would be refused.
  redis.cli("config set maxmemory " + std::to_string(used + used / 100));
  auto r = doctor(env(redis.port()));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_EQ(line_of(r.out, "memory headroom").rfind("FAIL", 0), 0u) << r.out;
}

TEST_F(DoctorTest, UnreachableRedisFails) {
  auto r = doctor(env(free_loopback_port()));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  auto line = line_of(r.out, "backend reachable");
  EXPECT_EQ(line.rfind("FAIL", 0), 0u) << r.out;
  EXPECT_TRUE(has_fix_after(r.out, "backend reachable")) << r.out;
}

TEST_F(DoctorTest, StateDirInsideDataDirFails) {
  RedisServer redis(k_healthy_redis);
  auto e = env(redis.port());
  e["STATE_DIR"] = (dir / "data" / "state").string();
  auto r = doctor(e);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("STATE_DIR"), std::string::npos) << r.out;
}

TEST_F(DoctorTest, SqliteBackendChecksItsStateDir) {
  auto e = env(0);
  e["QUEUE_BACKEND"] = "sqlite";
  e.erase("REDIS_PORT");
  auto r = doctor(e);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(line_of(r.out, "backend reachable").rfind("PASS", 0), 0u) << r.out;
  EXPECT_EQ(line_of(r.out, "STATE_DIR").rfind("PASS", 0), 0u) << r.out;
  EXPECT_EQ(r.out.find("lua scripts"), std::string::npos) << r.out;
}

} // namespace
