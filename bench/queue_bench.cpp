// nfl-compute's side of bench/run: the protocol's workloads (bulk and one-by-one
// enqueue, drain at concurrency C, pickup latency) against the Redis backend through
// the public TaskStore interface and the Worker, plus the SQLite drain and the
// claim-cost curve. Same command line and JSON lines as the peers in bench/peers/.
//
// The handler is the protocol's no-op: a `noop` task type whose handler records its
// index (from the config) and a CLOCK_MONOTONIC timestamp and returns an empty
// result, which the worker stores as in any run (leases, fencing tokens and result
// storage stay on).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <hiredis/hiredis.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "model/task.hpp"
#include "store/store_factory.hpp"
#include "tasks/registry.hpp"
#include "util/clock.hpp"
#include "util/error.hpp"
#include "worker/logging.hpp"
#include "worker/worker.hpp"

namespace {

using nfl::Json;

constexpr const char* k_system = "nfl-compute";

struct Args {
  int port = 0;
  std::int64_t n = 20000;
  int c = 1;
  std::string workload = "drain";
  int run = 1;
  std::int64_t chunk = 1000;
  double gap_ms = 10.0;
  std::string db;
  std::int64_t claim_max = 100000;
};

// CLOCK_MONOTONIC in microseconds, the clock the peers use too.
std::int64_t now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

void emit(const Json& line) {
  std::fputs((line.dump() + "\n").c_str(), stdout);
  std::fflush(stdout);
}

Json base_line(const Args& a, const std::string& metric, int concurrency) {
  return Json{{"system", k_system}, {"metric", metric}, {"n", a.n}, {"concurrency", concurrency}, {"run", a.run}};
}

// What the no-op handler records, shared by the worker's slot threads.
class Recorder {
public:
  explicit Recorder(std::int64_t n) : m_counts(static_cast<std::size_t>(n)) {
    for (auto& c : m_counts) {
      c.store(0);
    }
  }

  void record(std::int64_t index, std::optional<std::int64_t> enqueued_us) {
    const std::int64_t t = now_us();
    if (index >= 0 && index < static_cast<std::int64_t>(m_counts.size())) {
      m_counts[static_cast<std::size_t>(index)].fetch_add(1);
    } else {
      m_out_of_range.fetch_add(1);
    }
    if (enqueued_us) {
      std::lock_guard lock(m_mutex);
      m_latencies.push_back(t - *enqueued_us);
    }
    std::int64_t last = m_t_last.load();
    const std::int64_t done = now_us();
    while (done > last && !m_t_last.compare_exchange_weak(last, done)) {
    }
    m_invocations.fetch_add(1);
  }

  std::int64_t invocations() const { return m_invocations.load(); }
  std::int64_t t_last() const { return m_t_last.load(); }

  Json verify() const {
    std::int64_t distinct = 0;
    std::int64_t duplicated = 0;
    for (const auto& c : m_counts) {
      distinct += c.load() > 0 ? 1 : 0;
      duplicated += c.load() > 1 ? 1 : 0;
    }
    const auto n = static_cast<std::int64_t>(m_counts.size());
    return Json{{"invocations", m_invocations.load()},
                {"distinct", distinct},
                {"duplicated", duplicated},
                {"ok", m_invocations.load() == n && distinct == n && duplicated == 0 && m_out_of_range.load() == 0}};
  }

  std::vector<std::int64_t> sorted_latencies() {
    std::lock_guard lock(m_mutex);
    std::sort(m_latencies.begin(), m_latencies.end());
    return m_latencies;
  }

private:
  std::vector<std::atomic<std::int32_t>> m_counts;
  std::atomic<std::int64_t> m_out_of_range{0};
  std::atomic<std::int64_t> m_invocations{0};
  std::atomic<std::int64_t> m_t_last{0};
  std::mutex m_mutex;
  std::vector<std::int64_t> m_latencies;
};

std::int64_t nearest_rank(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) {
    return -1;
  }
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

nfl::Task noop_task(std::int64_t index, std::optional<std::int64_t> enqueued_us) {
  nfl::Task t;
  t.task_type = "noop";
  t.name = "bench";
  t.config = Json{{"i", index}};
  if (enqueued_us) {
    t.config["t"] = *enqueued_us;
  }
  nfl::normalise(t, nfl::system_clock()->now_ms());
  return t;
}

std::string bench_queue() { return noop_task(0, std::nullopt).queue; }

// A registry whose `noop` records into `recorder` (the protocol's handler) and stores
// an empty result like the built-in one.
nfl::TaskRegistry recording_registry(Recorder& recorder, std::function<void()> on_each = {}) {
  nfl::TaskRegistry registry;
  nfl::TaskType t;
  t.name = "noop";
  t.description = "bench: records its index and a monotonic timestamp";
  t.run = [&recorder, on_each](nfl::TaskContext& ctx) {
    const Json& config = ctx.task.config;
    std::optional<std::int64_t> stamp;
    if (config.contains("t")) {
      stamp = config.at("t").get<std::int64_t>();
    }
    recorder.record(config.at("i").get<std::int64_t>(), stamp);
    if (on_each) {
      on_each();
    }
    return Json::object();
  };
  registry.add(std::move(t));
  return registry;
}

struct Backend {
  std::string kind; // redis | sqlite
  int port = 0;
  std::filesystem::path db;

