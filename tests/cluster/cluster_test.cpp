// The Redis store on a real local Redis Cluster (3 masters + 3 replicas): slot
// hashing against the server's own, the store's semantics through the cluster client
// from a node that does not own the slot, resharding (ASK, then MOVED), the refusal of
// a prefix without a hash tag, the slot map's replica recheck (no cluster needed),
// and a master killed during a two-worker drain.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "cluster/cluster_fixture.hpp"
#include "store/redis/redis_cluster.hpp"
#include "worker/result_log.hpp"
#include "worker/worker_test_support.hpp"

namespace nfl::test {
namespace {

using redis_detail::key_slot;

const std::string k_prefix = "{nfl}:";

RedisOptions cluster_options(const LocalCluster& cluster, int seed, const std::string& prefix = k_prefix) {
  RedisOptions r;
  r.host = "127.0.0.1";
  r.port = cluster.port(seed);
  r.key_prefix = prefix;
  r.connect_timeout_ms = 500;
  r.command_timeout_ms = 2000;
  return r;
}

Task unit_task(const std::string& id, std::vector<std::string> depends_on = {}) {
  Task t;
  t.id = id;
  t.task_type = "unit_test";
  t.queue = "analysis:standard";
  t.config = Json{{"task", id}};
  t.depends_on = std::move(depends_on);
  normalise(t, 1'700'000'000'000);
  return t;
}

int another_master(const LocalCluster& cluster, int not_this) {
  for (const auto& n : cluster.nodes(not_this)) {
    if (n.master && n.index != not_this && !n.failed) {
      return n.index;
    }
  }
  return -1;
}

std::string id_of(const LocalCluster& cluster, int index) {
  return cluster.command(index, {"CLUSTER", "MYID"}).at(0);
}

long long keys_in_slot(const LocalCluster& cluster, int index, int slot) {
  return std::stoll(cluster.command(index, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}).at(0));
}

// Result records per task id, over every segment under DATA_DIR/results.
std::map<std::string, int> result_records(const std::filesystem::path& data_dir) {
  std::map<std::string, int> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data_dir / "results")) {
    if (e.path().extension() != ".jsonl") {
      continue;
    }
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      out[Json::parse(line).at("task_id").get<std::string>()]++;
    }
  }
  return out;
}

TEST(RedisClusterStore, KeySlotsAreTheServersSlots) {
  LocalCluster cluster;
  std::vector<std::string> keys = {"123456789", "foo", "{nfl}:", "{nfl}:task:abc", "x{nfl}:y", "{}", "{}nfl",
                                   "a{}b{c}", "{{nfl}}", "{nfl", "nfl}", "gpu:high", ""};
  for (int i = 0; i < 200; ++i) {
    keys.push_back("task:" + std::to_string(i * 7919) + (i % 3 == 0 ? "{tag" + std::to_string(i) + "}" : ""));
  }
  for (const auto& key : keys) {
    auto server = std::stoi(cluster.command(0, {"CLUSTER", "KEYSLOT", key}).at(0));
    EXPECT_EQ(key_slot(key), server) << "key '" << key << "'";
  }
  // Routing: EVALSHA by KEYS[1], keyless commands by nothing, others by the first key.
  EXPECT_EQ(redis_detail::command_slot({"EVALSHA", "abc", "2", "{nfl}:leases", "x"}), key_slot("{nfl}:"));
  EXPECT_EQ(redis_detail::command_slot({"SCRIPT", "LOAD", "return 1"}), std::nullopt);
  EXPECT_EQ(redis_detail::command_slot({"BLPOP", "{nfl}:wake:cpu:parallel", "1"}), key_slot("nfl"));
}

