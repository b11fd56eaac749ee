#include "sync/syncer.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "sync/ownership.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::sync {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t k_kept_skipped = 200;
// Records held back while their batch of imports is in flight.
constexpr std::size_t k_max_buffered = 20'000;

Json hlc_json(const Hlc& h) { return Json{h.wall_ms, h.counter}; }
Hlc hlc_from(const Json& j) { return Hlc{j.at(0).get<Millis>(), j.at(1).get<std::uint32_t>()}; }

bool is_terminal(TaskStatus s) {
  return s == TaskStatus::completed || s == TaskStatus::failed || s == TaskStatus::cancelled;
}

// A change only a person (or a submitter) makes: it carries its own stamp so a worker's
// concurrent change made without knowing of it cannot undo it.
bool is_user_action(int before, TaskStatus after) {
  if (before < 0) {
    return false;
  }
  auto prev = static_cast<TaskStatus>(before);
  if (after == TaskStatus::cancelled) {
    return prev != TaskStatus::cancelled;
  }
  bool was_stopped = prev == TaskStatus::failed || prev == TaskStatus::cancelled || prev == TaskStatus::blocked;
  return was_stopped && (after == TaskStatus::pending || after == TaskStatus::running || after == TaskStatus::completed);
}

// Holds a file lock for the round so the worker's sync thread and `nfl-compute sync`
// never interleave on one replica.
class RoundLock {
public:
  explicit RoundLock(const fs::path& path) {
    m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (m_fd < 0 || ::flock(m_fd, LOCK_EX) != 0) {
      throw InternalError(fmt::format("sync: cannot lock {}: {}", path.string(), std::strerror(errno)));
    }
  }
  ~RoundLock() {
    if (m_fd >= 0) {
      ::flock(m_fd, LOCK_UN);
      ::close(m_fd);
    }
  }
  RoundLock(const RoundLock&) = delete;
  RoundLock& operator=(const RoundLock&) = delete;

private:
  int m_fd = -1;
};

// A snapshot read record by record, one record of lookahead.
struct PullStream {
  SnapshotReader reader;
  std::string machine_id; // whose snapshot (empty for the replica)
  Record head;
  bool has = false;
  void advance() { has = reader.next(head); }
};

struct PendingTask {
  std::string id;
  std::string queue;
  std::vector<std::string> deps;
  int attempts = 0;
  Millis not_before_ms = 0;
  std::string owner;
};

struct LocalView {
  TaskStatus status;
  int attempts;
  std::string machine_id;
  std::uint64_t digest;
  bool trimmed;
};

} // namespace

Json to_json(const SyncRoundReport& r) {
  Json skipped = Json::array();
  for (const auto& s : r.skipped) {
    skipped.push_back({{"file", s.file}, {"reason", s.reason}, {"size", s.size}});
  }
  return Json{{"local_changes", r.local_changes}, {"snapshots_merged", r.snapshots_merged}, {"imported", r.imported},
              {"import_skipped", r.import_skipped}, {"parked", r.parked},   {"unparked", r.unparked},
              {"conflicts", r.conflicts},         {"duplicates", r.duplicates}, {"skipped", skipped},
              {"snapshot_file", r.snapshot_file}, {"snapshot_bytes", r.snapshot_bytes}, {"records", r.records},
              {"seconds", r.seconds}};
}

Json to_json(const SyncState& s) {
  Json peers = Json::object();
  for (const auto& [id, p] : s.peers) {
    peers[id] = {{"last_file", p.last_file},
                 {"last_created", hlc_json(p.last_created)},
                 {"last_created_unix_ms", p.last_created_unix_ms},
                 {"heartbeat", hlc_json(p.heartbeat)},
                 {"observed_at_ms", p.observed_at_ms},
                 {"conflicts", p.conflicts},
                 {"duplicates", p.duplicates},
                 {"records", p.records}};
  }
  Json skipped = Json::array();
  for (const auto& f : s.skipped) {
    skipped.push_back({{"file", f.file}, {"reason", f.reason}, {"size", f.size}, {"at_ms", f.at_ms}});
  }
  return Json{{"format", 1},
              {"hlc", hlc_json(s.hlc)},
              {"peers", peers},
              {"skipped", skipped},
              {"parked", s.parked},
              {"rounds", s.rounds},
              {"conflicts_total", s.conflicts_total},
              {"duplicates_total", s.duplicates_total},
              {"last_round_ms", s.last_round_ms},
              {"last_round", s.last_round}};
}