  std::unique_ptr<nfl::TaskStore> open() const {
    if (kind == "redis") {
      nfl::RedisOptions r;
      r.host = "127.0.0.1";
      r.port = port;
      return nfl::make_redis_store(r, nfl::StoreOptions{});
    }
    return nfl::make_sqlite_store(db, nfl::StoreOptions{});
  }
};

void fill(nfl::TaskStore& store, std::int64_t n, std::int64_t chunk) {
  std::vector<nfl::Task> batch;
  for (std::int64_t start = 0; start < n; start += chunk) {
    batch.clear();
    for (std::int64_t i = start; i < std::min(n, start + chunk); ++i) {
      batch.push_back(noop_task(i, std::nullopt));
    }
    store.add(batch);
  }
}

std::int64_t pending_in(nfl::TaskStore& store, const std::string& queue) {
  auto status = store.status();
  auto it = status.queues.find(queue);
  return it == status.queues.end() ? -1 : it->second.pending;
}

class ScratchDirs {
public:
  ScratchDirs() {
    std::string templ = (std::filesystem::temp_directory_path() / "nfl-queue-bench-XXXXXX").string();
    if (!::mkdtemp(templ.data())) {
      throw std::runtime_error("mkdtemp failed");
    }
    m_root = templ;
  }
  ~ScratchDirs() {
    std::error_code ec;
    std::filesystem::remove_all(m_root, ec);
  }
  ScratchDirs(const ScratchDirs&) = delete;
  ScratchDirs& operator=(const ScratchDirs&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return m_root / name; }

private:
  std::filesystem::path m_root;
};

nfl::WorkerOptions worker_options(const ScratchDirs& dirs, const std::string& queue, int concurrency, bool burst) {
  nfl::WorkerOptions o;
  o.queues = {queue};
  o.concurrency = concurrency;
  o.burst = burst;
  o.machine.machine_id = "bench-" + std::to_string(::getpid());
  o.machine.profile = "cpu_x86";
  o.machine.queues = o.queues;
  o.data_dir = dirs / "data";
  o.state_dir = dirs / "state";
  std::filesystem::create_directories(o.data_dir);
  std::filesystem::create_directories(o.state_dir);
  return o;
}

int enqueue(const Args& a, const Backend& backend) {
  auto store = backend.open();
  const std::string queue = bench_queue();
  const std::int64_t t0 = now_us();
  if (a.workload == "bulk") {
    fill(*store, a.n, a.chunk);
  } else {
    for (std::int64_t i = 0; i < a.n; ++i) {
      nfl::Task t = noop_task(i, std::nullopt);
      store->add(std::span<const nfl::Task>(&t, 1));
    }
  }
  const double seconds = static_cast<double>(now_us() - t0) / 1e6;
  const std::int64_t pending = pending_in(*store, queue);
  Json line = base_line(a, "enqueue_" + a.workload, 1);
  line["unit"] = "tasks/s";
  line["counters"] = Json{{"pending", pending}};
  line["verified"] = pending == a.n;
  if (pending == a.n) {
    line["value"] = static_cast<double>(a.n) / seconds;
  } else {
    line["error"] = "verification failed";
  }
  emit(line);
  return pending == a.n ? 0 : 3;
}

// Fills the queue, then runs one Worker with concurrency C in burst mode until the
// queue is empty; time from worker start to the N-th handler completion.
int drain(const Args& a, const Backend& backend, const std::string& metric) {
  const std::string queue = bench_queue();
  {
    auto store = backend.open();
    fill(*store, a.n, a.chunk);
  }
  Recorder recorder(a.n);
  nfl::TaskRegistry registry = recording_registry(recorder);
  ScratchDirs dirs;
  nfl::Config config;
  const std::int64_t t_start = now_us();
  nfl::Worker worker([&backend] { return backend.open(); }, config, worker_options(dirs, queue, a.c, true),
                     registry);
  const int code = worker.run();
  const nfl::WorkerStats stats = worker.stats();
  auto store = backend.open();
  const nfl::StoreStatus status = store->status();
  const std::int64_t completed = status.counts.at("completed");
  Json check = recorder.verify();
  const bool counters_ok = code == 0 && completed == a.n && stats.completed == a.n &&
                           status.rejected_completions == 0 && pending_in(*store, queue) == 0;
  const bool ok = check.at("ok").get<bool>() && counters_ok;
  Json line = base_line(a, metric, a.c);
  line.update(check);
  line.erase("ok");
  line["counters"] = Json{{"store_completed", completed},
                          {"worker_completed", stats.completed},
                          {"rejected_completions", status.rejected_completions},
                          {"exit_code", code}};
  line["verified"] = ok;
  if (ok) {
    line["value"] = static_cast<double>(a.n) / (static_cast<double>(recorder.t_last() - t_start) / 1e6);
    line["unit"] = "tasks/s";
  } else {
    line["error"] = "verification failed";
  }
  emit(line);
  return ok ? 0 : 3;
}

// An idle worker (C = 1) in its own thread; tasks added one at a time gap_ms apart,
// each stamped just before the add.
int latency(const Args& a, const Backend& backend) {
  const std::string queue = bench_queue();
  Recorder recorder(a.n);
  std::atomic<nfl::Worker*> running{nullptr};
  nfl::TaskRegistry registry = recording_registry(recorder, [&] {
    if (recorder.invocations() >= a.n) {
      if (nfl::Worker* w = running.load()) {
        w->request_stop();
      }
    }
  });
  ScratchDirs dirs;
  nfl::Config config;
  nfl::Worker worker([&backend] { return backend.open(); }, config, worker_options(dirs, queue, 1, false), registry);
  running = &worker;
  int code = -1;
  std::thread worker_thread([&] { code = worker.run(); });
  // Let the worker enter its blocking wait (the peers get the same settling time).
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto store = backend.open();
  const std::int64_t start = now_us();
  for (std::int64_t i = 0; i < a.n; ++i) {
    nfl::Task t = noop_task(i, now_us());
    store->add(std::span<const nfl::Task>(&t, 1));
    const auto next = start + static_cast<std::int64_t>(static_cast<double>(i + 1) * a.gap_ms * 1000.0);
    const std::int64_t wait = next - now_us();
    if (wait > 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(wait));
    }
  }
  worker_thread.join();
  const nfl::StoreStatus status = store->status();
  const std::int64_t completed = status.counts.at("completed");
  Json check = recorder.verify();
  const bool ok = check.at("ok").get<bool>() && code == 0 && completed == a.n && status.rejected_completions == 0;
  Json line = base_line(a, "latency", 1);
  line.update(check);
  line.erase("ok");
  line["counters"] = Json{{"store_completed", completed}, {"exit_code", code}};
  line["verified"] = ok;
  if (!ok) {
    line["error"] = "verification failed";
    emit(line);
    return 3;
  }
  const auto sorted = recorder.sorted_latencies();
  line["unit"] = "us";
  line["metric"] = "latency_p50";
  line["value"] = nearest_rank(sorted, 50);
  emit(line);
  line["metric"] = "latency_p99";
  line["value"] = nearest_rank(sorted, 99);
  emit(line);
  return 0;
}