// A slot map read before a master's replica was announced lists it with none; writes
// that want a replica must not trust that for the map's whole 30 s life (they would
// skip WAIT, and a failover could lose acknowledged writes). The age is the real
// monotonic clock's, so this waits the recheck interval out once.
TEST(RedisClusterTopology, AMapListingTooFewReplicasIsReReadForWritesAfterTheRecheckInterval) {
  using redis_detail::Topology;
  Topology without(RedisCluster::on, "topology-test-without-replica");
  Topology with(RedisCluster::on, "topology-test-with-replica");
  without.install({{{0, redis_detail::k_cluster_slots - 1}, Topology::Owner{"127.0.0.1:7001", 0}}}, {"127.0.0.1:7001"});
  with.install({{{0, redis_detail::k_cluster_slots - 1}, Topology::Owner{"127.0.0.1:7002", 1}}}, {"127.0.0.1:7002"});
  const int slot = key_slot(k_prefix);
  ASSERT_TRUE(without.owner(slot, 1)) << "a fresh map is used as it is";
  std::this_thread::sleep_for(std::chrono::milliseconds(redis_detail::k_slot_map_replica_recheck_ms + 100));
  EXPECT_FALSE(without.owner(slot, 1)) << "a write wanting a replica re-reads a map listing none";
  ASSERT_TRUE(without.owner(slot, 0)) << "reads keep the map for its whole life";
  EXPECT_EQ(without.owner(slot, 0)->endpoint, "127.0.0.1:7001");
  ASSERT_TRUE(with.owner(slot, 1)) << "a map listing enough replicas keeps serving writes";
  EXPECT_EQ(with.owner(slot, 1)->replicas, 1);
}

TEST(RedisClusterStore, TheStoreWorksThroughANodeThatDoesNotOwnItsSlot) {
  LocalCluster cluster;
  const int slot = key_slot(k_prefix);
  const int owner = cluster.owner_of(slot);
  const int seed = another_master(cluster, owner);
  ASSERT_GE(owner, 0);
  ASSERT_GE(seed, 0);

  auto clock = std::make_shared<ManualClock>();
  StoreOptions o;
  o.clock = clock;
  auto store = make_redis_store(cluster_options(cluster, seed), o);

  // add / dependencies / claim / complete / fail / cancel, as the conformance suite does.
  auto outcomes = store->add(std::vector<Task>{unit_task("a"), unit_task("b", {"a"}), unit_task("c")});
  EXPECT_EQ(outcomes, (std::vector<AddOutcome>{AddOutcome::added, AddOutcome::added, AddOutcome::added}));
  ClaimRequest req{{"analysis:standard"}, "m1", 30'000};
  auto first = store->claim(req);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->task.id, "a");
  auto second = store->claim(req);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->task.id, "c"); // b waits for a
  EXPECT_FALSE(store->claim(req));
  EXPECT_EQ(store->complete("a", first->token, Json{{"ok", 1}}, Accounting{1.0, 1.0, 0.0}), LeaseResult::ok);
  EXPECT_EQ(store->complete("a", first->token, Json{{"ok", 2}}, Accounting{}), LeaseResult::lease_lost);
  auto third = store->claim(req);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->task.id, "b"); // released by a's completion
  EXPECT_EQ(store->fail("b", third->token, "boom", false), LeaseResult::ok);
  EXPECT_TRUE(store->cancel("c"));
  EXPECT_EQ(store->renew("c", second->token, 30'000, std::nullopt, std::nullopt), LeaseResult::cancelled);
  EXPECT_EQ(store->get("a")->result, (Json{{"ok", 1}}));

  MachineInfo m;
  m.machine_id = "m1";
  m.profile = "cpu_x86";
  store->heartbeat(m);
  auto s = store->status(); // a script plus a pipeline (machines)
  EXPECT_EQ(s.counts["completed"], 1);
  EXPECT_EQ(s.counts["failed"], 1);
  EXPECT_EQ(s.counts["cancelled"], 1);
  EXPECT_EQ(s.rejected_completions, 1);
  ASSERT_EQ(s.machines.size(), 1u);
  EXPECT_EQ(s.machines[0].tasks_done, 1);
  EXPECT_EQ(store->list(TaskFilter{}).size(), 3u);

  // Every key is in the prefix's slot, on its owner; none on the node we connected to.
  EXPECT_GT(keys_in_slot(cluster, owner, slot), 5);
  EXPECT_EQ(std::stoll(cluster.command(seed, {"DBSIZE"}).at(0)), 0);

  // A blocking wait goes to the owner too: an add from another store wakes it.
  auto other = make_redis_store(cluster_options(cluster, seed), o);
  std::atomic<bool> added{false};
  std::thread adder([&] {
    other->add(std::vector<Task>{unit_task("late")});
    added = true;
  });
  auto woken = store->claim_wait(req, std::chrono::seconds(20));
  adder.join();
  ASSERT_TRUE(woken);
  EXPECT_EQ(woken->task.id, "late");
}

TEST(RedisClusterStore, APrefixWithoutAHashTagIsRefusedClearly) {
  LocalCluster cluster;
  auto error_of = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "(nothing thrown)";
  };
  std::string msg = error_of([&] { make_redis_store(cluster_options(cluster, 0, "nfl:"), StoreOptions{}); });
  EXPECT_NE(msg.find("REDIS_KEY_PREFIX"), std::string::npos) << msg;
  EXPECT_NE(msg.find("{nfl}:"), std::string::npos) << msg;
  msg = error_of([&] { make_redis_store(cluster_options(cluster, 0, ""), StoreOptions{}); });
  EXPECT_NE(msg.find("REDIS_KEY_PREFIX"), std::string::npos) << msg;

  auto db = cluster_options(cluster, 0);
  db.db = 3;
  msg = error_of([&] { make_redis_store(db, StoreOptions{}); });
  EXPECT_NE(msg.find("REDIS_DB"), std::string::npos) << msg;

  // Cluster mode switched off against a node that does not own the slot: the MOVED
  // answer is reported as a configuration problem, not as a broken server.
  const int owner = cluster.owner_of(key_slot(k_prefix));
  auto off = cluster_options(cluster, another_master(cluster, owner));
  off.cluster = RedisCluster::off;
  msg = error_of([&] { make_redis_store(off, StoreOptions{})->add(std::vector<Task>{unit_task("x")}); });
  EXPECT_NE(msg.find("REDIS_CLUSTER"), std::string::npos) << msg;
}