SyncState sync_state_from_json(const Json& j) {
  SyncState s;
  s.hlc = hlc_from(j.at("hlc"));
  for (const auto& [id, p] : j.at("peers").items()) {
    PeerState ps;
    ps.machine_id = id;
    ps.last_file = p.at("last_file").get<std::string>();
    ps.last_created = hlc_from(p.at("last_created"));
    ps.last_created_unix_ms = p.at("last_created_unix_ms").get<Millis>();
    ps.heartbeat = hlc_from(p.at("heartbeat"));
    ps.observed_at_ms = p.at("observed_at_ms").get<Millis>();
    ps.conflicts = p.at("conflicts").get<std::int64_t>();
    ps.duplicates = p.at("duplicates").get<std::int64_t>();
    ps.records = p.at("records").get<std::uint64_t>();
    s.peers[id] = ps;
  }
  for (const auto& f : j.at("skipped")) {
    s.skipped.push_back({f.at("file").get<std::string>(), f.at("reason").get<std::string>(),
                         f.at("size").get<std::uint64_t>(), f.at("at_ms").get<Millis>()});
  }
  s.parked = j.at("parked").get<std::map<std::string, Millis>>();
  s.rounds = j.at("rounds").get<std::int64_t>();
  s.conflicts_total = j.at("conflicts_total").get<std::int64_t>();
  s.duplicates_total = j.at("duplicates_total").get<std::int64_t>();
  s.last_round_ms = j.at("last_round_ms").get<Millis>();
  s.last_round = j.at("last_round");
  return s;
}

SyncState Syncer::read_state(const fs::path& state_dir) {
  auto path = state_dir / "sync" / "state.json";
  if (!fs::exists(path)) {
    return {};
  }
  try {
    return sync_state_from_json(Json::parse(read_file(path)));
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: unreadable sync state ({}); move it away to start over", path.string(), e.what()));
  }
}

Syncer::Syncer(TaskStore& store, SyncOptions options) : m_store(store), m_options(std::move(options)) {
  if (m_options.machine_id.empty()) {
    throw InputError("sync: machine id must not be empty");
  }
}

namespace {

// Everything one round needs, so that run_once reads top to bottom.
class Round {
public:
  Round(TaskStore& store, const SyncOptions& options, SyncState& state)
      : m_store(store), m_opt(options), m_state(state), m_hlc(options.clock, state.hlc) {}

  SyncRoundReport run() {
    Millis started = monotonic_ms();
    m_now = m_opt.clock->now_ms();
    open_sources();
    merge_machines();
    join();
    park();
    publish();
    write_metadata();
    m_report.seconds = static_cast<double>(monotonic_ms() - started) / 1000.0;
    m_state.hlc = m_hlc.last();
    m_state.rounds += 1;
    m_state.last_round_ms = m_now;
    m_state.last_round = to_json(m_report);
    return m_report;
  }

private:
  fs::path dumps_dir() const { return m_opt.data_dir / "machine_dumps"; }
  fs::path replica_path() const { return m_opt.state_dir / "sync" / "replica.snap"; }

  void skip_file(const fs::path& path, const std::string& reason) {
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    std::string name = path.filename().string();
    bool known = std::any_of(m_state.skipped.begin(), m_state.skipped.end(),
                             [&](const SkippedFile& f) { return f.file == name && f.size == size && f.reason == reason; });
    if (known) {
      return;
    }
    spdlog::warn("sync: skipping {}: {}", name, reason);
    SkippedFile f{name, reason, ec ? 0 : size, m_now};
    m_report.skipped.push_back(f);
    m_state.skipped.push_back(f);
    if (m_state.skipped.size() > k_kept_skipped) {
      m_state.skipped.erase(m_state.skipped.begin());
    }
  }

