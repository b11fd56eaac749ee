// Folder sync under damaged deliveries (docs/sync.md): three machines, each with its
// own store (two SQLite, one Redis) and its own copy of the shared folder, real `nfl-compute worker
// --burst` and `nfl-compute sync` processes on each, tasks submitted on one. A copier
// thread plays the sync tool between the copies and damages snapshot deliveries:
// truncated, one bit flipped, delivered only under a conflict-copy name, and, in a
// tight loop meanwhile, deleted (sometimes replaced by a damaged version first) and put
// back while rounds read the folder. After the faults stop and a few clean rounds,
// every machine is audited: every task completed exactly once, with its one result
// record in that machine's copy, nothing lost; the skipped files are reported with
// their reasons (`sync --status --json`).
#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "fault_harness.hpp"
#include "model/task.hpp"
#include "store/store_factory.hpp"

namespace nfl::test::faults {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// In place, as sync tools write (a reader may see it half-written).
void put_in_place(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

// Hidden temp name, then rename: for result records and metadata, whose damage is
// not what this scenario is about.
void put_atomic(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  fs::path tmp = p.parent_path() / ("." + p.filename().string() + ".part");
  std::ofstream(tmp, std::ios::binary | std::ios::trunc) << content;
  std::error_code ec;
  fs::rename(tmp, p, ec);
}

struct SyncMachine {
  std::string id;
  fs::path data_dir;
  fs::path state_dir;
  std::map<std::string, std::string> env;
  int redis_port = 0; // 0: SQLite in state_dir

  // The test's own connection to this machine's store.
  std::unique_ptr<TaskStore> store() const {
    StoreOptions o;
    o.enable_caching = false;
    if (redis_port == 0) {
      return make_sqlite_store(state_dir / "nfl-compute.db", o);
    }
    RedisOptions r;
    r.host = "127.0.0.1";
    r.port = redis_port;
    return make_redis_store(r, o);
  }
};

struct FaultCounts {
  std::atomic<int> delivered{0};
  std::atomic<int> truncated{0};
  std::atomic<int> flipped{0};
  std::atomic<int> conflict_copies{0};
  std::atomic<int> deleted{0};  // deleted and put back while rounds run
  std::atomic<int> replaced{0}; // of those, first replaced by a damaged version
};

// Plays the sync tool: each machine's own files (names that start with its id) go to
// every other copy. While `faults` is on, snapshot deliveries are damaged and the
// delete/replace loop runs between scans.
class FaultyCopier {
public:
  FaultyCopier(std::vector<SyncMachine*> machines, std::uint64_t seed) : m_machines(std::move(machines)), m_rng(seed) {}

  // One scan and delivery of what changed; then, with faults on, about `chaos` of
  // deleting and putting back snapshots in the copies.
  void step(bool faults, std::chrono::milliseconds chaos) {
    std::lock_guard lock(m_mutex);
    for (std::size_t src = 0; src < m_machines.size(); ++src) {
      auto now = owned_files(src);
      auto& seen = m_seen[src];
      for (const auto& [rel, content] : now) {
        auto it = seen.find(rel);
        if (it == seen.end() || it->second != content) {
          seen[rel] = content;
          for (std::size_t dst = 0; dst < m_machines.size(); ++dst) {
            if (dst != src) {
              deliver(dst, rel, content, faults);
            }
          }
        }
      }
      for (auto it = seen.begin(); it != seen.end();) {
        if (!now.contains(it->first)) {
          for (std::size_t dst = 0; dst < m_machines.size(); ++dst) {
            if (dst != src) {
              std::error_code ec;
              fs::remove(m_machines[dst]->data_dir / it->first, ec);
            }
          }
          it = seen.erase(it);
        } else {
          ++it;
        }
      }
    }
    // Damaged deliveries are mended later, as a resumed upload would.
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (auto& [dst, rels] : m_damaged) {
      for (auto r = rels.begin(); r != rels.end();) {
        auto owner = m_seen.find(owner_of(*r));
        bool mend = !faults || u(m_rng) < 0.3;
        if (mend && owner != m_seen.end() && owner->second.contains(*r)) {
          put_in_place(m_machines[dst]->data_dir / *r, owner->second.at(*r));
        }
        r = mend ? rels.erase(r) : std::next(r);
      }
    }
    if (faults) {
      delete_and_put_back(chaos);
    }
  }

  FaultCounts& counts() { return m_counts; }

private:
  std::size_t owner_of(const std::string& rel) const {
    std::string name = fs::path(rel).filename().string();
    for (std::size_t i = 0; i < m_machines.size(); ++i) {
      if (name.rfind(m_machines[i]->id + "_", 0) == 0 || name == m_machines[i]->id + ".json") {
        return i;
      }
    }
    return m_machines.size();
  }

  std::map<std::string, std::string> owned_files(std::size_t src) const {
    std::map<std::string, std::string> out;
    const fs::path& root = m_machines[src]->data_dir;
    for (const char* sub : {"machine_dumps", "sync_metadata", "results"}) {
      std::error_code ec;
      for (fs::recursive_directory_iterator it(root / sub, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (!it->is_regular_file() || name.front() == '.' || owner_of(name) != src) {
          continue;
        }
        out[fs::relative(it->path(), root).string()] = slurp(it->path());
      }
    }
    return out;
  }

  void deliver(std::size_t dst, const std::string& rel, const std::string& content, bool faults) {
    fs::path to = m_machines[dst]->data_dir / rel;
    if (!rel.ends_with(".snap")) {
      put_atomic(to, content);
      return;
    }
    ++m_counts.delivered;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    double roll = faults ? u(m_rng) : 1.0;
    if (roll < 0.15 && content.size() > 1) {
      put_in_place(to, content.substr(0, std::uniform_int_distribution<std::size_t>(0, content.size() - 1)(m_rng)));
      m_damaged[dst].insert(rel);
      ++m_counts.truncated;
    } else if (roll < 0.30 && !content.empty()) {
      put_in_place(to, flip_one_bit(content));
      m_damaged[dst].insert(rel);
      ++m_counts.flipped;
    } else if (roll < 0.45) {
      // Only the conflict copy arrives; the real name comes with the next change.
      std::string stem = rel.substr(0, rel.size() - 5);
      bool drive = std::uniform_int_distribution<int>(0, 1)(m_rng) == 0;
      std::string name = stem + (drive ? " (1).snap" : ".sync-conflict-20261128-120000-NFLTEST.snap");
      put_in_place(m_machines[dst]->data_dir / name, content);
      ++m_counts.conflict_copies;
    } else {
      put_in_place(to, content);
    }
  }

  std::string flip_one_bit(std::string content) {
    auto at = std::uniform_int_distribution<std::size_t>(0, content.size() - 1)(m_rng);
    content[at] = static_cast<char>(content[at] ^ (1 << std::uniform_int_distribution<int>(0, 7)(m_rng)));
    return content;
  }

  // Deletes a delivered snapshot in some copy (sometimes first replacing it with a
  // damaged version), then puts the true one back a few milliseconds later: whichever
  // round reads the folder meanwhile finds it gone or damaged mid-read.
  void delete_and_put_back(std::chrono::milliseconds budget) {
    auto until = std::chrono::steady_clock::now() + budget;
    std::uniform_int_distribution<std::size_t> pick_machine(0, m_machines.size() - 1);
    while (std::chrono::steady_clock::now() < until) {
      std::size_t dst = pick_machine(m_rng);
      std::vector<fs::path> snaps;
      std::error_code ec;
      for (fs::directory_iterator it(m_machines[dst]->data_dir / "machine_dumps", ec), end; !ec && it != end;
           it.increment(ec)) {
        std::string name = it->path().filename().string();
        std::size_t owner = owner_of(name);
        if (name.ends_with(".snap") && name.front() != '.' && owner != dst && owner < m_machines.size()) {
          snaps.push_back(it->path());
        }
      }
      if (snaps.empty()) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
      fs::path victim = snaps[std::uniform_int_distribution<std::size_t>(0, snaps.size() - 1)(m_rng)];
      std::string content = slurp(victim);
      if (content.empty()) {
        continue;
      }
      if (std::uniform_int_distribution<int>(0, 2)(m_rng) == 0) {
        put_in_place(victim, flip_one_bit(content));
        ++m_counts.replaced;
        random_pause(m_rng, 1ms, 15ms);
      }
      fs::remove(victim, ec);
      ++m_counts.deleted;
      random_pause(m_rng, 1ms, 20ms);
      put_in_place(victim, content);
      random_pause(m_rng, 1ms, 10ms);
    }
  }

  std::vector<SyncMachine*> m_machines;
  std::mt19937_64 m_rng;
  std::mutex m_mutex;
  std::map<std::size_t, std::map<std::string, std::string>> m_seen;
  std::map<std::size_t, std::set<std::string>> m_damaged;
  FaultCounts m_counts;
};

int run_cli(const Rig& rig, const SyncMachine& m, const std::vector<std::string>& args, std::string& output) {
  SpawnOptions o;
  o.env = m.env;
  o.cwd = rig.root();
  std::vector<std::string> argv = {nfl_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  int rc = run_to_completion(argv, o, output);
  std::ofstream(rig.log_path(m.id), std::ios::app) << output;
  return rc;
}

Process spawn_sync_worker(const Rig& rig, const SyncMachine& m) {
  SpawnOptions o;
  o.env = m.env;
  o.cwd = rig.root();
  o.log = rig.log_path(m.id);
  return Process({nfl_binary(), "worker", "--burst", "--queues", "cpu:sequential", "--concurrency", "2", "--grace",
                  "10"},
                 o);
}

std::int64_t completed_in(const SyncMachine& m) {
  try {
    return completed_count(*m.store());
  } catch (const std::exception&) {
    return 0;
  }
}

TEST(Faults, SyncSnapshotsTruncatedFlippedConflictedAndDeletedWhileRead) {
  Rig rig("sync_damaged_snapshots", Backend::sqlite);
  RedisServer redis; // gamma's own store: both import paths under the same faults
  std::vector<SyncMachine> machines;
  for (const char* id : {"alpha", "beta", "gamma"}) {
    SyncMachine m;
    m.id = id;
    // alpha is the Rig's own DATA_DIR and STATE_DIR: `submit` goes there.
    m.data_dir = m.id == "alpha" ? rig.data_dir() : rig.root() / m.id / "data";
    m.state_dir = m.id == "alpha" ? rig.state_dir() : rig.root() / m.id / "state";
    fs::create_directories(m.data_dir);
    fs::create_directories(m.state_dir);
    m.env = rig.env(m.id, true);
    m.env["DATA_DIR"] = m.data_dir.string();
    m.env["STATE_DIR"] = m.state_dir.string();
    m.env["SYNC_ENABLED"] = "true";
    m.env["GOOGLE_DRIVE_SYNC_INTERVAL"] = "5";
    m.env["SYNC_TAKEOVER_SECONDS"] = "60"; // longer than the scenario: no takeover, no legitimate duplicate
    if (m.id == "gamma") {
      m.redis_port = redis.port();
      m.env["QUEUE_BACKEND"] = "redis";
      m.env["REDIS_HOST"] = "127.0.0.1";
      m.env["REDIS_PORT"] = std::to_string(redis.port());
    }
    machines.push_back(std::move(m));
  }
  std::vector<SyncMachine*> ptrs;
  for (auto& m : machines) {
    ptrs.push_back(&m);
  }
  FaultyCopier copier(ptrs, rig.seed());

  // Everyone knows everyone before the tasks exist: ownership is then split three
  // ways from the submitting machine's first round on.
  std::string out;
  for (int round = 0; round < 2; ++round) {
    for (auto& m : machines) {
      ASSERT_EQ(run_cli(rig, m, {"sync"}, out), 0) << out;
    }
    copier.step(false, 0ms);
  }
  // A first batch now, more in waves while the faults run.
  constexpr int k_first = 150;
  constexpr int k_wave = 60;
  constexpr int k_waves = 4;
  constexpr int k_tasks = k_first + k_wave * k_waves;
  const TaskMix mix{.noop_share = 0.5, .sleep_max_s = 0.04};
  auto ids = rig.submit("sync", k_first, mix);
  ASSERT_EQ(run_cli(rig, machines[0], {"sync"}, out), 0) << out;

  std::atomic<bool> faults{true};
  std::atomic<bool> stop{false};
  std::thread copy_thread([&] {
    while (!stop) {
      copier.step(faults, faults ? 150ms : 0ms);
      if (!faults) {
        std::this_thread::sleep_for(50ms);
      }
    }
  });
  std::vector<std::thread> machine_threads;
  std::atomic<int> bad_exits{0};
  std::atomic<int> bursts{0};
  for (auto& m : machines) {
    machine_threads.emplace_back([&rig, &m, &stop, &bad_exits, &bursts] {
      while (!stop) {
        std::vector<Process> one;
        one.push_back(spawn_sync_worker(rig, m));
        for (int code : wait_all(one, 60s)) {
          bad_exits += code != 0;
        }
        ++bursts;
        std::string o;
        bad_exits += run_cli(rig, m, {"sync"}, o) != 0;
      }
    });
  }
  auto all_done = [&] {
    return std::all_of(machines.begin(), machines.end(),
                       [&](const SyncMachine& m) { return completed_in(m) >= k_tasks; });
  };
  // Whether some machine has refused a damaged snapshot yet (`sync --status --json`,
  // which only reads the state file a round replaces atomically).
  auto some_refused = [&] {
    for (const auto& m : machines) {
      SpawnOptions o;
      o.env = m.env;
      o.cwd = rig.root();
      std::string text;
      if (run_to_completion({nfl_binary(), "sync", "--status", "--json"}, o, text) != 0 ||
          text.find('{') == std::string::npos) {
        continue;
      }
      try {
        if (!Json::parse(text.substr(text.find('{'))).at("skipped_files").empty()) {
          return true;
        }
      } catch (const std::exception&) {
        // Not a document: ask again at the next poll.
      }
    }
    return false;
  };
  // Faults while the waves arrive and a while after (or until everything is done
  // everywhere), then clean deliveries until every machine has seen every completion.
  for (int wave = 0; wave < k_waves; ++wave) {
    random_pause(rig.rng(), 1500ms, 3000ms);
    auto more = rig.submit(fmt::format("wave{}", wave), k_wave, mix);
    ids.insert(ids.end(), more.begin(), more.end());
  }
  wait_until(all_done, 8s);
  // Damage counts only when a round reads it before it is mended, and a slow machine
  // (a sanitizer build, a loaded CI runner) runs fewer rounds in the same seconds: the
  // faults stay on until some machine has refused a damaged snapshot (checked at the
  // end), not for a fixed time. Usually that has happened already.
  wait_until(some_refused, 60s);
  faults = false;
  // Usually a few seconds; the limit only matters on a loaded machine.
  const bool converged = wait_until(all_done, 60s);
  stop = true;
  for (auto& t : machine_threads) {
    t.join();
  }
  copy_thread.join();
  // A few clean rounds, one machine after another, the copier between them.
  for (int round = 0; round < 2; ++round) {
    for (auto& m : machines) {
      EXPECT_EQ(run_cli(rig, m, {"sync"}, out), 0) << out;
      copier.step(false, 0ms);
    }
  }
  EXPECT_TRUE(converged) << "not every machine saw every completion within 60 s of clean deliveries";
  EXPECT_EQ(bad_exits, 0) << rig.all_logs().substr(0, 3000);

  auto& c = copier.counts();
  std::string faults_text = fmt::format("{} snapshot deliveries: {} truncated, {} bit-flipped, {} conflict-copy only; "
                                        "{} deleted+put back during rounds ({} replaced damaged first); {} bursts",
                                        c.delivered.load(), c.truncated.load(), c.flipped.load(),
                                        c.conflict_copies.load(), c.deleted.load(), c.replaced.load(), bursts.load());
  std::size_t skipped_total = 0;
  for (auto& m : machines) {
    // What the machine refused, by reason (`sync --status --json`).
    ASSERT_EQ(run_cli(rig, m, {"sync", "--status", "--json"}, out), 0) << out;
    std::map<std::string, int> reasons;
    Json status = Json::parse(out.substr(out.find('{')));
    for (const auto& f : status.at("skipped_files")) {
      std::string reason = f.at("reason").get<std::string>();
      reason = reason.substr(0, std::min(reason.find_first_of(":(0123456789"), std::size_t{40}));
      reason.erase(reason.find_last_not_of(' ') + 1);
      reasons[reason]++;
    }
    std::string skipped;
    for (const auto& [r, n] : reasons) {
      skipped += fmt::format("{}{}x {}", skipped.empty() ? "" : ", ", n, r);
    }
    auto store = m.store();
    auto row = audit(rig, ids, *store, m.data_dir);
    row.backend = m.redis_port == 0 ? "sqlite" : "redis";
    if (m.id == "alpha") {
      // Who ran what: ownership split the work three ways.
      std::map<std::string, int> ran;
      TaskFilter f;
      f.status = TaskStatus::completed;
      f.limit = k_tasks + 100;
      for (const auto& t : store->list(f)) {
        ++ran[t.machine_id];
      }
      for (auto& other : machines) {
        faults_text += fmt::format("{}{} ran {}", other.id == "alpha" ? "; " : ", ", other.id, ran[other.id]);
        EXPECT_GT(ran[other.id], 0) << other.id << " ran nothing: the scenario did not exercise sync";
      }
    }
    row.scenario = "sync_damaged_snaps:" + m.id;
    row.note += faults_text + fmt::format("; {} skipped here ({})", status.at("skipped_files").size(),
                                          skipped.empty() ? "none" : skipped);
    report(row);
    expect_clean(row);
    skipped_total += status.at("skipped_files").size();
  }
  EXPECT_GT(skipped_total, 0u) << "no machine refused a damaged snapshot";
  EXPECT_GT(c.truncated + c.flipped + c.conflict_copies, 0);
  EXPECT_GT(c.deleted.load(), 0);
}

} // namespace
} // namespace nfl::test::faults
