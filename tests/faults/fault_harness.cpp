#include "fault_harness.hpp"

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "model/task.hpp"
#include "store/store_factory.hpp"

namespace nfl::test::faults {

namespace {

std::uint64_t suite_seed() {
  // NFL_FAULTS_SEED replays a run's fault schedule (each scenario prints its seed).
  if (const char* s = std::getenv("NFL_FAULTS_SEED"); s && *s) {
    return std::strtoull(s, nullptr, 10);
  }
  return std::random_device{}();
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StoreOptions audit_store_options() {
  StoreOptions o;
  o.enable_caching = false;
  return o;
}

// --- the summary table ---

std::mutex g_rows_mutex;
std::vector<Row> g_rows;

std::string format_row(const Row& r) {
  if (r.skipped) {
    return fmt::format("| {:<26} | {:<6} | {:>6} | {:>9} | {:>8} | {:>7} | {:>10} | {:>8} | {:>4} | {:>6} | skipped: {}",
                       r.scenario, r.backend, "-", "-", "-", "-", "-", "-", "-", "-", r.note);
  }
  return fmt::format("| {:<26} | {:<6} | {:>6} | {:>9} | {:>8} | {:>7} | {:>10} | {:>8} | {:>4} | {:>5.1f}s | {}",
                     r.scenario, r.backend, r.tasks, r.completed, r.terminal_explained, r.retried, r.suppressed,
                     r.duplicate_records, r.lost, r.seconds, r.note);
}

std::string table_header() {
  return fmt::format("| {:<26} | {:<6} | {:>6} | {:>9} | {:>8} | {:>7} | {:>10} | {:>8} | {:>4} | {:>6} | {}\n",
                     "scenario", "store", "tasks", "completed", "explained", "retried", "dups supp.", "dup rec.",
                     "lost", "time", "faults injected") +
         "|----------------------------|--------|--------|-----------|----------|---------|------------|----------|------|--------|----------------\n";
}

// Prints the table when the binary ends and writes it to NFL_FAULTS_SUMMARY, which
// `./run test` prints after ctest (ctest shows a passing test's output only on request).
class SummaryEnvironment : public ::testing::Environment {
public:
  void SetUp() override {
    std::error_code ec;
    std::filesystem::remove(NFL_FAULTS_SUMMARY, ec); // never show a stale table
  }
  void TearDown() override {
    std::lock_guard lock(g_rows_mutex);
    if (g_rows.empty()) {
      return;
    }
    std::string text = "Fault injection summary (docs/reliability.md)\n" + table_header();
    std::int64_t lost = 0;
    for (const auto& r : g_rows) {
      text += format_row(r) + "\n";
      lost += r.lost;
    }
    text += fmt::format("total lost: {}\n", lost);
    std::printf("\n%s", text.c_str());
    std::fflush(stdout);
    std::ofstream(NFL_FAULTS_SUMMARY) << text;
  }
};

[[maybe_unused]] const auto* const g_summary = ::testing::AddGlobalTestEnvironment(new SummaryEnvironment);

} // namespace

Rig::Rig(std::string scenario, Backend backend, int redis_port)
    : m_scenario(std::move(scenario)), m_backend(backend), m_redis_port(redis_port), m_worker_port(redis_port),
      m_data_dir(m_dir / "data"), m_state_dir(m_dir / "state"), m_seed(suite_seed()), m_rng(m_seed),
      m_start(std::chrono::steady_clock::now()) {
  std::filesystem::create_directories(m_data_dir);
  std::filesystem::create_directories(m_state_dir);
  std::printf("[ faults ] %s on %s: seed %llu (NFL_FAULTS_SEED=%llu replays the fault schedule)\n",
              m_scenario.c_str(), backend_name().c_str(), static_cast<unsigned long long>(m_seed),
              static_cast<unsigned long long>(m_seed));
  std::fflush(stdout);
}

Rig::~Rig() = default;

double Rig::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
}

std::map<std::string, std::string> Rig::env(const std::string& machine_id, bool for_worker) const {
  std::map<std::string, std::string> e = {
      {"QUEUE_BACKEND", backend_name()},
      {"DATA_DIR", m_data_dir.string()},
      {"STATE_DIR", m_state_dir.string()},
      {"MACHINE_ID", machine_id},
      {"HARDWARE_PROFILE", "cpu_x86"},
      {"LEASE_SECONDS", std::to_string(m_lease_s)},
      {"ENABLE_CACHING", "false"},
      {"LOG_LEVEL", "info"},
      {"LOG_TO_FILE", "false"},
  };
  if (m_backend == Backend::redis) {
    e["REDIS_HOST"] = "127.0.0.1";
    e["REDIS_PORT"] = std::to_string(for_worker ? m_worker_port : m_redis_port);
  }
  return e;
}

std::filesystem::path Rig::write_tasks(const std::string& prefix, int count, const TaskMix& mix) {
  auto path = root() / (prefix + ".jsonl");
  std::ofstream out(path);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int i = 0; i < count; ++i) {
    Json t = {{"id", fmt::format("{}_{}", prefix, i)},
              {"queue", "cpu:sequential"},
              {"max_attempts", mix.max_attempts},
              {"priority", "medium"}};
    if (u(m_rng) < mix.noop_share) {
      t["task_type"] = "noop";
      t["config"] = {{"i", i}};
    } else {
      t["task_type"] = "sleep";
      t["config"] = {{"seconds", std::round(u(m_rng) * mix.sleep_max_s * 1000.0) / 1000.0}, {"i", i}};
    }
    out << t.dump() << "\n";
  }
  return path;
}