  // The replica and, per other machine, its newest valid snapshot if we have not merged it.
  void open_sources() {
    if (fs::exists(replica_path())) {
      try {
        m_replica.emplace(PullStream{SnapshotReader::open(replica_path(), m_opt.limits), {}, {}, false});
        if (!m_replica->reader.header().replica || m_replica->reader.header().machine_id != m_opt.machine_id) {
          throw SnapshotError("belongs to another machine");
        }
        for (const auto& m : m_replica->reader.header().machines) {
          m_machines[m.info.machine_id] = m;
        }
        m_replica->advance();
      } catch (const SnapshotError& e) {
        // The replica is a cache of what the folder and the store hold: rebuilt from both.
        spdlog::warn("sync: replica {} unusable ({}); rebuilding it from the store and the folder", replica_path().string(),
                     e.what());
        m_replica.reset();
        m_state.peers.clear();
      }
    }
    std::map<std::string, std::vector<std::pair<SnapshotName, fs::path>>> by_machine;
    std::error_code ec;
    for (fs::directory_iterator it(dumps_dir(), ec), end; !ec && it != end; it.increment(ec)) {
      auto name = parse_snapshot_name(it->path().filename().string());
      if (!name || name->machine_id == m_opt.machine_id) {
        continue;
      }
      by_machine[name->machine_id].emplace_back(*name, it->path());
    }
    for (auto& [machine, files] : by_machine) {
      std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first.unix_ts > b.first.unix_ts; });
      std::optional<SnapshotReader> best;
      fs::path best_path;
      std::int64_t best_ts = 0;
      for (const auto& [name, path] : files) {
        if (best && name.unix_ts < best_ts) {
          break; // conflict copies share their original's timestamp: read all of the newest
        }
        try {
          auto reader = SnapshotReader::open(path, m_opt.limits);
          if (reader.header().machine_id != machine) {
            throw SnapshotError(fmt::format("written by '{}', named for '{}'", reader.header().machine_id, machine));
          }
          if (reader.header().replica) {
            throw SnapshotError("a private replica file, not a snapshot");
          }
          if (!best || reader.header().created > best->header().created) {
            best.emplace(std::move(reader));
            best_path = path;
            best_ts = name.unix_ts;
          }
        } catch (const SnapshotError& e) {
          skip_file(path, e.what());
        }
      }
      if (!best) {
        continue;
      }
      m_hlc.observe(best->header().created);
      auto& peer = m_state.peers[machine];
      peer.machine_id = machine;
      if (best->header().created <= peer.last_created) {
        continue; // merged already: merging again would change nothing
      }
      peer.last_file = best_path.filename().string();
      peer.last_created = best->header().created;
      peer.last_created_unix_ms = best->header().created_unix_ms;
      peer.records = best->header().record_count;
      for (const auto& m : best->header().machines) {
        m_incoming_machines.push_back(m);
      }
      PullStream s{std::move(*best), machine, {}, false};
      s.advance();
      m_remotes.push_back(std::move(s));
      ++m_report.snapshots_merged;
    }
  }

  // Machine records: per machine the entry with the newest stamp wins (only the machine
  // itself writes its entry; others relay it). A newer stamp is a sign of life.
  void merge_machines() {
    for (const auto& m : m_incoming_machines) {
      auto& have = m_machines[m.info.machine_id];
      if (have.info.machine_id.empty() || m.stamp > have.stamp) {
        have = m;
      }
    }
    for (const auto& [id, m] : m_machines) {
      if (id == m_opt.machine_id) {
        continue;
      }
      auto& peer = m_state.peers[id];
      peer.machine_id = id;
      if (m.stamp > peer.heartbeat) {
        peer.heartbeat = m.stamp;
        peer.observed_at_ms = m_now;
      }
    }
    m_candidates.push_back({m_opt.machine_id, m_opt.queues});
    for (const auto& [id, m] : m_machines) {
      if (id != m_opt.machine_id && is_live(id)) {
        m_candidates.push_back({id, m.info.queues});
      }
    }
  }

  bool is_live(const std::string& machine) const {
    if (machine == m_opt.machine_id) {
      return true;
    }
    auto it = m_state.peers.find(machine);
    return it != m_state.peers.end() && it->second.observed_at_ms > 0 &&
           m_now - it->second.observed_at_ms <= m_opt.takeover_ms;
  }

  // Who should run a pending task: its assigned machine while that serves the queue
  // (alive or not: takeover_at handles the dead), else rendezvous over live machines.
  std::string owner_of(const Record& rec, const std::string& queue) const {
    if (!rec.assigned.empty()) {
      if (rec.assigned == m_opt.machine_id) {
        return rec.assigned;
      }
      auto it = m_machines.find(rec.assigned);
      if (it != m_machines.end() &&
          std::find(it->second.info.queues.begin(), it->second.info.queues.end(), queue) != it->second.info.queues.end()) {
        return rec.assigned;
      }
    }
    return rendezvous_owner(rec.id, queue, m_candidates);
  }

  // When this machine may take a task of `holder` (dead or alive): after the holder has
  // been silent for the takeover limit; a machine that would not inherit the task
  // waits one limit longer so the heir goes first.
  Millis takeover_at(const std::string& holder, const std::string& task_id, const std::string& queue) const {
    Millis seen = m_now;
    if (auto it = m_state.peers.find(holder); it != m_state.peers.end() && it->second.observed_at_ms > 0) {
      seen = it->second.observed_at_ms;
    }
    Millis at = seen + m_opt.takeover_ms;
    if (rendezvous_owner(task_id, queue, m_candidates, holder) != m_opt.machine_id) {
      at += m_opt.takeover_ms;
    }
    return at;
  }

  // The merge-join: replica, remote snapshots and the store's export, all by id.
  void join() {
    m_store.export_tasks([&](std::span<const Task> page) {
      for (const auto& t : page) {
        drain_streams_below(t.id);
        process(t.id, &t);
      }
    });
    drain_streams_below({});
    flush();
  }

  // Processes every record from the pull streams with an id below `bound` (all when empty).
  void drain_streams_below(const std::string& bound) {
    while (true) {
      const std::string* next = nullptr;
      auto consider = [&](const PullStream& s) {
        if (s.has && (bound.empty() || s.head.id < bound) && (!next || s.head.id < *next)) {
          next = &s.head.id;
        }
      };
      if (m_replica) {
        consider(*m_replica);
      }
      for (const auto& s : m_remotes) {
        consider(s);
      }
      if (!next) {
        return;
      }
      std::string id = *next;
      process(id, nullptr);
    }
  }

  void process(const std::string& id, const Task* local) {
    Record rec;
    bool had = false;
    if (m_replica && m_replica->has && m_replica->head.id == id) {
      rec = std::move(m_replica->head);
      had = true;
      m_replica->advance();
    } else {
      rec.id = id;
    }
    std::optional<LocalView> view;
    if (local) {
      std::string state = task_state_json(*local);
      std::uint64_t digest = state_digest(state);
      view = LocalView{local->status, local->attempts, local->machine_id, digest, local->trimmed};
      if (!had || digest != rec.local.applied_digest) {
        note_local_change(rec, had, *local, std::move(state), digest);
        had = true;
      }
    }
    for (auto& s : m_remotes) {
      if (s.has && s.head.id == id) {
        m_hlc.observe(s.head.user_version);
        m_hlc.observe(s.head.version);
        for (const auto& c : s.head.completions) {
          m_hlc.observe(c.at);
        }
        auto outcome = merge_into(rec, s.head);
        auto& peer = m_state.peers[s.machine_id];
        if (outcome.conflict) {
          ++peer.conflicts;
          ++m_report.conflicts;
          ++m_state.conflicts_total;
        }
        peer.duplicates += static_cast<std::int64_t>(outcome.new_duplicates);
        m_report.duplicates += outcome.new_duplicates;
        m_state.duplicates_total += static_cast<std::int64_t>(outcome.new_duplicates);
        s.advance();
      }
    }
    decide(rec, view, local);
  }

  void note_local_change(Record& rec, bool had, const Task& local, std::string state, std::uint64_t digest) {
    Hlc v = m_hlc.tick();
    Record change;
    change.id = rec.id;
    bool submitted = !had;
    change.user_version = (submitted || is_user_action(rec.local.applied_status, local.status)) ? v
                                                                                               : rec.local.applied_user_version;
    change.version = v;
    change.based_on = rec.local.applied_version;
    change.origin = m_opt.machine_id;
    // First publication: this machine assigns the task, from its own view of who lives.
    change.assigned = submitted ? rendezvous_owner(rec.id, local.queue, m_candidates) : rec.assigned;
    change.state = std::move(state);
    change.digest = digest;
    bool completed_here_before = std::any_of(rec.completions.begin(), rec.completions.end(),
                                             [&](const Completion& c) { return c.machine_id == m_opt.machine_id; });
    if (local.status == TaskStatus::completed && !completed_here_before && !local.trimmed) {
      change.completions.push_back({v, m_opt.machine_id, change.state, digest});
    }
    auto local_part = rec.local;
    if (had) {
      merge_into(rec, change);
    } else {
      rec = change;
    }
    rec.local = local_part;
    rec.local.applied_digest = digest;
    rec.local.applied_version = change.version;
    rec.local.applied_user_version = change.user_version;
    rec.local.applied_status = static_cast<int>(local.status);
    ++m_report.local_changes;
    spdlog::debug("sync[{}]: local change {} -> {} attempts {} machine '{}' at {} (user {})", m_opt.machine_id, rec.id,
                  to_string(local.status), local.attempts, local.machine_id, change.version.to_string(),
                  change.user_version.to_string());
  }

  // What the local store should hold for this record, and whether to install it.
  void decide(Record& rec, const std::optional<LocalView>& view, const Task* local) {
    std::uint64_t want_digest = effective_digest(rec);
    bool same = view && view->digest == want_digest;
    std::optional<TaskImport> item;
    if (!same) {
      Task want;
      try {
        want = task_from_json(Json::parse(effective_state(rec)));
      } catch (const std::exception& e) {
        // A record that passed the checksum but not validation (a writer bug or a
        // newer format): kept and relayed as it is, never installed.
        spdlog::warn("sync: task '{}' has an unusable state ({}); not installed", rec.id, e.what());
        hold(std::move(rec));
        return;
      }
      if (view && view->status == TaskStatus::running && view->machine_id == m_opt.machine_id &&
          !is_terminal(want.status)) {
        // Our own worker holds it: never pull the task from under a running attempt.
        spdlog::debug("sync[{}]: {} runs here; merged state {} waits", m_opt.machine_id, rec.id, to_string(want.status));
        hold(std::move(rec));
        return;
      }
      if (view && view->trimmed && want.status == TaskStatus::completed) {
        hold(std::move(rec)); // retention dropped the bulk here; do not bring it back
        return;
      }
      want.not_before_ms = 0;
      want.lease_expires_ms = 0;
      if (want.status == TaskStatus::running && want.machine_id != m_opt.machine_id) {
        want.lease_expires_ms = takeover_at(want.machine_id, want.id, want.queue);
        m_state.parked[want.id] = want.lease_expires_ms;
      } else if (want.status == TaskStatus::running) {
        // Recorded as ours but not running here (this machine restarted): let reclaim run it.
        want.lease_expires_ms = m_now;
      } else if (want.status == TaskStatus::pending && want.depends_on.empty()) {
        std::string owner = owner_of(rec, want.queue);
        if (!owner.empty() && owner != m_opt.machine_id) {
          want.not_before_ms = takeover_at(owner, want.id, want.queue);
          m_state.parked[want.id] = want.not_before_ms;
        } else {
          m_state.parked.erase(want.id);
        }
      } else {
        m_state.parked.erase(want.id);
      }
      spdlog::debug("sync[{}]: install {} as {} attempts {} machine '{}' (local {}) assigned '{}' not_before {} now {}",
                    m_opt.machine_id, want.id, to_string(want.status), want.attempts, want.machine_id,
                    view ? std::string(to_string(view->status)) : std::string("absent"), rec.assigned,
                    want.not_before_ms, m_now);
      item = TaskImport{std::move(want), view ? std::optional<TaskStatus>(view->status) : std::nullopt,
                        view ? view->attempts : 0};
    } else if (view->status == TaskStatus::running && view->machine_id != m_opt.machine_id) {
      // Another machine's attempt: move our takeover time along while it stays alive.
      auto it = m_state.parked.find(rec.id);
      Millis until = it == m_state.parked.end() ? 0 : it->second;
      if (until - m_now < m_opt.takeover_ms / 2 && is_live(view->machine_id)) {
        Task want = *local;
        want.lease_expires_ms = takeover_at(view->machine_id, want.id, want.queue);
        m_state.parked[want.id] = want.lease_expires_ms;
        item = TaskImport{std::move(want), view->status, view->attempts};
      }
    } else if (view->status == TaskStatus::pending) {
      m_pending.push_back({rec.id, local->queue, local->depends_on, local->attempts, local->not_before_ms,
                           owner_of(rec, local->queue)});
    } else {
      m_state.parked.erase(rec.id);
    }
    if (item) {
      m_buffer.push_back({std::move(rec), want_digest, m_imports.size()});
      m_imports.push_back(std::move(*item));
      if (m_imports.size() >= m_opt.import_batch) {
        flush();
      }
    } else {
      hold(std::move(rec));
    }
  }

  void hold(Record rec) {
    if (is_completed(rec)) {
      m_completed.insert(rec.id);
    }
    m_buffer.push_back({std::move(rec), 0, npos});
    if (m_buffer.size() >= k_max_buffered) {
      flush();
    }
  }

  // Installs the batch, then writes the held records in id order.
  void flush() {
    std::vector<bool> installed = install(m_imports);
    for (auto& b : m_buffer) {
      if (b.import_index != npos) {
        if (installed[b.import_index]) {
          const Task& t = m_imports[b.import_index].task;
          b.rec.local.applied_digest = b.want_digest;
          b.rec.local.applied_version = b.rec.version;
          b.rec.local.applied_user_version = b.rec.user_version;
          b.rec.local.applied_status = static_cast<int>(t.status);
          ++m_report.imported;
        } else {
          m_state.parked.erase(b.rec.id);
          ++m_report.import_skipped;
        }
        if (is_completed(b.rec)) {
          m_completed.insert(b.rec.id);
        }
      }
      write(b.rec);
    }
    m_buffer.clear();
    m_imports.clear();
  }

  // Which imports the store took. It returns a count; only when some were refused does
  // it cost a read per item to learn which.
  std::vector<bool> install(const std::vector<TaskImport>& items) {
    std::vector<bool> ok(items.size(), true);
    if (items.empty()) {
      return ok;
    }
    try {
      if (m_store.import_tasks(items) == items.size()) {
        return ok;
      }
    } catch (const InputError& e) {
      // One bad item must not hold the others back: install them one by one.
      for (std::size_t i = 0; i < items.size(); ++i) {
        try {
          ok[i] = m_store.import_tasks(std::span<const TaskImport>(&items[i], 1)) == 1;
        } catch (const InputError& item_error) {
          spdlog::warn("sync: task '{}' not installed: {}", items[i].task.id, item_error.what());
          ok[i] = false;
        }
      }
      return ok;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto now = m_store.get(items[i].task.id);
      ok[i] = now && state_digest(task_state_json(*now)) == state_digest(task_state_json(items[i].task));
    }
    return ok;
  }

  void write(const Record& rec) {
    if (!m_replica_out) {
      open_outputs();
    }
    m_publish_out->add(rec);
    m_replica_out->add(rec);
    ++m_report.records;
  }

  std::vector<MachineEntry> machines_to_publish() {
    MachineEntry self;
    for (const auto& m : m_store.machines()) {
      if (m.machine_id == m_opt.machine_id) {
        self.info = m;
      }
    }
    // The queues this machine serves are the sync options' (its detected profile); the
    // store's row may predate a heartbeat (an odometer update creates it bare).
    self.info.machine_id = m_opt.machine_id;
    self.info.queues = m_opt.queues;
    self.info.last_seen_ms = m_now;
    self.stamp = m_created;
    m_machines[m_opt.machine_id] = self;
    std::vector<MachineEntry> out;
    for (const auto& [id, m] : m_machines) {
      out.push_back(m);
    }
    return out;
  }

  // Pending tasks of ours that another live machine owns wait (parked) until that
  // machine has been silent for the takeover limit; parked ones whose owner died or
  // that are now ours come back. Tasks waiting on dependencies are left alone: parking
  // would make them claimable before their dependencies complete.
  void park() {
    for (const auto& p : m_pending) {
      bool deps_met = std::all_of(p.deps.begin(), p.deps.end(), [&](const std::string& d) { return m_completed.contains(d); });
      if (!deps_met) {
        continue;
      }
      const std::string& owner = p.owner;
      auto it = m_state.parked.find(p.id);
      bool parked = it != m_state.parked.end();
      Millis want = (!owner.empty() && owner != m_opt.machine_id) ? takeover_at(owner, p.id, p.queue) : 0;
      bool change = false;
      if (want == 0 && parked) {
        change = true;
      } else if (want > 0 && (!parked || it->second - m_now < m_opt.takeover_ms / 2)) {
        change = p.not_before_ms <= m_now || parked; // a retry backoff of our own stays as it is
      }
      if (!change) {
        continue;
      }
      auto task = m_store.get(p.id);
      if (!task || task->status != TaskStatus::pending || task->attempts != p.attempts) {
        continue;
      }
      task->not_before_ms = want;
      std::vector<TaskImport> one{TaskImport{*task, TaskStatus::pending, p.attempts}};
      spdlog::debug("sync[{}]: park {} until {} for '{}' (now {})", m_opt.machine_id, p.id, want, owner, m_now);
      if (m_store.import_tasks(one) == 1) {
        if (want == 0) {
          m_state.parked.erase(p.id);
          ++m_report.unparked;
        } else {
          m_state.parked[p.id] = want;
          ++m_report.parked;
        }
      }
    }
  }

  void publish() {
    if (!m_replica_out) {
      open_outputs(); // no task at all: still publish, the stamp is this machine's heartbeat
    }
    m_store.persist();
    fs::create_directories(dumps_dir());
    std::int64_t ts = m_now / 1000;
    for (const auto& entry : fs::directory_iterator(dumps_dir())) {
      auto name = parse_snapshot_name(entry.path().filename().string());
      if (name && name->machine_id == m_opt.machine_id && !name->conflict_copy && name->unix_ts >= ts) {
        ts = name->unix_ts + 1; // one file per second at most: never overwrite a published name
      }
    }
    auto path = dumps_dir() / snapshot_file_name(m_opt.machine_id, ts);
    m_report.snapshot_bytes = m_publish_out->commit(path);
    m_report.snapshot_file = path.filename().string();
    fs::create_directories(replica_path().parent_path());
    m_replica_out->commit(replica_path());
    prune_own_snapshots();
    for (const auto& [id, m] : m_machines) {
      if (id != m_opt.machine_id) {
        MachineInfo info = m.info;
        const auto& peer = m_state.peers[id];
        // Liveness by this machine's clock: when we last saw the machine's stamp move.
        info.last_seen_ms = peer.observed_at_ms;
        m_store.import_machine(info);
      }
    }
  }

  // The published snapshot and the private replica share one header, stamped now.
  void open_outputs() {
    m_created = m_hlc.tick();
    SnapshotHeader h;
    h.machine_id = m_opt.machine_id;
    h.created = m_created;
    h.created_unix_ms = m_now;
    h.machines = machines_to_publish();
    SnapshotHeader r = h;
    r.replica = true;
    m_publish_out.emplace(h);
    m_replica_out.emplace(r);
  }

  // Keeps this machine's newest snapshots; never touches another machine's files.
  void prune_own_snapshots() {
    std::vector<std::pair<std::int64_t, fs::path>> own;
    for (const auto& entry : fs::directory_iterator(dumps_dir())) {
      auto name = parse_snapshot_name(entry.path().filename().string());
      if (name && name->machine_id == m_opt.machine_id) {
        own.emplace_back(name->unix_ts, entry.path());
      }
    }
    std::sort(own.begin(), own.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t i = m_opt.keep_snapshots; i < own.size(); ++i) {
      std::error_code ec;
      fs::remove(own[i].second, ec);
    }
  }

  // Per-machine metadata (only its machine writes it) and the merged view any machine
  // may regenerate: sync tools never see two writers of one file that matters.
  void write_metadata() {
    auto dir = m_opt.data_dir / "sync_metadata";
    fs::create_directories(dir);
    Json peers = Json::object();
    for (const auto& [id, p] : m_state.peers) {
      peers[id] = {{"last_file", p.last_file}, {"last_created_unix_ms", p.last_created_unix_ms},
                   {"conflicts", p.conflicts}, {"duplicates", p.duplicates}, {"live", is_live(id)}};
    }
    Json mine{{"machine_id", m_opt.machine_id}, {"snapshot", m_report.snapshot_file}, {"records", m_report.records},
              {"updated_unix_ms", m_now},        {"peers", peers}};
    write_file_atomic(dir / (m_opt.machine_id + ".json"), mine.dump(2));
    Json merged{{"note", "generated from sync_metadata/<machine>.json by any machine; do not edit"},
                {"machines", Json::object()}};
    for (const auto& entry : fs::directory_iterator(dir)) {
      auto name = entry.path().filename().string();
      if (!name.ends_with(".json") || name.front() == '.') {
        continue;
      }
      try {
        Json j = Json::parse(read_file(entry.path()));
        if (j.contains("machine_id") && j["machine_id"].is_string() &&
            name == j["machine_id"].get<std::string>() + ".json") {
          merged["machines"][j["machine_id"].get<std::string>()] = j;
        }
      } catch (const std::exception&) {
        // a half-synced metadata file: the next round picks it up
      }
    }
    auto view = m_opt.data_dir / "sync_metadata.json";
    std::string text = merged.dump(2);
    std::string old;
    try {
      old = fs::exists(view) ? read_file(view) : std::string();
    } catch (const std::exception&) {
    }
    if (old != text) {
      write_file_atomic(view, text);
    }
  }

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  struct Buffered {
    Record rec;
    std::uint64_t want_digest = 0;
    std::size_t import_index = npos;
  };

  TaskStore& m_store;
  const SyncOptions& m_opt;
  SyncState& m_state;
  HybridClock m_hlc;
  Millis m_now = 0;
  Hlc m_created;
  SyncRoundReport m_report;
  std::optional<PullStream> m_replica;
  std::vector<PullStream> m_remotes;
  std::map<std::string, MachineEntry> m_machines;
  std::vector<MachineEntry> m_incoming_machines;
  std::vector<Candidate> m_candidates;
  std::vector<PendingTask> m_pending;
  std::unordered_set<std::string> m_completed;
  std::deque<Buffered> m_buffer;
  std::vector<TaskImport> m_imports;
  std::optional<SnapshotWriter> m_publish_out;
  std::optional<SnapshotWriter> m_replica_out;
};

} // namespace

SyncRoundReport Syncer::run_once() {
  fs::create_directories(m_options.state_dir / "sync");
  RoundLock lock(m_options.state_dir / "sync" / "lock");
  SyncState state = read_state(m_options.state_dir);
  SyncRoundReport report = Round(m_store, m_options, state).run();
  write_file_atomic(m_options.state_dir / "sync" / "state.json", to_json(state).dump(1));
  return report;
}

std::string export_canonical(TaskStore& store) {
  std::string out;
  store.export_tasks([&](std::span<const Task> page) {
    for (const auto& t : page) {
      out += task_state_json(t);
      out += '\n';
    }
  });
  return out;
}

} // namespace nfl::sync