// RAII over a hiredis connection for the few raw commands the curve needs.
class RawRedis {
public:
  explicit RawRedis(int port) {
    timeval tv{2, 0};
    m_ctx = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (m_ctx == nullptr || m_ctx->err) {
      throw nfl::StoreUnavailable("queue_bench: cannot connect to redis on port " + std::to_string(port));
    }
  }
  ~RawRedis() { redisFree(m_ctx); }
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  std::string command(const char* text) {
    auto* reply = static_cast<redisReply*>(redisCommand(m_ctx, text));
    if (reply == nullptr) {
      throw nfl::StoreUnavailable(std::string("queue_bench: redis command failed: ") + text);
    }
    std::string out = reply->str != nullptr ? std::string(reply->str, reply->len) : std::string();
    freeReplyObject(reply);
    return out;
  }

  std::int64_t used_memory() {
    const std::string info = command("INFO memory");
    const auto pos = info.find("used_memory:");
    if (pos == std::string::npos) {
      throw nfl::InternalError("queue_bench: INFO memory has no used_memory");
    }
    return std::stoll(info.substr(pos + 12));
  }

private:
  redisContext* m_ctx = nullptr;
};

// Claim cost against queue length: fill L tasks, then time a batch of claims (each
// completed, so the batch measures the claim path at that length).
int claim_curve(const Args& a) {
  std::vector<std::int64_t> lengths;
  for (std::int64_t l = 1000; l <= a.claim_max; l *= 10) {
    lengths.push_back(l);
  }
  const std::string queue = bench_queue();
  constexpr std::int64_t k_claims = 1000;
  int status = 0;
  for (const std::string kind : {"redis", "sqlite"}) {
    for (std::int64_t length : lengths) {
      Backend backend{kind, a.port, std::filesystem::path(a.db)};
      std::optional<RawRedis> raw;
      std::int64_t before = 0;
      if (kind == "redis") {
        raw.emplace(a.port);
        raw->command("FLUSHALL");
        before = raw->used_memory();
      } else {
        for (const char* suffix : {"", "-wal", "-shm"}) {
          std::filesystem::remove(a.db + suffix);
        }
      }
      auto store = backend.open();
      fill(*store, length, a.chunk);
      Args point = a;
      point.n = length;
      if (raw) {
        Json mem = base_line(point, "memory_per_pending_at", 1);
        mem["value"] = static_cast<double>(raw->used_memory() - before) / static_cast<double>(length);
        mem["unit"] = "B";
        mem["verified"] = true;
        emit(mem);
      }
      nfl::ClaimRequest req;
      req.queues = {queue};
      req.machine_id = "bench-curve";
      const std::int64_t claims = std::min(k_claims, length);
      std::int64_t claim_total_us = 0;
      std::int64_t got = 0;
      for (std::int64_t i = 0; i < claims; ++i) {
        const std::int64_t t0 = now_us();
        auto lease = store->claim(req);
        claim_total_us += now_us() - t0;
        if (!lease) {
          break;
        }
        ++got;
        store->complete(lease->task.id, lease->token, Json::object(), nfl::Accounting{});
      }
      Json line = base_line(point, "claim_us_" + kind, 1);
      line["verified"] = got == claims;
      line["claims"] = got;
      if (got == claims) {
        line["value"] = static_cast<double>(claim_total_us) / static_cast<double>(claims);
        line["unit"] = "us";
      } else {
        line["error"] = "a claim found the queue empty";
        status = 3;
      }
      emit(line);
    }
  }
  return status;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"nfl-compute's side of bench/run (see bench/README.md)"};
  Args a;
  std::string role;
  app.add_option("--port", a.port, "private redis-server port");
  app.add_option("--n", a.n, "tasks")->check(CLI::PositiveNumber);
  app.add_option("--c", a.c, "worker concurrency")->check(CLI::PositiveNumber);
  app.add_option("--workload", a.workload, "workload")
      ->check(CLI::IsMember({"bulk", "single", "drain", "latency", "sqlite_drain", "claim_curve"}));
  app.add_option("--run", a.run, "run number, echoed in the output");
  app.add_option("--chunk", a.chunk, "bulk chunk size")->check(CLI::PositiveNumber);
  app.add_option("--gap-ms", a.gap_ms, "latency: gap between adds");
  app.add_option("--db", a.db, "SQLite file for sqlite_drain and claim_curve");
  app.add_option("--claim-max", a.claim_max, "claim_curve: largest queue length")->check(CLI::PositiveNumber);
  app.add_option("--role", role, "accepted for symmetry with the peers; ignored");
  CLI11_PARSE(app, argc, argv);

  const bool needs_redis = a.workload != "sqlite_drain";
  if (needs_redis && a.port <= 0) {
    std::fprintf(stderr, "queue_bench: --port is required for workload %s\n", a.workload.c_str());
    return 2;
  }
  if ((a.workload == "sqlite_drain" || a.workload == "claim_curve") && a.db.empty()) {
    std::fprintf(stderr, "queue_bench: --db is required for workload %s\n", a.workload.c_str());
    return 2;
  }
  try {
    // Warnings only, like the peers (Celery --loglevel WARNING, RQ logging_level
    // WARNING): per-task info lines would measure the terminal, not the queue.
    nfl::Config log_config;
    log_config.log_level = "warning";
    nfl::setup_logging(log_config, "bench");
    const Backend redis{"redis", a.port, {}};
    if (a.workload == "bulk" || a.workload == "single") {
      return enqueue(a, redis);
    }
    if (a.workload == "drain") {
      return drain(a, redis, "drain_c" + std::to_string(a.c));
    }
    if (a.workload == "latency") {
      return latency(a, redis);
    }
    if (a.workload == "sqlite_drain") {
      return drain(a, Backend{"sqlite", 0, a.db}, "sqlite_drain_c" + std::to_string(a.c));
    }
    return claim_curve(a);
  } catch (const std::exception& e) {
    // Error lines carry the metric names the figures would have had, so that the
    // report shows the failure in the right cell.
    std::vector<std::string> metrics;
    if (a.workload == "bulk" || a.workload == "single") {
      metrics = {"enqueue_" + a.workload};
    } else if (a.workload == "drain" || a.workload == "sqlite_drain") {
      metrics = {(a.workload == "drain" ? "drain_c" : "sqlite_drain_c") + std::to_string(a.c)};
    } else if (a.workload == "latency") {
      metrics = {"latency_p50", "latency_p99"};
    } else {
      metrics = {"claim_us_redis"};
    }
    for (const auto& metric : metrics) {
      Json line = base_line(a, metric, a.c);
      line["error"] = e.what();
      emit(line);
    }
    return 4;
  }
}
