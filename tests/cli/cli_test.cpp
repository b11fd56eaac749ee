// The real binary, end to end: SQLite in a temporary STATE_DIR, Redis through a
// private redis-server.
#include <gtest/gtest.h>

#include <sched.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "support/redis_server.hpp"

using namespace nfl::test;
using Json = nlohmann::json;

namespace {

class CliTest : public ::testing::Test {
protected:
  TempDir dir;

  std::map<std::string, std::string> base_env() const {
    return {{"DATA_DIR", (dir / "data").string()},
            {"STATE_DIR", (dir / "state").string()},
            {"MACHINE_ID", "test-box"}};
  }
  RunResult nfl(const std::vector<std::string>& args, std::map<std::string, std::string> extra = {},
                std::string stdin_text = {}) const {
    RunOptions o;
    o.env = base_env();
    for (auto& [k, v] : extra) {
      o.env[k] = v;
    }
    o.cwd = dir.path();
    o.stdin_text = std::move(stdin_text);
    return run_nfl(args, o);
  }
  std::filesystem::path db() const { return dir / "state" / "nfl-compute.db"; }
  Json list_json() const {
    auto r = nfl({"tasks", "list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Json::parse(r.out);
  }
  void write(const std::string& name, const std::string& text) const { std::ofstream(dir / name) << text; }
};

// One stderr line, in the CLI's error form.
void expect_one_error_line(const RunResult& r, const std::string& must_contain) {
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("nfl-compute: error: ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(must_contain), std::string::npos) << lines[0];
}

TEST_F(CliTest, SubmitAndShowRoundTripOnSqlite) {
  auto r = nfl({"submit", "--type", "analysis", "--config", R"({"window": 8, "teams": ["KC", "BUF"]})", "--priority",
                "high", "--name", "weekly analysis", "--min-cpu-cores", "2", "--timeout", "30m", "--max-attempts", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto ids = lines_of(r.out);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].rfind("analysis_", 0), 0u);
  EXPECT_TRUE(std::filesystem::exists(db()));

  auto show = nfl({"tasks", "show", ids[0], "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto t = Json::parse(show.out);
  EXPECT_EQ(t["id"], ids[0]);
  EXPECT_EQ(t["name"], "weekly analysis");
  EXPECT_EQ(t["task_type"], "analysis");
  EXPECT_EQ(t["status"], "pending");
  EXPECT_EQ(t["priority"], "high");
  EXPECT_EQ(t["queue"], "cpu:sequential");
  EXPECT_EQ(t["config"]["window"], 8);
  EXPECT_EQ(t["config"]["teams"][1], "BUF");
  EXPECT_EQ(t["min_cpu_cores"], 2);
  EXPECT_EQ(t["timeout_s"], 1800);
  EXPECT_EQ(t["max_attempts"], 5);
  EXPECT_EQ(t["attempts"], 0);
  EXPECT_TRUE(t["result"].is_null());

  auto text = nfl({"tasks", "show", ids[0]});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("status:      pending"), std::string::npos) << text.out;

  auto listed = list_json();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["id"], ids[0]);

  auto missing = nfl({"tasks", "show", "no_such_task"});
  EXPECT_EQ(missing.exit_code, 1);
  expect_one_error_line(missing, "no_such_task");
}

TEST_F(CliTest, SubmitDependsOnAcceptsCommaListsAndRepeats) {
  auto a = lines_of(nfl({"submit", "--type", "noop", "--id", "a1"}).out);
  auto b = lines_of(nfl({"submit", "--type", "noop", "--id", "b2"}).out);
  auto c = lines_of(nfl({"submit", "--type", "noop", "--id", "c3"}).out);
  ASSERT_EQ(c, std::vector<std::string>{"c3"});
  auto r = nfl({"submit", "--type", "noop", "--id", "d4", "--depends-on", "a1,b2", "--depends-on", "c3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto t = Json::parse(nfl({"tasks", "show", "d4", "--json"}).out);
  EXPECT_EQ(t["depends_on"], Json::array({"a1", "b2", "c3"}));
  // An unknown dependency is refused by the store and nothing is added.
  auto bad = nfl({"submit", "--type", "noop", "--id", "e5", "--depends-on", "ghost"});
  EXPECT_EQ(bad.exit_code, 2);
  expect_one_error_line(bad, "ghost");
  EXPECT_EQ(list_json().size(), 4u);
}

TEST_F(CliTest, SubmitFileFromStdinAndBadLineAddsNothing) {
  auto ok = nfl({"submit", "--file", "-"}, {},
                "{\"task_type\": \"noop\", \"id\": \"first\"}\n\n"
                "{\"task_type\": \"noop\", \"id\": \"second\", \"depends_on\": [\"first\"], \"priority\": \"low\"}\n");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(lines_of(ok.out), (std::vector<std::string>{"first", "second"}));

  write("tasks.jsonl", "{\"task_type\": \"noop\", \"id\": \"third\"}\n"
                       "{\"task_type\": \"noop\", \"id\": \"fourth\"\n"
                       "{\"task_type\": \"noop\", \"id\": \"fifth\"}\n");
  auto bad = nfl({"submit", "--file", "tasks.jsonl"});
  EXPECT_EQ(bad.exit_code, 2);
  expect_one_error_line(bad, "tasks.jsonl:2:");
  EXPECT_TRUE(bad.out.empty());
  write("fields.jsonl", "{\"task_type\": \"noop\", \"id\": \"sixth\"}\n"
                        "{\"task_type\": \"noop\", \"min_memory\": -3}\n");
  auto bad_field = nfl({"submit", "--file", "fields.jsonl"});
  EXPECT_EQ(bad_field.exit_code, 2);
  expect_one_error_line(bad_field, "fields.jsonl:2: task field 'min_memory'");
  auto listed = list_json();
  ASSERT_EQ(listed.size(), 2u);
  for (const auto& t : listed) {
    EXPECT_TRUE(t["id"] == "first" || t["id"] == "second") << t["id"];
  }
}

TEST_F(CliTest, BadEnvironmentVariableExits2BeforeTouchingState) {
  auto r = nfl({"status"}, {{"REDIS_PORT", "seventy"}});
  EXPECT_EQ(r.exit_code, 2);
  expect_one_error_line(r, "REDIS_PORT");
  EXPECT_NE(r.err.find("seventy"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "state"));

  // The same holds for a bad line in .env (the working directory's by default).
  write(".env", "MAX_CONCURRENT_TASKS=lots\n");
  auto from_file = nfl({"submit", "--type", "noop"});
  EXPECT_EQ(from_file.exit_code, 2);
  expect_one_error_line(from_file, "MAX_CONCURRENT_TASKS");
  EXPECT_FALSE(std::filesystem::exists(dir / "state"));
  // The process environment wins over .env.
  auto overridden = nfl({"submit", "--type", "noop"}, {{"MAX_CONCURRENT_TASKS", "2"}});
  EXPECT_EQ(overridden.exit_code, 0) << overridden.err;
}

TEST_F(CliTest, BadTaskFlagsExit2WithNothingWritten) {
  auto priority = nfl({"submit", "--type", "noop", "--priority", "urgent"});
  EXPECT_EQ(priority.exit_code, 2);
  expect_one_error_line(priority, "--priority: 'urgent' is not a priority");
  EXPECT_NE(priority.err.find("critical, high, medium, low, background"), std::string::npos);

  auto memory = nfl({"submit", "--type", "noop", "--min-memory=-4GB"});
  EXPECT_EQ(memory.exit_code, 2);
  expect_one_error_line(memory, "--min-memory");

  auto json = nfl({"submit", "--type", "noop", "--config", "{\"window\": "});
  EXPECT_EQ(json.exit_code, 2);
  expect_one_error_line(json, "--config: not valid JSON");

  auto not_object = nfl({"submit", "--type", "noop", "--config", "[1, 2]"});
  EXPECT_EQ(not_object.exit_code, 2);
  expect_one_error_line(not_object, "expected a JSON object");

  auto queue = nfl({"submit", "--type", "noop", "--queue", "gpu:huge"});
  EXPECT_EQ(queue.exit_code, 2);
  expect_one_error_line(queue, "gpu:huge");

  // Validation happened before the store was opened: no database file.
  EXPECT_FALSE(std::filesystem::exists(db()));
}

TEST_F(CliTest, ConfigOverOneMebibyteIsRefused) {
  Json big = {{"task_type", "noop"}, {"config", {{"blob", std::string((1 << 20) + 10, 'x')}}}};
  write("big.jsonl", big.dump() + "\n");
  auto r = nfl({"submit", "--file", "big.jsonl"});
  EXPECT_EQ(r.exit_code, 2);
  expect_one_error_line(r, "big.jsonl:1: task field 'config'");
  EXPECT_NE(r.err.find("1 MiB"), std::string::npos);
  write("big.json", big["config"].dump());
  auto flag = nfl({"submit", "--type", "noop", "--config", "@big.json"});
  EXPECT_EQ(flag.exit_code, 2);
  expect_one_error_line(flag, "1 MiB");
  EXPECT_FALSE(std::filesystem::exists(db()));
}

TEST_F(CliTest, UnknownFlagExits2) {
  auto r = nfl({"status", "--bogus"});
  EXPECT_EQ(r.exit_code, 2);
  expect_one_error_line(r, "--bogus");
  auto top = nfl({"--frobnicate"});
  EXPECT_EQ(top.exit_code, 2);
  expect_one_error_line(top, "--frobnicate");
  auto backend = nfl({"status", "--backend", "mongo"});
  EXPECT_EQ(backend.exit_code, 2);
  expect_one_error_line(backend, "mongo");
}

TEST_F(CliTest, UnreachableRedisIsOneClearLine) {
  int port = free_loopback_port(); // nothing listens there
  auto r = nfl({"--redis-mode", "--status"}, {{"REDIS_HOST", "127.0.0.1"}, {"REDIS_PORT", std::to_string(port)}});
  EXPECT_EQ(r.exit_code, 1);
  expect_one_error_line(r, "redis at 127.0.0.1:" + std::to_string(port));
  auto submit = nfl({"submit", "--backend", "redis", "--type", "noop"},
                    {{"REDIS_HOST", "127.0.0.1"}, {"REDIS_PORT", std::to_string(port)}});
  EXPECT_EQ(submit.exit_code, 1);
  EXPECT_TRUE(submit.out.empty());

  auto health = nfl({"health", "--backend", "redis"}, {{"REDIS_HOST", "127.0.0.1"}, {"REDIS_PORT", std::to_string(port)}});
  EXPECT_EQ(health.exit_code, 1);
  ASSERT_EQ(lines_of(health.out).size(), 1u);
  EXPECT_EQ(health.out.rfind("unhealthy: ", 0), 0u) << health.out;
}

TEST_F(CliTest, HealthAnswersOnSqlite) {
  auto r = nfl({"health"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(lines_of(r.out).size(), 1u);
  EXPECT_EQ(r.out.rfind("ok: sqlite", 0), 0u) << r.out;
}

TEST_F(CliTest, RedisModeStatusPrintsThePerQueueTable) {
  RedisServer redis;
  std::map<std::string, std::string> env = {{"REDIS_HOST", "127.0.0.1"}, {"REDIS_PORT", std::to_string(redis.port())}};
  auto submit = nfl({"--redis-mode", "submit", "--type", "etl"}, env);
  ASSERT_EQ(submit.exit_code, 0) << submit.err;
  auto r = nfl({"--redis-mode", "--status"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* q : {"gpu:high", "gpu:standard", "cpu:parallel", "cpu:sequential", "data:pipeline",
                        "analysis:standard"}) {
    EXPECT_NE(r.out.find(q), std::string::npos) << q;
  }
  EXPECT_NE(r.out.find("PENDING"), std::string::npos);
  EXPECT_NE(r.out.find("redis://"), std::string::npos) << r.out;
  // data:pipeline shows the etl task; nobody serves it yet, which is called out.
  bool found = false;
  for (const auto& line : lines_of(r.out)) {
    EXPECT_LE(line.size(), 80u) << line;
    if (line.rfind("data:pipeline", 0) == 0) {
      found = true;
      EXPECT_NE(line.find("        1"), std::string::npos) << line;
    }
  }
  EXPECT_TRUE(found);
  EXPECT_NE(r.out.find("no live worker serves data:pipeline"), std::string::npos) << r.out;
  // No colour when stdout is not a terminal.
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
}

TEST_F(CliTest, GpuTaskLandsInTheSeedsGpuHighKey) {
  RedisServer redis;
  std::map<std::string, std::string> env = {{"REDIS_HOST", "127.0.0.1"}, {"REDIS_PORT", std::to_string(redis.port())},
                                            {"QUEUE_BACKEND", "redis"}};
  auto r = nfl({"submit", "--type", "train_model", "--requires-gpu", "--min-gpu-memory", "12GB"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto id = lines_of(r.out).at(0);
  auto zrange = redis.cli("ZRANGE gpu:high 0 -1 WITHSCORES");
  EXPECT_NE(zrange.find(id), std::string::npos) << zrange;
  // 8 GiB is not "more than 8": gpu:standard.
  auto standard = nfl({"submit", "--type", "train_model", "--requires-gpu", "--min-gpu-memory", "8GB"}, env);
  auto sid = lines_of(standard.out).at(0);
  EXPECT_NE(redis.cli("ZRANGE gpu:standard 0 -1").find(sid), std::string::npos);
  EXPECT_EQ(redis.cli("ZRANGE gpu:high 0 -1").find(sid), std::string::npos);
}

TEST_F(CliTest, StatusJsonIsTheDocumentedShape) {
  ASSERT_EQ(nfl({"submit", "--type", "etl"}).exit_code, 0);
  ASSERT_EQ(nfl({"submit", "--type", "etl"}).exit_code, 0);
  ASSERT_EQ(nfl({"submit", "--type", "x", "--requires-gpu", "--min-gpu-memory", "24GB"}).exit_code, 0);
  auto r = nfl({"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = Json::parse(r.out);
  ASSERT_TRUE(doc["queues"].is_object());
  EXPECT_EQ(doc["queues"].size(), 6u);
  for (const char* q : {"gpu:high", "gpu:standard", "cpu:parallel", "cpu:sequential", "data:pipeline",
                        "analysis:standard"}) {
    ASSERT_TRUE(doc["queues"].contains(q)) << q;
    EXPECT_TRUE(doc["queues"][q]["pending"].is_number_integer());
    EXPECT_TRUE(doc["queues"][q]["running"].is_number_integer());
  }
  EXPECT_EQ(doc["queues"]["data:pipeline"]["pending"], 2);
  EXPECT_EQ(doc["queues"]["gpu:high"]["pending"], 1);
  EXPECT_EQ(doc["queues"]["cpu:parallel"]["pending"], 0);
  EXPECT_EQ(doc["counts"].size(), 6u);
  for (const char* s : {"pending", "running", "completed", "failed", "cancelled", "blocked"}) {
    ASSERT_TRUE(doc["counts"].contains(s)) << s;
  }
  EXPECT_EQ(doc["counts"]["pending"], 3);
  EXPECT_TRUE(doc["machines"].is_array());
  EXPECT_TRUE(doc["running"].is_array());
  EXPECT_TRUE(doc["throughput"]["completed_last_5m"].is_number_integer());
  ASSERT_EQ(doc["infeasible"].size(), 2u);
  EXPECT_EQ(doc["infeasible"][0]["queue"], "gpu:high");
  EXPECT_NE(doc["infeasible"][0]["reason"].get<std::string>().find("8 GiB"), std::string::npos);
}

TEST_F(CliTest, HardwareJsonReportsThisMachineAndOverrides) {
  auto r = nfl({"hardware", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = Json::parse(r.out);
  EXPECT_EQ(j["machine_id"], "test-box");
  EXPECT_EQ(j["profile"], j["detected_profile"]);
  EXPECT_EQ(j["profile_source"], "detected");
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  EXPECT_EQ(j["hardware"]["cpu_cores"], CPU_COUNT(&set));
  EXPECT_GT(j["hardware"]["memory_gib"].get<double>(), 0.0);
  EXPECT_EQ(j["queues"].back(), "analysis:standard");

  auto forced = nfl({"hardware", "--json", "--hardware-profile", "gpu_high", "--machine-id", "Rig-7"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  auto f = Json::parse(forced.out);
  EXPECT_EQ(f["machine_id"], "rig-7");
  EXPECT_EQ(f["profile"], "gpu_high");
  EXPECT_EQ(f["profile_source"], "HARDWARE_PROFILE");
  EXPECT_EQ(f["queues"][0], "gpu:high");
  EXPECT_EQ(f["queues"][1], "gpu:standard");

  auto text = nfl({"hardware"});
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("profile:"), std::string::npos);
  EXPECT_NE(text.out.find("queues:"), std::string::npos);

  auto bad = nfl({"hardware", "--machine-id", "bad id!"});
  EXPECT_EQ(bad.exit_code, 2);
  expect_one_error_line(bad, "--machine-id");
}

TEST_F(CliTest, CancelAndRequeue) {
  ASSERT_EQ(nfl({"submit", "--type", "noop", "--id", "job1"}).exit_code, 0);
  auto c = nfl({"tasks", "cancel", "job1"});
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "cancelled job1\n");
  auto again = nfl({"tasks", "cancel", "job1"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("is cancelled"), std::string::npos) << again.err;
  EXPECT_EQ(Json::parse(nfl({"tasks", "list", "--status", "cancelled", "--json"}).out).size(), 1u);
  auto rq = nfl({"tasks", "requeue", "job1"});
  EXPECT_EQ(rq.exit_code, 0) << rq.err;
  EXPECT_EQ(Json::parse(nfl({"tasks", "show", "job1", "--json"}).out)["status"], "pending");
  auto bad_status = nfl({"tasks", "list", "--status", "done"});
  EXPECT_EQ(bad_status.exit_code, 2);
  expect_one_error_line(bad_status, "--status");
}

TEST_F(CliTest, InitSubmitsThePipelineOnceAndRerunFindsIt) {
  auto first = nfl({"--init"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto ids = lines_of(first.out);
  ASSERT_EQ(ids.size(), 9u);
  EXPECT_EQ(ids.front(), "ingestion_latest");
  EXPECT_EQ(ids.back(), "reporting_latest");
  auto again = nfl({"init"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(lines_of(again.out), ids);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
  EXPECT_EQ(list_json().size(), 9u);
  auto reporting = Json::parse(nfl({"tasks", "show", "reporting_latest", "--json"}).out);
  EXPECT_EQ(reporting["depends_on"].size(), 8u);
  // Only ingestion is claimable until its dependents' inputs exist.
  auto status = Json::parse(nfl({"status", "--json"}).out);
  EXPECT_EQ(status["queues"]["data:pipeline"]["pending"], 1);
  auto week = nfl({"init", "--season", "2024", "--week", "5"});
  ASSERT_EQ(week.exit_code, 0) << week.err;
  EXPECT_EQ(lines_of(week.out).at(5), "monte_carlo_2024_w05");
  auto mc = Json::parse(nfl({"tasks", "show", "monte_carlo_2024_w05", "--json"}).out);
  EXPECT_EQ(mc["config"]["season"], 2024);
  EXPECT_EQ(mc["config"]["week"], 5);
  EXPECT_EQ(nfl({"init", "--week", "40"}).exit_code, 2);
}

TEST_F(CliTest, ConfigPrintsEveryVariableWithSecretsRedacted) {
  auto r = nfl({"config"}, {{"REDIS_PASSWORD", "hunter2-secret"}, {"REDIS_PORT", "6380"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos);
  EXPECT_NE(r.out.find("REDIS_PASSWORD=<redacted>"), std::string::npos);
  EXPECT_NE(r.out.find("REDIS_PORT=6380  # environment"), std::string::npos);
  EXPECT_NE(r.out.find("ENABLE_CACHING=true  # default"), std::string::npos);
  auto t = nfl({"config", "--template"});
  ASSERT_EQ(t.exit_code, 0);
  for (const char* name : {"MACHINE_ID", "HARDWARE_PROFILE", "NFL_ANALYTICS_ENV", "REDIS_HOST", "REDIS_PORT",
                           "REDIS_MAX_MEMORY", "GOOGLE_DRIVE_SYNC_INTERVAL", "SYNC_ENABLED", "MAX_CONCURRENT_TASKS",
                           "TASK_TIMEOUT_HOURS", "ENABLE_CACHING", "LOG_LEVEL", "LOG_TO_FILE", "DATA_DIR",
                           "QUEUE_BACKEND"}) {
    EXPECT_NE(t.out.find(std::string("\n") + name + "="), std::string::npos) << name;
  }
}

TEST_F(CliTest, WorkerBurstDrainsWhatWasSubmitted) {
  ASSERT_EQ(nfl({"submit", "--type", "noop", "--id", "n1"}).exit_code, 0);
  ASSERT_EQ(nfl({"submit", "--type", "noop", "--id", "n2", "--depends-on", "n1"}).exit_code, 0);
  auto w = nfl({"worker", "--burst", "--concurrency", "2", "--queues", "analysis:standard"});
  ASSERT_EQ(w.exit_code, 0) << w.err;
  for (const char* id : {"n1", "n2"}) {
    auto t = Json::parse(nfl({"tasks", "show", id, "--json"}).out);
    EXPECT_EQ(t["status"], "completed") << id;
    EXPECT_EQ(t["machine_id"], "test-box");
  }
  auto status = Json::parse(nfl({"status", "--json"}).out);
  ASSERT_EQ(status["machines"].size(), 1u);
  EXPECT_EQ(status["machines"][0]["machine_id"], "test-box");
  EXPECT_EQ(status["counts"]["completed"], 2);
  auto bad = nfl({"worker", "--burst", "--queues", "gpu:huge"});
  EXPECT_EQ(bad.exit_code, 2);
}

} // namespace

#include "store/store_factory.hpp"
#include "worker/result_log.hpp"

namespace {

TEST_F(CliTest, ShowFindsTheResultInDataDirAfterRetentionTrimmedIt) {
  ASSERT_EQ(nfl({"submit", "--type", "noop", "--id", "kept"}).exit_code, 0);
  Json result = {{"answer", 42}};
  nfl::Millis finished = 0;
  {
    auto store = nfl::make_sqlite_store(db(), nfl::StoreOptions{});
    auto lease = store->claim({{"analysis:standard"}, "elsewhere", 30'000});
    ASSERT_TRUE(lease.has_value());
    ASSERT_EQ(store->complete("kept", lease->token, result, {}), nfl::LeaseResult::ok);
    finished = store->get("kept")->finished_at_ms;
    nfl::ResultLog log(dir / "data", "elsewhere");
    log.append({{"task_id", "kept"}, {"task_type", "noop"}, {"finished_at_ms", finished}, {"result", result}});
    ASSERT_EQ(store->trim_finished(finished + 1), 1u);
    ASSERT_TRUE(store->get("kept")->result.is_null());
  }
  auto r = nfl({"tasks", "show", "kept", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto t = Json::parse(r.out);
  EXPECT_EQ(t["trimmed"], true);
  EXPECT_EQ(t["result_source"], "data_dir");
  EXPECT_EQ(t["result"], result);
  EXPECT_EQ(t["result_record"]["task_id"], "kept");
  auto text = nfl({"tasks", "show", "kept"});
  EXPECT_NE(text.out.find("from DATA_DIR/results"), std::string::npos) << text.out;
}

} // namespace
