// Redis-only behaviour: the seed's key names, the key prefix, the script cache
// (NOSCRIPT), AUTH, connection loss and reconnection, out-of-memory refusals, and
// the "no KEYS command" rule. Each test that inspects keys or kills the server runs
// its own redis-server; the shared semantics are in conformance_test.cpp.
#include <gtest/gtest.h>

#include <hiredis/hiredis.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/redis/lua_sources.hpp"
#include "store/store_factory.hpp"
#include "support/redis_server.hpp"
#include "util/error.hpp"

using namespace nfl;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

Task make_task(const std::string& id, const std::string& queue = "analysis:standard",
               std::vector<std::string> depends_on = {}) {
  Task t;
  t.id = id;
  t.task_type = "unit_test";
  t.queue = queue;
  t.depends_on = std::move(depends_on);
  normalise(t, 1'700'000'000'000);
  return t;
}

RedisOptions options_for(const test::RedisServer& server, const std::string& prefix = "") {
  RedisOptions r;
  r.host = "127.0.0.1";
  r.port = server.port();
  r.key_prefix = prefix;
  return r;
}

StoreOptions store_options(std::shared_ptr<ManualClock> clock) {
  StoreOptions o;
  o.clock = std::move(clock);
  return o;
}

template <class F> std::string error_of(F&& f) {
  try {
    f();
  } catch (const StoreUnavailable& e) {
    return e.what();
  }
  return "(no StoreUnavailable thrown)";
}