int Rig::submit_file(const std::filesystem::path& file, std::string& output) const {
  SpawnOptions o;
  o.env = env("submitter", false);
  o.cwd = root();
  return run_to_completion({nfl_binary(), "submit", "--file", file.string()}, o, output);
}

std::vector<std::string> Rig::submit(const std::string& prefix, int count, const TaskMix& mix) {
  auto file = write_tasks(prefix, count, mix);
  std::string output;
  int rc = submit_file(file, output);
  EXPECT_EQ(rc, 0) << output;
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    ids.push_back(fmt::format("{}_{}", prefix, i));
  }
  return ids;
}

Process Rig::spawn_worker(const std::string& machine_id, int concurrency) const {
  SpawnOptions o;
  o.env = env(machine_id, true);
  o.cwd = root();
  o.log = log_path(machine_id);
  return Process({nfl_binary(), "worker", "--burst", "--queues", "cpu:sequential", "--concurrency",
                  std::to_string(concurrency), "--grace", "10"},
                 o);
}

std::string Rig::all_logs() const {
  std::string text;
  for (const auto& e : std::filesystem::directory_iterator(root())) {
    auto name = e.path().filename().string();
    if (name.rfind("worker-", 0) == 0 && e.path().extension() == ".log") {
      text += read_text(e.path());
    }
  }
  return text;
}

std::unique_ptr<TaskStore> Rig::store() const {
  if (m_backend == Backend::sqlite) {
    return make_sqlite_store(m_state_dir / "nfl-compute.db", audit_store_options());
  }
  RedisOptions r;
  r.host = "127.0.0.1";
  r.port = m_redis_port;
  r.connect_timeout_ms = 1000;
  r.command_timeout_ms = 5000;
  return make_redis_store(r, audit_store_options());
}

Row audit(const Rig& rig, const std::vector<std::string>& ids) {
  auto store = rig.store();
  return audit(rig, ids, *store, rig.data_dir());
}

