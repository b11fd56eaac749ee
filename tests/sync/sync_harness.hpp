#pragma once
// Machines that share nothing but a folder: each has its own SQLite store, its own
// copy of the shared folder and its own (manual, possibly skewed) clock. SimSyncTool
// plays Google Drive between the copies: it delays files, delivers them out of order,
// sometimes half-written first, sometimes only as a conflict copy, and propagates
// deletions late.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "store/store_factory.hpp"
#include "support/redis_server.hpp"
#include "sync/syncer.hpp"
#include "util/fs.hpp"

namespace nfl::test {

namespace fs = std::filesystem;

// A scratch folder on tmpfs when the machine has one: these tests write and fsync
// thousands of small files (snapshots, SQLite, results), and what they check does not
// depend on the disk. Falls back to the usual temp folder.
class ScratchDir {
public:
  ScratchDir() {
    std::error_code ec;
    fs::path base = fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm")
                                                                                      : fs::temp_directory_path();
    std::string templ = (base / "nfl-sync-XXXXXX").string();
    if (!::mkdtemp(templ.data())) {
      throw std::runtime_error("mkdtemp failed");
    }
    m_path = templ;
  }
  ~ScratchDir() {
    if (std::getenv("NFL_KEEP_SCRATCH")) {
      std::fprintf(stderr, "kept %s\n", m_path.c_str());
      return;
    }
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return m_path; }

private:
  fs::path m_path;
};

inline const std::vector<std::string>& cpu_queues() {
  static const std::vector<std::string> q = {"cpu:parallel", "cpu:sequential", "data:pipeline", "analysis:standard"};
  return q;
}

struct SimMachine {
  std::string id;
  std::shared_ptr<ManualClock> clock;
  fs::path root;
  fs::path data_dir;
  fs::path state_dir;
  std::unique_ptr<TaskStore> store;
  sync::SyncOptions sync_options;

  SimMachine(std::string machine_id, const fs::path& base, Millis clock_start, Millis takeover_ms)
      : id(std::move(machine_id)), clock(std::make_shared<ManualClock>(clock_start)), root(base / id),
        data_dir(root / "data"), state_dir(root / "state") {
    fs::create_directories(data_dir);
    fs::create_directories(state_dir);
    store = make_sqlite_store(state_dir / "nfl-compute.db", store_options());
    sync_options.machine_id = id;
    sync_options.queues = cpu_queues();
    sync_options.data_dir = data_dir;
    sync_options.state_dir = state_dir;
    sync_options.takeover_ms = takeover_ms;
    sync_options.clock = clock;
    sync_options.import_batch = 7; // small batches exercise the batch boundaries
  }

  StoreOptions store_options() const {
    StoreOptions o;
    o.clock = clock;
    o.enable_caching = false;
    o.retry_base_ms = 1000;
    o.retry_max_ms = 2000;
    o.machine_ttl_ms = 60'000;
    return o;
  }

  sync::SyncRoundReport sync() { return sync::Syncer(*store, sync_options).run_once(); }

  std::string export_state() { return sync::export_canonical(*store); }
};

class SimSyncTool {
public:
  struct Faults {
    double half_written = 0.0;   // delivered cut in half first, whole a tick later
    double conflict_copy = 0.0;  // a snapshot arrives only under a conflict-copy name
    int max_delay_ticks = 0;
  };

  SimSyncTool(std::vector<fs::path> roots, std::uint64_t seed) : m_roots(std::move(roots)), m_rng(seed) {}

  void set_faults(Faults f) { m_faults = f; }

  // One tick: notice what each copy's machine wrote or deleted, deliver what is due.
  void step() {
    ++m_tick;
    for (std::size_t i = 0; i < m_roots.size(); ++i) {
      auto now = scan(i);
      auto& seen = m_seen[i];
      for (const auto& [rel, content] : now) {
        auto it = seen.find(rel);
        if (it == seen.end() || it->second != content) {
          seen[rel] = content;
          schedule(i, rel, content, false);
        }
      }
      for (auto it = seen.begin(); it != seen.end();) {
        if (!now.contains(it->first)) {
          schedule(i, it->first, {}, true);
          it = seen.erase(it);
        } else {
          ++it;
        }
      }
    }
    std::vector<Transfer> due;
    for (auto it = m_pending.begin(); it != m_pending.end();) {
      if (it->due <= m_tick) {
        due.push_back(std::move(*it));
        it = m_pending.erase(it);
      } else {
        ++it;
      }
    }
    std::shuffle(due.begin(), due.end(), m_rng); // reordered
    for (auto& t : due) {
      deliver(t);
    }
  }

