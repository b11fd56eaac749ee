// `nfl-compute sync` end to end with the real binary: two machines, one on SQLite and
// one on its own Redis, exchanging snapshots through copies of a folder (copied here
// the way a sync tool would), plus the bad-file and bad-flag cases.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "support/redis_server.hpp"

using namespace nfl::test;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

class SyncCli : public ::testing::Test {
protected:
  TempDir dir;
  RedisServer redis{{"--appendonly", "no"}};

  std::map<std::string, std::string> env_alpha() const {
    return {{"DATA_DIR", (dir / "alpha-data").string()},
            {"STATE_DIR", (dir / "alpha-state").string()},
            {"MACHINE_ID", "alpha"},
            {"HARDWARE_PROFILE", "cpu_x86"},
            {"SYNC_ENABLED", "true"}};
  }
  std::map<std::string, std::string> env_beta() const {
    return {{"DATA_DIR", (dir / "beta-data").string()},
            {"STATE_DIR", (dir / "beta-state").string()},
            {"MACHINE_ID", "beta"},
            {"HARDWARE_PROFILE", "cpu_x86"},
            {"SYNC_ENABLED", "true"},
            {"QUEUE_BACKEND", "redis"},
            {"REDIS_HOST", "127.0.0.1"},
            {"REDIS_PORT", std::to_string(redis.port())},
            {"REDIS_KEY_PREFIX", "beta:"}};
  }
  RunResult nfl(const std::map<std::string, std::string>& env, const std::vector<std::string>& args) const {
    RunOptions o;
    o.env = env;
    o.cwd = dir.path();
    return run_nfl(args, o);
  }
  // What a sync tool does: every file of one copy appears in the other.
  void copy_folder(const std::string& from, const std::string& to) const {
    fs::create_directories(dir / to);
    fs::copy(dir / from, dir / to, fs::copy_options::recursive | fs::copy_options::update_existing);
  }
};

TEST_F(SyncCli, TwoMachinesOneOnSqliteOneOnRedisConvergeThroughTheFolder) {
  for (int i = 0; i < 6; ++i) {
    auto r = nfl(env_alpha(), {"submit", "--type", "noop", "--name", "from alpha " + std::to_string(i), "--config",
                               "{\"i\": " + std::to_string(i) + "}"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  auto first = nfl(env_alpha(), {"sync"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("6 local changes"), std::string::npos) << first.out;
  copy_folder("alpha-data", "beta-data");

  auto b1 = nfl(env_beta(), {"sync"});
  ASSERT_EQ(b1.exit_code, 0) << b1.err;
  EXPECT_NE(b1.out.find("1 snapshots merged"), std::string::npos) << b1.out;
  EXPECT_NE(b1.out.find("6 tasks installed"), std::string::npos) << b1.out;
  EXPECT_NE(redis.cli("LASTSAVE"), "0\n") << "a round on Redis runs BGSAVE first, as the seed did";
  // beta (the only other machine) owns some tasks; alpha's are parked for it, so each
  // machine's worker runs its own share.
  auto w = nfl(env_beta(), {"worker", "--burst", "--concurrency", "2"});
  ASSERT_EQ(w.exit_code, 0) << w.err;
  ASSERT_EQ(nfl(env_beta(), {"sync"}).exit_code, 0);
  copy_folder("beta-data", "alpha-data");
  ASSERT_EQ(nfl(env_alpha(), {"sync"}).exit_code, 0);
  ASSERT_EQ(nfl(env_alpha(), {"worker", "--burst", "--concurrency", "2"}).exit_code, 0);
  ASSERT_EQ(nfl(env_alpha(), {"sync"}).exit_code, 0);
  copy_folder("alpha-data", "beta-data");
  ASSERT_EQ(nfl(env_beta(), {"sync"}).exit_code, 0);

  auto ea = nfl(env_alpha(), {"sync", "--export", "-"});
  auto eb = nfl(env_beta(), {"sync", "--export", "-"});
  ASSERT_EQ(ea.exit_code, 0) << ea.err;
  ASSERT_EQ(eb.exit_code, 0) << eb.err;
  EXPECT_EQ(ea.out, eb.out) << "same canonical state on SQLite and on Redis";
  EXPECT_EQ(lines_of(ea.out).size(), 6u);
  for (const auto& line : lines_of(ea.out)) {
    EXPECT_EQ(Json::parse(line)["status"], "completed") << line;
  }

  auto status = nfl(env_alpha(), {"sync", "--status", "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  Json doc = Json::parse(status.out);
  ASSERT_EQ(doc["machines"].size(), 1u);
  EXPECT_EQ(doc["machines"][0]["machine_id"], "beta");
  EXPECT_EQ(doc["machines"][0]["live"], true);
  EXPECT_TRUE(fs::exists(dir / "alpha-data" / "sync_metadata" / "alpha.json"));
  EXPECT_TRUE(fs::exists(dir / "alpha-data" / "sync_metadata.json"));
  auto human = nfl(env_alpha(), {"status"});
  EXPECT_NE(human.out.find("Sync ("), std::string::npos) << human.out;
}

TEST_F(SyncCli, DamagedSnapshotsAreSkippedWithTheirReasonAndNothingElseChanges) {
  ASSERT_EQ(nfl(env_alpha(), {"submit", "--type", "noop"}).exit_code, 0);
  ASSERT_EQ(nfl(env_alpha(), {"sync"}).exit_code, 0);
  fs::path dumps = dir / "alpha-data" / "machine_dumps";
  std::ofstream(dumps / "gamma_1764300000.snap") << "NFLSNAP1" << std::string(200, 'x'); // half an upload
  std::ofstream(dumps / "delta_1764300000 (1).snap") << "not a snapshot at all";
  auto r = nfl(env_alpha(), {"sync"});
  ASSERT_EQ(r.exit_code, 0) << "bad files never fail the round: " << r.err;
  EXPECT_NE(r.out.find("skipped gamma_1764300000.snap: truncated"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("skipped delta_1764300000 (1).snap: not a snapshot"), std::string::npos) << r.out;
  auto again = nfl(env_alpha(), {"sync"});
  EXPECT_EQ(again.out.find("skipped"), std::string::npos) << "each bad file is reported once: " << again.out;
  Json doc = Json::parse(nfl(env_alpha(), {"sync", "--status", "--json"}).out);
  EXPECT_EQ(doc["skipped_files"].size(), 2u);
  auto doctor = nfl(env_alpha(), {"doctor"});
  EXPECT_NE(doctor.out.find("sync snapshots: 2 file(s) skipped"), std::string::npos) << doctor.out;
  EXPECT_NE(doctor.out.find("sync conflict copies: 1 conflict copy"), std::string::npos) << doctor.out;
  EXPECT_EQ(nfl(env_alpha(), {"sync", "--export", "-"}).out.find("\n"),
            nfl(env_alpha(), {"sync", "--export", "-"}).out.size() - 1)
      << "still exactly the one task";
}

TEST_F(SyncCli, BadFlagsAndSettingsAreRefusedClearly) {
  auto r = nfl(env_alpha(), {"sync", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--json: only with --status"), std::string::npos) << r.err;
  auto env = env_alpha();
  env["SYNC_TAKEOVER_SECONDS"] = "5";
  auto t = nfl(env, {"sync"});
  EXPECT_EQ(t.exit_code, 2);
  EXPECT_NE(t.err.find("SYNC_TAKEOVER_SECONDS"), std::string::npos) << t.err;
}

} // namespace