TEST(RedisClusterStore, ReshardingTheSlotIsFollowedThroughAskAndMoved) {
  LocalCluster cluster;
  const int slot = key_slot(k_prefix);
  const int from = cluster.owner_of(slot);
  const int to = another_master(cluster, from);
  auto store = make_redis_store(cluster_options(cluster, from), StoreOptions{});
  std::vector<Task> tasks;
  for (int i = 0; i < 20; ++i) {
    tasks.push_back(unit_task("r" + std::to_string(i)));
  }
  store->add(tasks);
  ASSERT_EQ(store->status().counts["pending"], 20); // the client's map now says `from`

  const std::string from_id = id_of(cluster, from);
  const std::string to_id = id_of(cluster, to);
  const std::string to_port = std::to_string(cluster.port(to));
  cluster.command(to, {"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", from_id});
  cluster.command(from, {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", to_id});

  // Mid-migration, one task has moved: `from` answers ASK for it, the client asks `to`.
  cluster.command(from, {"MIGRATE", "127.0.0.1", to_port, "", "0", "5000", "KEYS", k_prefix + "task:r3"});
  EXPECT_EQ(keys_in_slot(cluster, to, slot), 1);
  auto moved = store->get("r3");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->id, "r3");
  ASSERT_TRUE(store->get("r4")); // still on `from`

  // Finish: move every key, then give the slot to `to` on every master.
  for (;;) {
    auto keys = cluster.command(from, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "100"});
    if (keys.empty()) {
      break;
    }
    std::vector<std::string> migrate = {"MIGRATE", "127.0.0.1", to_port, "", "0", "5000", "KEYS"};
    migrate.insert(migrate.end(), keys.begin(), keys.end());
    cluster.command(from, migrate);
  }
  // The target first, then the source, then the other masters (as redis-cli does).
  std::vector<int> masters = {to, from};
  for (const auto& n : cluster.nodes(from)) {
    if (n.master && n.index != to && n.index != from) {
      masters.push_back(n.index);
    }
  }
  for (int index : masters) {
    cluster.command(index, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to_id});
  }
  ASSERT_EQ(cluster.wait_converged(slot, std::chrono::seconds(20)), to);
  EXPECT_EQ(keys_in_slot(cluster, from, slot), 0);

  // The same store, its map still naming `from`: MOVED, then scripts loaded on `to`.
  ClaimRequest req{{"analysis:standard"}, "m1", 30'000};
  auto lease = store->claim(req);
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->task.id, "r0");
  EXPECT_EQ(store->complete("r0", lease->token, Json{{"ok", true}}, Accounting{}), LeaseResult::ok);
  auto s = store->status();
  EXPECT_EQ(s.counts["completed"], 1);
  EXPECT_EQ(s.counts["pending"], 19);
  EXPECT_GT(keys_in_slot(cluster, to, slot), 20);
}