Row audit(const Rig& rig, const std::vector<std::string>& ids, TaskStore& store,
          const std::filesystem::path& data_dir) {
  Row row;
  row.scenario = rig.scenario();
  row.backend = rig.backend_name();
  row.tasks = static_cast<std::int64_t>(ids.size());
  row.seconds = rig.elapsed_s();
  auto problem = [&](std::string what) {
    if (row.problems.size() < 10) {
      row.problems.push_back(std::move(what));
    }
  };

  // Result records per task id, over every segment (and one-file-per-task records).
  std::map<std::string, std::vector<Json>> records;
  std::int64_t torn = 0;
  std::error_code ec;
  if (std::filesystem::exists(data_dir / "results", ec)) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(data_dir / "results")) {
      if (!e.is_regular_file() || (e.path().extension() != ".jsonl" && e.path().extension() != ".json")) {
        continue;
      }
      std::ifstream in(e.path(), std::ios::binary);
      std::string line;
      while (std::getline(in, line)) {
        try {
          Json j = Json::parse(line);
          records[j.at("task_id").get<std::string>()].push_back(std::move(j));
        } catch (const std::exception&) {
          ++torn;
        }
      }
    }
  }

  auto st = store.status();
  row.suppressed = st.rejected_completions;
  TaskFilter f;
  f.limit = ids.size() + 1000;
  std::map<std::string, Task> tasks;
  for (auto& t : store.list(f)) {
    tasks.emplace(t.id, std::move(t));
  }
  std::set<std::string> submitted(ids.begin(), ids.end());
  for (const auto& id : ids) {
    auto it = tasks.find(id);
    if (it == tasks.end()) {
      ++row.lost;
      problem(id + ": not in the store");
      continue;
    }
    const Task& t = it->second;
    auto rec = records.find(id);
    const std::size_t n = rec == records.end() ? 0 : rec->second.size();
    if (n > 1) {
      ++row.duplicate_records;
      problem(fmt::format("{}: {} result records", id, n));
    }
    switch (t.status) {
    case TaskStatus::completed: {
      if (n == 0) {
        ++row.lost;
        problem(fmt::format("{}: completed (attempt {}, {}) but no result record", id, t.attempts, t.machine_id));
        break;
      }
      // The record is the accepted attempt's: same machine, same attempt, same result.
      const Json& r = rec->second.front();
      if (r.value("machine_id", "") != t.machine_id || r.value("attempt", -1) != t.attempts ||
          r.value("result", Json()) != t.result) {
        ++row.lost;
        problem(fmt::format("{}: record from {} attempt {} but the store has {} attempt {}", id,
                            r.value("machine_id", ""), r.value("attempt", -1), t.machine_id, t.attempts));
        break;
      }
      ++row.completed;
      row.retried += t.attempts > 1;
      break;
    }
    case TaskStatus::failed:
    case TaskStatus::cancelled:
      if (t.error.empty() && t.status == TaskStatus::failed) {
        ++row.lost;
        problem(id + ": failed without an error");
      } else if (n > 0) {
        ++row.lost;
        problem(fmt::format("{}: {} but has a result record", id, to_string(t.status)));
      } else {
        ++row.terminal_explained;
      }
      break;
    default:
      ++row.lost;
      problem(fmt::format("{}: left {} (attempts {})", id, to_string(t.status), t.attempts));
    }
  }
  for (const auto& [id, recs] : records) {
    if (!submitted.count(id)) {
      problem(id + ": a result record for a task nobody submitted");
      ++row.duplicate_records;
    }
  }
  if (torn > 0) {
    row.note += fmt::format("{} torn record line(s); ", torn);
  }
  return row;
}

void report(const Row& row) {
  std::printf("%s%s\n", table_header().c_str(), format_row(row).c_str());
  for (const auto& p : row.problems) {
    std::printf("  problem: %s\n", p.c_str());
  }
  std::fflush(stdout);
  std::lock_guard lock(g_rows_mutex);
  g_rows.push_back(row);
}

void report_skipped(const std::string& scenario, const std::string& backend, const std::string& why) {
  Row row;
  row.scenario = scenario;
  row.backend = backend;
  row.skipped = true;
  row.note = why;
  report(row);
}

void expect_clean(const Row& row) {
  std::string problems;
  for (const auto& p : row.problems) {
    problems += "\n  " + p;
  }
  EXPECT_EQ(row.lost, 0) << row.scenario << problems;
  EXPECT_EQ(row.duplicate_records, 0) << row.scenario << problems;
  EXPECT_EQ(row.completed + row.terminal_explained, row.tasks) << row.scenario << problems;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

std::int64_t completed_count(TaskStore& store) {
  try {
    return store.status().counts["completed"];
  } catch (const std::exception&) {
    return 0;
  }
}

std::vector<int> wait_all(std::vector<Process>& workers, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<int> codes;
  for (auto& w : workers) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto code = w.wait_for(std::max(left, std::chrono::milliseconds(0)));
    if (!code) {
      // A worker that did not finish in time is a failure, not a hang.
      w.signal(SIGKILL);
      codes.push_back(w.wait() + 1000);
    } else {
      codes.push_back(*code);
    }
  }
  return codes;
}

std::vector<std::int64_t> progress_marks(std::mt19937_64& rng, std::int64_t total, int count, double lo_share,
                                         double hi_share) {
  std::uniform_real_distribution<double> within(0.0, 1.0);
  const double slice = (hi_share - lo_share) / count;
  std::vector<std::int64_t> marks;
  for (int i = 0; i < count; ++i) {
    const double share = lo_share + slice * (i + within(rng));
    marks.push_back(std::max<std::int64_t>(1, static_cast<std::int64_t>(share * static_cast<double>(total))));
  }
  return marks;
}

bool wait_for_completed(TaskStore& store, std::int64_t mark, std::chrono::milliseconds limit) {
  return wait_until([&] { return completed_count(store) >= mark; }, limit);
}

void random_pause(std::mt19937_64& rng, std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
  std::uniform_int_distribution<std::int64_t> d(lo.count(), hi.count());
  std::this_thread::sleep_for(std::chrono::milliseconds(d(rng)));
}

int count_occurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

} // namespace nfl::test::faults