TEST(RedisStore, SeedKeyNamesWorkForTheSeedsTroubleshootingCommands) {
  test::RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  auto store = make_redis_store(options_for(server), store_options(clock));

  // What `nfl-compute submit --requires-gpu --min-gpu-memory 12GB` stores: routed to gpu:high.
  Task big;
  big.task_type = "model_training";
  big.requires_gpu = true;
  big.min_gpu_memory = 12;
  big.priority = Priority::high;
  normalise(big, clock->now_ms());
  Task later = big;
  later.id.clear();
  normalise(later, clock->now_ms());
  ASSERT_EQ(big.queue, "gpu:high");
  store->add(std::vector<Task>{big});
  store->add(std::vector<Task>{later});

  auto zrange = lines(server.cli("ZRANGE gpu:high 0 -1 WITHSCORES"));
  ASSERT_EQ(zrange.size(), 4u) << server.cli("ZRANGE gpu:high 0 -1 WITHSCORES");
  EXPECT_EQ(zrange[0], big.id);
  EXPECT_EQ(zrange[2], later.id);
  double first = std::stod(zrange[1]);
  double second = std::stod(zrange[3]);
  // Score = priority * 1e12 + sequence: the priority band, then FIFO inside it.
  EXPECT_EQ(static_cast<int>(first / 1e12), static_cast<int>(Priority::high));
  EXPECT_EQ(static_cast<int>(second / 1e12), static_cast<int>(Priority::high));
  EXPECT_LT(first, second);

  EXPECT_EQ(lines(server.cli("TYPE task:" + big.id)), std::vector<std::string>{"hash"});
  EXPECT_EQ(lines(server.cli("SMEMBERS tasks_by_status:pending")).size(), 2u);

  auto lease = store->claim(ClaimRequest{{"gpu:high"}, "rig-01", 30'000});
  ASSERT_TRUE(lease);
  EXPECT_EQ(store->fail(lease->task.id, lease->token, "CUDA out of memory", false), LeaseResult::ok);
  EXPECT_EQ(lines(server.cli("SMEMBERS tasks_by_status:failed")), std::vector<std::string>{big.id});
  EXPECT_EQ(lines(server.cli("ZRANGE gpu:high 0 -1")), std::vector<std::string>{later.id});

  MachineInfo m;
  m.machine_id = "rig-01";
  m.profile = "gpu_high";
  store->heartbeat(m);
  EXPECT_EQ(lines(server.cli("HGET machines:rig-01 profile")), std::vector<std::string>{"gpu_high"});
  EXPECT_EQ(store->describe(), "redis://127.0.0.1:" + std::to_string(server.port()) + "/");
}

TEST(RedisStore, KeyPrefixIsAppliedToEveryKey) {
  test::RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  const std::string prefix = "{nfl}:";
  auto store = make_redis_store(options_for(server, prefix), store_options(clock));

  // Touch every script and key family.
  store->add(std::vector<Task>{make_task("a"), make_task("b", "analysis:standard", {"a"}),
                               make_task("c", "gpu:high"), make_task("d", "cpu:parallel")});
  auto la = store->claim(ClaimRequest{{"analysis:standard"}, "m1", 30'000});
  ASSERT_TRUE(la);
  EXPECT_EQ(store->renew("a", la->token, 30'000, 50.0, std::string("half")), LeaseResult::ok);
  EXPECT_EQ(store->complete("a", la->token, Json{{"ok", true}}, Accounting{1, 1, 0}), LeaseResult::ok);
  auto lb = store->claim(ClaimRequest{{"analysis:standard"}, "m1", 30'000});
  ASSERT_TRUE(lb);
  EXPECT_EQ(store->fail("b", lb->token, "retry me"), LeaseResult::ok);
  auto lc = store->claim(ClaimRequest{{"gpu:high"}, "m1", 30'000});
  ASSERT_TRUE(lc);
  EXPECT_EQ(store->release("c", lc->token, 1'000, "waiting"), LeaseResult::ok);
  EXPECT_TRUE(store->cancel("d"));
  EXPECT_TRUE(store->requeue("d"));
  store->add(std::vector<Task>{make_task("dup_of_a")}); // may come from the cache
  MachineInfo m;
  m.machine_id = "m1";
  store->heartbeat(m);
  EXPECT_FALSE(store->claim_wait(ClaimRequest{{"data:pipeline"}, "m1", 30'000}, 20ms));
  clock->advance_ms(60'000);
  store->reclaim_expired();
  store->status();
  store->list({});
  store->machines();
  store->trim_finished(clock->now_ms());

  auto keys = lines(server.cli("--scan"));
  EXPECT_GT(keys.size(), 15u);
  for (const auto& key : keys) {
    EXPECT_EQ(key.rfind(prefix, 0), 0u) << "unprefixed key: " << key;
  }
  EXPECT_EQ(lines(server.cli("TYPE {nfl}:gpu:high")), std::vector<std::string>{"zset"});
  EXPECT_EQ(lines(server.cli("TYPE {nfl}:task:a")), std::vector<std::string>{"hash"});
  // The wake lists stay tiny however many tasks were added.
  store->add([] {
    std::vector<Task> many;
    for (int i = 0; i < 300; ++i) {
      many.push_back(make_task("w" + std::to_string(i)));
    }
    return many;
  }());
  EXPECT_LE(std::stoi(lines(server.cli("LLEN {nfl}:wake:analysis:standard")).at(0)), 64);
}

TEST(RedisStore, RecoversFromAFlushedScriptCache) {
  test::RedisServer server;
  auto store = make_redis_store(options_for(server), store_options(std::make_shared<ManualClock>()));
  store->add(std::vector<Task>{make_task("before")});
  EXPECT_EQ(lines(server.cli("SCRIPT FLUSH")), std::vector<std::string>{"OK"});
  // Every script now answers NOSCRIPT once: the store reloads and retries.
  store->add(std::vector<Task>{make_task("after")});
  auto lease = store->claim(ClaimRequest{{"analysis:standard"}, "m1", 30'000});
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->task.id, "before");
  EXPECT_EQ(store->complete("before", lease->token, Json::object(), {}), LeaseResult::ok);
  EXPECT_EQ(store->status().counts["completed"], 1);
}

TEST(RedisStore, SendsThePasswordWithAuthAndExplainsAWrongOne) {
  // The password is set after start: the fixture's readiness probe does not authenticate.
  test::RedisServer server;
  ASSERT_EQ(lines(server.cli("CONFIG SET requirepass s3cret-pass")), std::vector<std::string>{"OK"});
  RedisOptions good = options_for(server);
  good.password = "s3cret-pass";
  auto store = make_redis_store(good, store_options(std::make_shared<ManualClock>()));
  store->add(std::vector<Task>{make_task("secure")});
  EXPECT_TRUE(store->get("secure"));

  RedisOptions wrong = good;
  wrong.password = "guess";
  std::string msg = error_of([&] { make_redis_store(wrong, StoreOptions{}); });
  EXPECT_NE(msg.find("REDIS_PASSWORD"), std::string::npos) << msg;
  EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(server.port())), std::string::npos) << msg;

  RedisOptions none = good;
  none.password.clear();
  msg = error_of([&] { make_redis_store(none, StoreOptions{}); });
  EXPECT_NE(msg.find("REDIS_PASSWORD"), std::string::npos) << msg;
}

TEST(RedisStore, ConnectionLossGivesAClearErrorAndTheSameStoreReconnects) {
  test::RedisServer server;
  auto store = make_redis_store(options_for(server), store_options(std::make_shared<ManualClock>()));
  store->add(std::vector<Task>{make_task("first")});
  const std::string endpoint = "127.0.0.1:" + std::to_string(server.port());

  server.kill9();
  std::string msg = error_of([&] { store->ping(); });
  EXPECT_NE(msg.find("redis at " + endpoint + " unreachable"), std::string::npos) << msg;
  msg = error_of([&] { store->claim(ClaimRequest{{"analysis:standard"}, "m1", 30'000}); });
  EXPECT_NE(msg.find("unreachable"), std::string::npos) << msg;
  // That connection attempt failed: the next one waits out the backoff instead of
  // hammering a server that is down.
  msg = error_of([&] { store->ping(); });
  EXPECT_NE(msg.find("next reconnect attempt in"), std::string::npos) << msg;

  server.start(); // same port, empty data, empty script cache
  // The backoff after one failed attempt is 100 ms; wait it out (a timer, not an event).
  std::this_thread::sleep_for(150ms);
  store->ping();
  store->add(std::vector<Task>{make_task("second")});
  auto lease = store->claim(ClaimRequest{{"analysis:standard"}, "m1", 30'000});
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->task.id, "second");
}

TEST(RedisStore, OutOfMemoryRefusesTheWholeBatchWithAClearMessage) {
  test::RedisServer server({"--maxmemory", "2mb", "--maxmemory-policy", "noeviction"});
  auto store = make_redis_store(options_for(server), store_options(std::make_shared<ManualClock>()));
  Json config = {{"payload", std::string(20'000, 'x')}};
  int added = 0;
  std::string msg;
  std::vector<Task> refused;
  for (int batch = 0; batch < 500 && msg.empty(); ++batch) {
    std::vector<Task> tasks;
    for (int i = 0; i < 10; ++i) {
      Task t = make_task("oom_" + std::to_string(batch) + "_" + std::to_string(i));
      t.config = config;
      tasks.push_back(t);
    }
    try {
      store->add(tasks);
      added += 10;
    } catch (const StoreUnavailable& e) {
      msg = e.what();
      refused = tasks;
    }
  }
  ASSERT_FALSE(msg.empty()) << "Redis never ran out of memory";
  EXPECT_NE(msg.find("out of memory"), std::string::npos) << msg;
  EXPECT_GT(added, 0);
  // Nothing of the refused batch was written; what was accepted is intact and readable.
  for (const auto& t : refused) {
    EXPECT_FALSE(store->get(t.id)) << t.id;
  }
  EXPECT_EQ(lines(server.cli("EXISTS task:" + refused.front().id)), std::vector<std::string>{"0"});
  auto s = store->status();
  EXPECT_EQ(s.counts["pending"], added);
  EXPECT_EQ(s.queues["analysis:standard"].pending, added);
}

TEST(RedisStore, EmbeddedScriptsMatchTheSourceTree) {
  // The binary carries the scripts; this catches a stale generated file.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(NFL_LUA_DIR)) {
    if (entry.path().extension() != ".lua") {
      continue;
    }
    ++files;
    auto name = std::filesystem::relative(entry.path(), NFL_LUA_DIR).string();
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bool found = false;
    for (const auto& source : redis_detail::lua_sources()) {
      if (source.name == name) {
        found = true;
        EXPECT_EQ(source.text, text) << name;
      }
    }
    EXPECT_TRUE(found) << name << " is not embedded";
  }
  EXPECT_EQ(files, redis_detail::lua_sources().size());
}

TEST(RedisStore, NoSourceFileUsesTheKeysCommand) {
  // KEYS blocks Redis for a full keyspace walk; registries are sets and scans instead.
  const std::regex lua_call(R"(redis\s*\.\s*p?call\s*\(\s*['"]keys['"])", std::regex::icase);
  const std::regex cpp_command(R"("KEYS["\s])");
  ASSERT_TRUE(std::regex_search("redis.call('KEYS', '*')", lua_call));
  ASSERT_TRUE(std::regex_search(R"(redisCommand(c, "KEYS *"))", cpp_command));
  ASSERT_TRUE(std::regex_search(R"({"KEYS", pattern})", cpp_command));
  ASSERT_FALSE(std::regex_search("local k = KEYS[1]", lua_call));

  std::size_t scanned = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(std::string(NFL_SOURCE_DIR) + "/src")) {
    auto ext = entry.path().extension().string();
    if (ext != ".lua" && ext != ".cpp" && ext != ".hpp" && ext != ".h") {
      continue;
    }
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++scanned;
    EXPECT_FALSE(std::regex_search(text, lua_call)) << entry.path();
    EXPECT_FALSE(std::regex_search(text, cpp_command)) << entry.path();
  }
  EXPECT_GT(scanned, 10u);
}


// ---------------------------------------------------------------- folder sync (import, reroute, persist)

// The index entries of one task, read straight from Redis.
struct Membership {
  std::string status_field;
  std::vector<std::string> status_sets; // statuses whose set holds the id
  std::vector<std::string> indexes;     // queue names, "delayed", "leases" holding the id
};

std::map<std::string, Membership> memberships(const test::RedisServer& server) {
  redisContext* c = redisConnect("127.0.0.1", server.port());
  EXPECT_TRUE(c && !c->err);
  auto cmd = [&](const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    return static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
  };
  std::map<std::string, Membership> out;
  redisReply* ids = cmd({"ZRANGE", "tasks", "0", "-1"});
  for (std::size_t i = 0; i < ids->elements; ++i) {
    std::string id(ids->element[i]->str, ids->element[i]->len);
    Membership m;
    redisReply* st = cmd({"HGET", "task:" + id, "status"});
    m.status_field = st->type == REDIS_REPLY_STRING ? st->str : "";
    freeReplyObject(st);
    for (auto s : k_statuses) {
      redisReply* r = cmd({"SISMEMBER", "tasks_by_status:" + std::string(to_string(s)), id});
      if (r->integer == 1) {
        m.status_sets.emplace_back(to_string(s));
      }
      freeReplyObject(r);
    }
    std::vector<std::string> zsets(k_queues.begin(), k_queues.end());
    zsets.push_back("delayed");
    zsets.push_back("leases");
    for (const auto& z : zsets) {
      redisReply* r = cmd({"ZSCORE", z, id});
      if (r->type != REDIS_REPLY_NIL) {
        m.indexes.push_back(z);
      }
      freeReplyObject(r);
    }
    out.emplace(id, std::move(m));
  }
  freeReplyObject(ids);
  redisFree(c);
  return out;
}

std::vector<std::string> v(std::initializer_list<std::string> items) { return items; }

TEST(RedisStore, ImportLeavesEachTaskInExactlyOneStatusSetAndAtMostOneIndex) {
  test::RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  auto store = make_redis_store(options_for(server), store_options(clock));
  Millis now = clock->now_ms();

  // Local states that imports will overwrite: queued, running, delayed.
  store->add(std::vector<Task>{make_task("was_queued"), make_task("was_running", "gpu:high"),
                               make_task("was_delayed", "cpu:parallel")});
  auto running = store->claim(ClaimRequest{{"gpu:high"}, "here", 30'000});
  ASSERT_TRUE(running);
  auto delayed = store->claim(ClaimRequest{{"cpu:parallel"}, "here", 30'000});
  ASSERT_TRUE(delayed);
  ASSERT_EQ(store->fail("was_delayed", delayed->token, "flaky"), LeaseResult::ok);

  auto with = [](Task t, TaskStatus s) {
    t.status = s;
    return t;
  };
  std::vector<TaskImport> items;
  // was_queued now runs elsewhere; was_running finished elsewhere; was_delayed failed for good.
  Task r = with(make_task("was_queued"), TaskStatus::running);
  r.attempts = 1;
  r.lease_expires_ms = now + 7'000;
  items.push_back({r, TaskStatus::pending, 0});
  Task c = with(make_task("was_running", "gpu:high"), TaskStatus::completed);
  c.attempts = 1;
  c.result = Json{{"ok", 1}};
  c.finished_at_ms = now;
  items.push_back({c, TaskStatus::running, 1});
  Task f = with(make_task("was_delayed", "cpu:parallel"), TaskStatus::failed);
  f.attempts = 3;
  f.finished_at_ms = now;
  items.push_back({f, TaskStatus::pending, 1});
  // New ids in each state.
  items.push_back({make_task("new_ready", "data:pipeline"), std::nullopt, 0});
  Task later = make_task("new_later", "data:pipeline");
  later.not_before_ms = now + 5'000;
  items.push_back({later, std::nullopt, 0});
  items.push_back({make_task("new_waits", "analysis:standard", {"not_here_yet"}), std::nullopt, 0});
  items.push_back({make_task("new_on_failed", "analysis:standard", {"new_waits"}), std::nullopt, 0});
  items.push_back({with(make_task("new_cancelled"), TaskStatus::cancelled), std::nullopt, 0});
  Task blocked = with(make_task("new_blocked"), TaskStatus::blocked);
  blocked.blocked_reason = "dependency x failed";
  items.push_back({blocked, std::nullopt, 0});
  EXPECT_EQ(store->import_tasks(items), items.size());

  const std::map<std::string, std::pair<std::string, std::vector<std::string>>> expected = {
      {"was_queued", {"running", v({"leases"})}},
      {"was_running", {"completed", {}}},
      {"was_delayed", {"failed", {}}},
      {"new_ready", {"pending", v({"data:pipeline"})}},
      {"new_later", {"pending", v({"delayed"})}},
      {"new_waits", {"pending", {}}},
      {"new_on_failed", {"pending", {}}},
      {"new_cancelled", {"cancelled", {}}},
      {"new_blocked", {"blocked", {}}},
  };
  auto check = [&](const std::map<std::string, std::pair<std::string, std::vector<std::string>>>& want) {
    auto got = memberships(server);
    EXPECT_EQ(got.size(), want.size());
    for (const auto& [id, w] : want) {
      const Membership& m = got[id];
      EXPECT_EQ(m.status_field, w.first) << id;
      EXPECT_EQ(m.status_sets, v({w.first})) << id;
      EXPECT_EQ(m.indexes, w.second) << id;
    }
  };
  check(expected);
  // The running import's lease expires when the merge said, under a token nobody holds.
  EXPECT_EQ(lines(server.cli("ZSCORE leases was_queued")), v({std::to_string(now + 7'000)}));
  auto token = lines(server.cli("HGET task:was_queued token"));
  ASSERT_EQ(token.size(), 1u);
  EXPECT_EQ(token[0].size(), 32u);
  EXPECT_NE(token[0], running->token);
  EXPECT_EQ(store->renew("was_running", running->token, 30'000), LeaseResult::lease_lost);

  // The missing dependency arrives failed: its waiter, and the waiter's waiter, block.
  Task gone = with(make_task("not_here_yet"), TaskStatus::failed);
  gone.finished_at_ms = now;
  EXPECT_EQ(store->import_tasks(std::vector<TaskImport>{{gone, std::nullopt, 0}}), 1u);
  auto after = expected;
  after["not_here_yet"] = {"failed", {}};
  after["new_waits"] = {"blocked", {}};
  after["new_on_failed"] = {"blocked", {}};
  check(after);
  EXPECT_EQ(store->get("new_on_failed")->blocked_reason, "dependency not_here_yet failed");

  // Requeued elsewhere and imported back as pending: the chain returns to waiting,
  // the root itself is queued.
  Task back = make_task("not_here_yet");
  EXPECT_EQ(store->import_tasks(std::vector<TaskImport>{{back, TaskStatus::failed, 0}}), 1u);
  after["not_here_yet"] = {"pending", v({"analysis:standard"})};
  after["new_waits"] = {"pending", {}};
  after["new_on_failed"] = {"pending", {}};
  check(after);

  // Time passes: the delayed one is promoted and the imported lease is reclaimed.
  clock->advance_ms(10'000);
  EXPECT_EQ(store->reclaim_expired(), 1u);
  EXPECT_TRUE(store->claim(ClaimRequest{{"gpu:high"}, "here", 30'000}) == std::nullopt);
  auto lease = store->claim(ClaimRequest{{"data:pipeline"}, "here", 30'000});
  ASSERT_TRUE(lease);
  after["new_ready"] = {"running", v({"leases"})};
  after["new_later"] = {"pending", v({"data:pipeline"})};
  after["was_queued"] = {"pending", v({"analysis:standard"})};
  check(after);
}

TEST(RedisStore, RerouteKeepsTheQueueScore) {
  test::RedisServer server;
  auto store = make_redis_store(options_for(server), store_options(std::make_shared<ManualClock>()));
  store->add(std::vector<Task>{make_task("x", "gpu:high")});
  auto before = lines(server.cli("ZSCORE gpu:high x"));
  ASSERT_EQ(before.size(), 1u);
  EXPECT_TRUE(store->reroute("x", "gpu:standard"));
  EXPECT_EQ(lines(server.cli("ZSCORE gpu:standard x")), before);
  EXPECT_EQ(lines(server.cli("ZCARD gpu:high")), v({"0"}));
  EXPECT_EQ(lines(server.cli("HGET task:x queue")), v({"gpu:standard"}));
  EXPECT_EQ(store->get("x")->queue, "gpu:standard");
  // A wake marker for waiters of the new queue.
  EXPECT_NE(lines(server.cli("LLEN wake:gpu:standard")), v({"0"}));
}

TEST(RedisStore, PersistWritesADumpThatARestartedServerLoads) {
  test::RedisServer server; // started with --save "": only an explicit save writes
  auto store = make_redis_store(options_for(server), store_options(std::make_shared<ManualClock>()));
  store->add(std::vector<Task>{make_task("durable")});
  EXPECT_FALSE(std::filesystem::exists(server.dir() / "dump.rdb"));
  store->persist();
  EXPECT_TRUE(std::filesystem::exists(server.dir() / "dump.rdb"));
  server.kill9(); // a crash: nothing is written at exit
  server.start();
  auto reopened = make_redis_store(options_for(server), store_options(std::make_shared<ManualClock>()));
  auto t = reopened->get("durable");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, TaskStatus::pending);
}

TEST(RedisStore, PersistWaitsForASaveAlreadyRunningAndThenSavesItsOwn) {
  test::RedisServer server;
  auto store = make_redis_store(options_for(server), store_options(std::make_shared<ManualClock>()));
  std::vector<Task> tasks;
  for (int i = 0; i < 10; ++i) {
    tasks.push_back(make_task("early_" + std::to_string(i)));
  }
  store->add(tasks);
  // Slow the save down (microseconds per key) so that it is still running below.
  ASSERT_EQ(lines(server.cli("CONFIG SET rdb-key-save-delay 30000")), v({"OK"}));
  ASSERT_EQ(lines(server.cli("BGSAVE")), v({"Background saving started"}));
  store->add(std::vector<Task>{make_task("after_the_first_save_began")});
  store->persist();
  EXPECT_EQ(lines(server.cli("INFO persistence | grep -E '^rdb_saves:' | tr -d '\\r'")), v({"rdb_saves:2"}));
  server.kill9();
  server.start();
  auto reopened = make_redis_store(options_for(server), store_options(std::make_shared<ManualClock>()));
  EXPECT_TRUE(reopened->get("after_the_first_save_began"));
  EXPECT_TRUE(reopened->get("early_9"));
}

TEST(RedisStore, PersistReportsAFailedSaveClearly) {
  test::RedisServer server({"--enable-protected-configs", "yes"});
  auto store = make_redis_store(options_for(server), store_options(std::make_shared<ManualClock>()));
  store->add(std::vector<Task>{make_task("unsaved")});
  // A dump directory that disappears under the server (root ignores read-only modes).
  test::TempDir gone;
  std::filesystem::create_directory(gone / "dumps");
  ASSERT_EQ(lines(server.cli("CONFIG SET dir " + (gone / "dumps").string())), v({"OK"}));
  std::filesystem::remove(gone / "dumps");
  std::string msg = error_of([&] { store->persist(); });
  EXPECT_NE(msg.find("BGSAVE failed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dir"), std::string::npos) << msg;
}

} // namespace