// Two worker processes drain 2,000 tasks; mid-drain the master that owns the prefix's
// slot (also the workers' REDIS_HOST) is SIGKILLed and its replica is promoted by the
// cluster's own failure detection. Every task ends completed with exactly one result
// record. Writes wait for the replica (REDIS_CLUSTER_WAIT_REPLICAS=1, the default), so
// nothing a worker was told is lost with the master.
TEST(RedisClusterStore, AMasterKilledDuringADrainLosesNoTaskAndRunsNoneTwice) {
  constexpr int k_tasks = 2000;
  LocalCluster cluster;
  const int slot = key_slot(k_prefix);
  const int owner = cluster.owner_of(slot);
  const int replica = cluster.replica_of(owner);
  ASSERT_GE(owner, 0);
  ASSERT_GE(replica, 0);

  TempDir root;
  const RedisOptions redis = cluster_options(cluster, owner);
  Worker::StoreFactory factory = [redis] { return make_redis_store(redis, test_store_options()); };
  auto store = factory();
  std::vector<Task> tasks;
  for (int i = 0; i < k_tasks; ++i) {
    tasks.push_back(make_task("sleep", Json{{"seconds", 0.004}, {"i", i}}, i % 2 ? "cpu:sequential" : "cpu:parallel"));
  }
  for (std::size_t i = 0; i < tasks.size(); i += 500) {
    store->add(std::span<const Task>(tasks).subspan(i, 500));
  }

  auto config = test_config(root.path());
  auto a = test_worker_options(config, "worker-a");
  auto b = test_worker_options(config, "worker-b");
  a.queues = b.queues = {"cpu:parallel", "cpu:sequential"};
  a.burst = b.burst = true;
  // A claim whose answer was lost with the master is reclaimed after this.
  a.lease_ms = b.lease_ms = 5'000;
  auto start = std::chrono::steady_clock::now();
  pid_t pa = fork_worker(factory, config, a, 120);
  pid_t pb = fork_worker(factory, config, b, 120);

  // Polled: the drain's progress has no event to wait on from outside the workers.
  std::int64_t at_kill = 0;
  ASSERT_TRUE(eventually(
      [&] {
        at_kill = store->status().counts["completed"];
        return at_kill >= k_tasks / 5;
      },
      std::chrono::seconds(60)));
  cluster.kill(owner);
  auto killed = std::chrono::steady_clock::now();
  // The kill is tied to progress (a fifth done); this only checks that work was left
  // for after it. A poll delayed on a loaded machine while a fast drain runs on may see
  // well past a fifth; hundreds of tasks left is still mid-drain.
  EXPECT_LT(at_kill, k_tasks * 4 / 5) << "the kill came too late to be mid-drain";

  EXPECT_EQ(wait_exit(pa), 0);
  EXPECT_EQ(wait_exit(pb), 0);
  auto now = std::chrono::steady_clock::now();
  EXPECT_EQ(cluster.wait_converged(slot, std::chrono::seconds(20)), replica);

  auto s = store->status();
  std::printf("[ failover ] %d tasks, master killed after %lld completions; drain %.1f s, %.1f s after the kill; "
              "rejected late completions %lld\n",
              k_tasks, static_cast<long long>(at_kill), std::chrono::duration<double>(now - start).count(),
              std::chrono::duration<double>(now - killed).count(), static_cast<long long>(s.rejected_completions));
  EXPECT_EQ(s.counts["completed"], k_tasks);
  EXPECT_EQ(s.counts["pending"], 0);
  EXPECT_EQ(s.counts["running"], 0);
  EXPECT_EQ(s.counts["failed"], 0);

  auto records = result_records(config.data_dir);
  EXPECT_EQ(records.size(), static_cast<std::size_t>(k_tasks));
  int duplicates = 0;
  for (const auto& [id, n] : records) {
    duplicates += n != 1;
  }
  EXPECT_EQ(duplicates, 0);
  for (const auto& t : tasks) {
    auto got = store->get(t.id);
    ASSERT_TRUE(got) << t.id;
    EXPECT_EQ(got->status, TaskStatus::completed) << t.id;
    EXPECT_EQ(records.count(t.id), 1u) << t.id;
  }
  auto sa = read_stats(config, "worker-a");
  auto sb = read_stats(config, "worker-b");
  std::printf("[ failover ] worker-a %s, worker-b %s\n", sa.dump().c_str(), sb.dump().c_str());
  EXPECT_EQ(sa["completed"].get<int>() + sb["completed"].get<int>(), k_tasks);
}

} // namespace
} // namespace nfl::test
