// `nfl-compute worker --metrics-port`: a real worker process on a real Redis, scraped
// over HTTP during and after a small drain. Its counters must agree with what the
// test put in the store and with the store's own view of the outcome, and the scrape
// must pass promtool and the Python parser.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "prometheus_check.hpp"
#include "store/store_factory.hpp"
#include "support/redis_server.hpp"
#include "util/metrics_registry.hpp"

namespace nfl::test {
namespace {

constexpr const char* k_prefix = "metrics-test:";

class WorkerProcess {
public:
  WorkerProcess(const std::vector<std::string>& args, const std::vector<std::string>& env,
                const std::filesystem::path& log) {
    std::vector<std::string> argv_store = {NFL_BINARY};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<std::string> env_store = env;
    const char* path = std::getenv("PATH");
    env_store.push_back(std::string("PATH=") + (path ? path : "/usr/bin:/bin"));
    env_store.push_back("HOME=/nonexistent");
    std::vector<char*> envp;
    for (auto& e : env_store) {
      envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = ::posix_spawn(&m_pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      throw std::runtime_error("posix_spawn " + std::string(NFL_BINARY) + " failed");
    }
  }
  ~WorkerProcess() {
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
    }
  }
  // SIGTERM (graceful stop) and the exit status.
  int stop() {
    ::kill(m_pid, SIGTERM);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // Waits for the process to end by itself (SIGKILL after 30 s) and returns its status.
  int wait_exit() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int status = 0;
    while (::waitpid(m_pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    m_pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  bool alive() const { return m_pid > 0 && ::waitpid(m_pid, nullptr, WNOHANG) == 0; }

private:
  pid_t m_pid = -1;
};

std::string read_text(const std::filesystem::path& p) {
  std::stringstream s;
  s << std::ifstream(p).rdbuf();
  return s.str();
}

double value_of(const std::map<std::string, double>& m, const std::string& series) {
  auto it = m.find(series);
  return it == m.end() ? -1 : it->second;
}

class WorkerMetricsTest : public ::testing::Test {
protected:
  void SetUp() override {
    redis.flushall();
    RedisOptions r;
    r.host = "127.0.0.1";
    r.port = redis.port();
    r.key_prefix = k_prefix;
    StoreOptions o;
    o.enable_caching = false;
    store = make_redis_store(r, o);
    port = free_loopback_port();
  }

  std::vector<std::string> env() const {
    return {"QUEUE_BACKEND=redis",
            "REDIS_HOST=127.0.0.1",
            "REDIS_PORT=" + std::to_string(redis.port()),
            std::string("REDIS_KEY_PREFIX=") + k_prefix,
            "DATA_DIR=" + (dir / "data").string(),
            "STATE_DIR=" + (dir / "state").string(),
            "MACHINE_ID=metrics-box",
            "HARDWARE_PROFILE=cpu_x86",
            "ENABLE_CACHING=false"};
  }

  std::string scrape() {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/metrics");
    if (!r || r->status != 200) {
      return {};
    }
    EXPECT_NE(r->get_header_value("Content-Type").find("text/plain; version=0.0.4"), std::string::npos);
    return r->body;
  }

  // Scrapes until `done` holds for the parsed samples: the worker is another process,
  // so its counters are observable only by asking. Returns the last scrape.
  std::string scrape_until(const std::function<bool(const std::map<std::string, double>&)>& done,
                           const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::string text;
    while (std::chrono::steady_clock::now() < deadline) {
      text = scrape();
      if (!text.empty() && done(samples_of(text))) {
        return text;
      }
      if (worker && !worker->alive()) {
        ADD_FAILURE() << "worker exited while waiting for " << what << "\n" << read_text(dir / "worker.log");
        return text;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20)); // poll interval, not synchronisation
    }
    ADD_FAILURE() << "timed out waiting for " << what << "\nlast scrape:\n" << text << "\nlog:\n"
                  << read_text(dir / "worker.log");
    return text;
  }

  Task task(const std::string& type, Json config, int max_attempts = 1) {
    Task t;
    t.task_type = type;
    t.config = std::move(config);
    t.queue = "cpu:parallel";
    t.max_attempts = max_attempts;
    normalise(t, SystemClock().now_ms());
    return t;
  }

  RedisServer& redis = shared_redis();
  TempDir dir;
  std::unique_ptr<TaskStore> store;
  std::unique_ptr<WorkerProcess> worker;
  int port = 0;
};

TEST_F(WorkerMetricsTest, CountersFollowADrain) {
  worker = std::make_unique<WorkerProcess>(
      std::vector<std::string>{"worker", "--queues", "cpu:parallel", "--concurrency", "2", "--metrics-port",
                               std::to_string(port)},
      env(), dir / "worker.log");
  auto before = samples_of(scrape_until([](const auto& m) { return m.contains("nfl_compute_worker_slots"); },
                                        "the metrics endpoint"));
  EXPECT_EQ(value_of(before, "nfl_compute_worker_slots"), 2);
  EXPECT_EQ(value_of(before, "nfl_compute_worker_busy_slots"), 0);
  EXPECT_EQ(value_of(before, "nfl_compute_worker_claims_total"), 0);
  EXPECT_EQ(value_of(before, "nfl_compute_store_up"), 1);

  // Two sleeps hold both slots: the busy gauge shows it while they run.
  std::vector<Task> sleeps = {task("sleep", {{"seconds", 1.0}}), task("sleep", {{"seconds", 1.0}})};
  store->add(sleeps);
  scrape_until([](const auto& m) { return value_of(m, "nfl_compute_worker_busy_slots") == 2; }, "two busy slots");

  // Then noops, one retryable failure that fails again on its second and last attempt
  // (a non-zero exit), and one terminal failure (a program that does not exist).
  constexpr int k_noops = 30;
  std::vector<Task> more;
  for (int i = 0; i < k_noops; ++i) {
    more.push_back(task("noop", {{"i", i}}));
  }
  more.push_back(task("exec", {{"argv", {"/bin/sh", "-c", "exit 3"}}}, 2));
  more.push_back(task("exec", {{"argv", {"/nonexistent/program"}}}, 3));
  store->add(more);
  const int completions = k_noops + 2;
  const int attempts = completions + 2 + 1;

  const auto text = scrape_until(
      [&](const auto& m) {
        return value_of(m, "nfl_compute_worker_claims_total") == attempts &&
               value_of(m, "nfl_compute_worker_busy_slots") == 0 &&
               value_of(m, "nfl_compute_worker_failures_total{task_type=\"exec\",kind=\"terminal\"}") == 2;
      },
      "the drain to finish");
  auto m = samples_of(text);

  // Counters against what was submitted...
  EXPECT_EQ(value_of(m, "nfl_compute_worker_completions_total{task_type=\"noop\"}"), k_noops);
  EXPECT_EQ(value_of(m, "nfl_compute_worker_completions_total{task_type=\"sleep\"}"), 2);
  EXPECT_EQ(value_of(m, "nfl_compute_worker_failures_total{task_type=\"exec\",kind=\"retryable\"}"), 1);
  EXPECT_EQ(value_of(m, "nfl_compute_worker_retries_total"), 1);
  EXPECT_EQ(value_of(m, "nfl_compute_worker_lease_losses_total"), 0);
  EXPECT_EQ(value_of(m, "nfl_compute_worker_timeouts_total"), 0);
  EXPECT_EQ(value_of(m, "nfl_compute_worker_busy_slots"), 0);
  // ...and against the store's own view, in the same scrape.
  EXPECT_EQ(value_of(m, "nfl_compute_tasks_by_status{status=\"completed\"}"), completions);
  EXPECT_EQ(value_of(m, "nfl_compute_tasks_by_status{status=\"failed\"}"), 2);
  EXPECT_EQ(value_of(m, "nfl_compute_machine_tasks_done_total{machine=\"metrics-box\"}"), completions);

  // The duration histogram: cumulative buckets, +Inf = _count = completions of the type.
  for (const auto& [type, n] : {std::pair{"noop", k_noops}, std::pair{"sleep", 2}}) {
    const std::string labels = std::string("task_type=\"") + type + "\"";
    double previous = 0;
    int buckets = 0;
    for (const auto& [series, value] : m) {
      if (series.starts_with("nfl_compute_worker_task_duration_seconds_bucket{" + labels + ",")) {
        ++buckets;
        EXPECT_GE(value, 0);
      }
    }
    // Walk the bounds in order (the map orders le text, not numbers).
    for (double le : metrics::k_task_duration_buckets) {
      const double v = value_of(
          m, "nfl_compute_worker_task_duration_seconds_bucket{" + labels + ",le=\"" + metrics::format_value(le) + "\"}");
      EXPECT_GE(v, previous) << type << " le=" << le;
      previous = v;
    }
    const double inf = value_of(m, "nfl_compute_worker_task_duration_seconds_bucket{" + labels + ",le=\"+Inf\"}");
    EXPECT_GE(inf, previous);
    EXPECT_EQ(buckets, static_cast<int>(std::size(metrics::k_task_duration_buckets)) + 1);
    EXPECT_EQ(inf, n) << type;
    EXPECT_EQ(value_of(m, "nfl_compute_worker_task_duration_seconds_count{" + labels + "}"), n) << type;
  }
  // Two 1 s sleeps: at least 2 s of wall time, and neither fits the 0.1 s bucket.
  EXPECT_GE(value_of(m, "nfl_compute_worker_task_duration_seconds_sum{task_type=\"sleep\"}"), 2.0);
  EXPECT_EQ(value_of(m, "nfl_compute_worker_task_duration_seconds_bucket{task_type=\"sleep\",le=\"0.1\"}"), 0);
  // Every outcome was one timed store call; a completion that also claimed the slot's
  // next task (complete_claim) counts once, as a completion and as a claim.
  const double fused = value_of(m, "nfl_compute_store_call_duration_seconds_count{op=\"complete_claim\"}");
  EXPECT_EQ(value_of(m, "nfl_compute_store_call_duration_seconds_count{op=\"complete\"}") + fused, completions);
  EXPECT_GT(fused, 0) << "30 queued noops on 2 slots: completions hand over the next task";
  EXPECT_EQ(value_of(m, "nfl_compute_store_call_duration_seconds_count{op=\"fail\"}"), 3);
  EXPECT_GE(value_of(m, "nfl_compute_store_call_duration_seconds_count{op=\"claim_wait\"}") + fused, attempts);

  auto promtool = promtool_check(text, dir.path());
  EXPECT_EQ(promtool.rc, 0) << promtool.output << "\n" << text;
  auto parsed = python_parse(text, dir.path());
  EXPECT_EQ(parsed.rc, 0) << parsed.output;
  EXPECT_NE(parsed.output.find("nfl_compute_worker_task_duration_seconds histogram"), std::string::npos)
      << parsed.output;
  EXPECT_NE(parsed.output.find("nfl_compute_worker_claims counter"), std::string::npos) << parsed.output;

  EXPECT_EQ(worker->stop(), 0) << read_text(dir / "worker.log");
}

TEST_F(WorkerMetricsTest, AnUnusablePortIsAnInputError) {
  // Hold the port so the worker cannot bind it.
  httplib::Server holder;
  ASSERT_TRUE(holder.bind_to_port("127.0.0.1", port));
  worker = std::make_unique<WorkerProcess>(
      std::vector<std::string>{"worker", "--queues", "cpu:parallel", "--metrics-port", std::to_string(port)}, env(),
      dir / "worker.log");
  EXPECT_EQ(worker->wait_exit(), 2);
  EXPECT_NE(read_text(dir / "worker.log").find("--metrics-port"), std::string::npos) << read_text(dir / "worker.log");
}

} // namespace
} // namespace nfl::test