  // Delivers everything, with no more faults, until the copies stop changing.
  void settle() {
    Faults saved = m_faults;
    m_faults = Faults{};
    for (int i = 0; i < 6; ++i) {
      step();
    }
    m_faults = saved;
  }

  std::size_t half_written_deliveries() const { return m_half; }
  std::size_t conflict_copies() const { return m_conflicts; }

private:
  struct Transfer {
    std::size_t to;
    std::string rel;
    std::string content;
    bool remove = false;
    long due = 0;
  };

  std::map<std::string, std::string> scan(std::size_t i) const {
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(m_roots[i], ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file() || it->path().filename().string().front() == '.') {
        continue; // temp files are invisible to sync tools
      }
      out[fs::relative(it->path(), m_roots[i]).string()] = read_file(it->path());
    }
    return out;
  }

  void schedule(std::size_t from, const std::string& rel, const std::string& content, bool remove) {
    std::uniform_int_distribution<int> delay(0, m_faults.max_delay_ticks);
    for (std::size_t to = 0; to < m_roots.size(); ++to) {
      if (to != from) {
        m_pending.push_back({to, rel, content, remove, m_tick + delay(m_rng)});
      }
    }
  }

  void put(std::size_t to, const std::string& rel, const std::string& content) {
    auto path = m_roots[to] / rel;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content; // sync tools write in place, not atomically
    m_seen[to][rel] = content;
  }

  void deliver(Transfer& t) {
    auto path = m_roots[t.to] / t.rel;
    if (t.remove) {
      std::error_code ec;
      fs::remove(path, ec);
      m_seen[t.to].erase(t.rel);
      return;
    }
    std::uniform_real_distribution<double> u(0.0, 1.0);
    bool snapshot = t.rel.ends_with(".snap");
    if (snapshot && u(m_rng) < m_faults.conflict_copy) {
      std::string rel = t.rel.substr(0, t.rel.size() - 5) + " (1).snap";
      put(t.to, rel, t.content);
      ++m_conflicts;
      return;
    }
    if (t.content.size() > 1 && u(m_rng) < m_faults.half_written) {
      put(t.to, t.rel, t.content.substr(0, t.content.size() / 2));
      ++m_half;
      m_pending.push_back({t.to, t.rel, t.content, false, m_tick + 1});
      return;
    }
    put(t.to, t.rel, t.content);
  }

  std::vector<fs::path> m_roots;
  std::mt19937_64 m_rng;
  Faults m_faults;
  long m_tick = 0;
  std::map<std::size_t, std::map<std::string, std::string>> m_seen;
  std::vector<Transfer> m_pending;
  std::size_t m_half = 0;
  std::size_t m_conflicts = 0;
};

// The lines of two canonical exports that differ, for a readable failure.
inline std::string export_diff(const std::string& a, const std::string& b) {
  std::istringstream ia(a);
  std::istringstream ib(b);
  std::string la;
  std::string lb;
  std::string out;
  int shown = 0;
  while (shown < 3) {
    bool ga = static_cast<bool>(std::getline(ia, la));
    bool gb = static_cast<bool>(std::getline(ib, lb));
    if (!ga && !gb) {
      break;
    }
    if (!ga || !gb || la != lb) {
      out += "\n  - " + (ga ? la : std::string("(none)")) + "\n  + " + (gb ? lb : std::string("(none)"));
      ++shown;
    }
  }
  return out;
}

inline TaskFilter status_filter(std::optional<TaskStatus> status) {
  TaskFilter f;
  f.status = status;
  return f;
}

inline Task noop_task(const std::string& id, std::vector<std::string> deps = {}) {
  Task t;
  t.id = id;
  t.name = id;
  t.task_type = "noop";
  t.queue = "cpu:parallel";
  t.depends_on = std::move(deps);
  normalise(t, 1'764'300'000'000);
  return t;
}

} // namespace nfl::test
