#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <httplib.h>

#include "cli/context.hpp"
#include "known_store.hpp"
#include "monitor/server.hpp"
#include "prometheus_check.hpp"
#include "util/error.hpp"

namespace nfl::monitor {
namespace {

class ServerTest : public ::testing::Test {
protected:
  void start(const std::string& token, const std::function<void(ServerOptions&)>& tweak = {}) {
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.token = token;
    options.data_dir = k.dir.path();
    options.clock = k.clock;
    if (tweak) {
      tweak(options);
    }
    server = std::make_unique<DashboardServer>(*k.store, options);
    port = server->bind();
    server->start();
    client = std::make_unique<httplib::Client>("127.0.0.1", port);
  }
  void TearDown() override {
    if (server) {
      server->stop();
    }
  }
  Json get_json(const std::string& path, int expected = 200) {
    auto r = client->Get(path.c_str());
    EXPECT_TRUE(r) << path;
    if (!r) {
      return nullptr;
    }
    EXPECT_EQ(r->status, expected) << path << ": " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
    return Json::parse(r->body);
  }

  test::KnownStore k;
  std::unique_ptr<DashboardServer> server;
  std::unique_ptr<httplib::Client> client;
  int port = 0;
};

TEST_F(ServerTest, StatusMatchesTheStore) {
  start("");
  auto s = get_json("/api/status");
  EXPECT_EQ(s["counts"]["completed"], 6);
  EXPECT_EQ(s["counts"]["failed"], 1);
  EXPECT_EQ(s["counts"]["running"], 1);
  EXPECT_EQ(s["counts"]["pending"], 1);
  EXPECT_EQ(s["queues"]["gpu:standard"]["pending"], 1);
  EXPECT_EQ(s["queues"]["gpu:standard"]["running"], 1);
  EXPECT_EQ(s["queues"]["cpu:parallel"]["failed"], 1);
  ASSERT_EQ(s["running"].size(), 1u);
  EXPECT_EQ(s["running"][0]["id"], k.running_id);
  EXPECT_EQ(s["running"][0]["machine_id"], "box-a");
  EXPECT_DOUBLE_EQ(s["running"][0]["progress"].get<double>(), 40.0);
  ASSERT_EQ(s["recent_failures"].size(), 1u);
  EXPECT_EQ(s["recent_failures"][0]["error"], test::KnownStore::k_error);
  ASSERT_EQ(s["machines"].size(), 2u);
  EXPECT_EQ(s["durations"].size(), 6u);
  // Completions all happened within the last few minutes of the store clock.
  std::int64_t per_minute = 0;
  for (const auto& b : s["throughput"]["per_minute"]) {
    per_minute += b["completed"].get<std::int64_t>();
  }
  EXPECT_EQ(per_minute, 6);
}

TEST_F(ServerTest, TaskListingAndLookup) {
  start("");
  auto failed = get_json("/api/tasks?status=failed");
  ASSERT_EQ(failed["tasks"].size(), 1u);
  EXPECT_EQ(failed["tasks"][0]["id"], k.failed_id);
  EXPECT_EQ(get_json("/api/tasks?queue=cpu:parallel")["tasks"].size(), 5u);
  EXPECT_EQ(get_json("/api/tasks?type=beta&limit=3")["tasks"].size(), 3u);
  EXPECT_EQ(get_json("/api/tasks/" + k.running_id)["status"], "running");
  EXPECT_NE(get_json("/api/tasks/nope", 404)["error"].get<std::string>().find("nope"), std::string::npos);
  EXPECT_NE(get_json("/api/tasks?status=bogus", 400)["error"].get<std::string>().find("status"), std::string::npos);
  EXPECT_NE(get_json("/api/tasks?limit=0", 400)["error"].get<std::string>().find("limit"), std::string::npos);
  EXPECT_NE(get_json("/api/tasks?queue=gpu:huge", 400)["error"].get<std::string>().find("queue"), std::string::npos);
  auto board = get_json("/api/scoreboard");
  EXPECT_DOUBLE_EQ(board["task_types"][0]["success_rate"].get<double>(), 0.8);
}

TEST_F(ServerTest, HealthzReportsEachCheck) {
  start("");
  auto h = get_json("/healthz");
  EXPECT_EQ(h["status"], "ok");
  EXPECT_TRUE(h["checks"]["backend"]["ok"].get<bool>());
  EXPECT_TRUE(h["checks"]["workers"]["ok"].get<bool>()); // box-a is live
  EXPECT_TRUE(h["checks"]["data_dir"]["ok"].get<bool>());
  // Every heartbeat stale: unhealthy, 503.
  k.clock->advance_ms(10 * 60'000);
  h = get_json("/healthz", 503);
  EXPECT_EQ(h["status"], "unhealthy");
  EXPECT_FALSE(h["checks"]["workers"]["ok"].get<bool>());
}

TEST_F(ServerTest, ActionsWithoutATokenAreForbidden) {
  start("");
  auto r = client->Post(("/api/tasks/" + k.failed_id + "/requeue").c_str(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(k.store->get(k.failed_id)->status, TaskStatus::failed);
}

TEST_F(ServerTest, ActionsNeedTheRightToken) {
  start("s3cret-token");
  const auto requeue = "/api/tasks/" + k.failed_id + "/requeue";
  auto none = client->Post(requeue.c_str(), "", "text/plain");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  auto bad = client->Post(requeue.c_str(), {{"Authorization", "Bearer s3cret-tokeN"}}, "", "text/plain");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 401);
  auto prefix = client->Post(requeue.c_str(), {{"Authorization", "Bearer s3cret"}}, "", "text/plain");
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->status, 401);
  EXPECT_EQ(k.store->get(k.failed_id)->status, TaskStatus::failed);

  httplib::Headers auth = {{"Authorization", "Bearer s3cret-token"}};
  auto ok = client->Post(requeue.c_str(), auth, "", "text/plain");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(k.store->get(k.failed_id)->status, TaskStatus::pending);
  // Requeueing a pending task is a conflict, not a silent success.
  auto again = client->Post(requeue.c_str(), auth, "", "text/plain");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);

  auto cancel = client->Post(("/api/tasks/" + k.pending_id + "/cancel").c_str(), auth, "", "text/plain");
  ASSERT_TRUE(cancel);
  EXPECT_EQ(cancel->status, 200) << cancel->body;
  EXPECT_EQ(k.store->get(k.pending_id)->status, TaskStatus::cancelled);
  auto missing = client->Post("/api/tasks/nope/cancel", auth, "", "text/plain");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(ServerTest, OversizedRequestsAreRefused) {
  start("s3cret-token");
  std::string body(64 * 1024, 'x');
  auto r = client->Post(("/api/tasks/" + k.failed_id + "/requeue").c_str(),
                        {{"Authorization", "Bearer s3cret-token"}}, body, "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(k.store->get(k.failed_id)->status, TaskStatus::failed);
}

TEST_F(ServerTest, PageAndChartJsComeFromTheBinary) {
  ServerOptions options;
  options.port = 0;
  options.chartjs = "window.Chart = function () {};";
  options.clock = k.clock;
  DashboardServer s(*k.store, options);
  const int p = s.bind();
  s.start();
  httplib::Client c("127.0.0.1", p);
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<script src=\"/chart.js\">"), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos) << "no external resources";
  EXPECT_EQ(page->body.find("https://"), std::string::npos) << "no external resources";
  auto js = c.Get("/chart.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->body, "window.Chart = function () {};");
  s.stop();
}

TEST_F(ServerTest, MetricsParseWithThePrometheusParser) {
  start("");
  auto r = client->Get("/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/plain; version=0.0.4"), std::string::npos);
  const auto& m = r->body;
  EXPECT_NE(m.find("nfl_compute_tasks{queue=\"cpu:parallel\",status=\"completed\"} 4\n"), std::string::npos) << m;
  EXPECT_NE(m.find("nfl_compute_tasks{queue=\"gpu:standard\",status=\"running\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("nfl_compute_task_completions_total{task_type=\"alpha\"} 4\n"), std::string::npos);
  EXPECT_NE(m.find("nfl_compute_task_duration_seconds_bucket{task_type=\"alpha\",le=\"15\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("nfl_compute_task_duration_seconds_count{task_type=\"alpha\"} 4\n"), std::string::npos);
  EXPECT_NE(m.find("nfl_compute_task_duration_seconds_sum{task_type=\"alpha\"} 100\n"), std::string::npos);
  EXPECT_NE(m.find("nfl_compute_machine_heartbeat_age_seconds{machine=\"box-b\"} 232\n"), std::string::npos);
  EXPECT_NE(m.find("nfl_compute_machine_running_tasks{machine=\"box-a\"} 1\n"), std::string::npos);

  // box-b last beat before the 100 s of alpha, 12 s of beta and the 120 s pause.
  // A real text-format parser (python3-prometheus-client, see scripts/bootstrap.sh) must
  // accept the whole scrape and see the families with their types.
  const auto file = k.dir / "scrape.txt";
  std::ofstream(file) << m;
  const auto script = k.dir / "check.py";
  std::ofstream(script) << R"py(import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f.type for f in text_string_to_metric_families(open(sys.argv[1]).read())}
want = {"nfl_compute_tasks": "gauge", "nfl_compute_task_completions": "counter",
        "nfl_compute_task_duration_seconds": "histogram", "nfl_compute_rejected_completions": "counter",
        "nfl_compute_machine_heartbeat_age_seconds": "gauge"}
for name, kind in want.items():
    if fams.get(name) != kind:
        sys.exit("missing or mistyped: %s (%s)" % (name, fams.get(name)))
print(len(fams), "families")
)py";
  const auto cmd = "/usr/bin/python3 " + script.string() + " " + file.string() + " > " + (k.dir / "out.txt").string() +
                   " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::stringstream out;
  out << std::ifstream(k.dir / "out.txt").rdbuf();
  EXPECT_EQ(rc, 0) << out.str();

  // promtool (Debian `prometheus`) parses and lints the same scrape: no findings.
  auto promtool = test::promtool_check(m, k.dir.path());
  EXPECT_EQ(promtool.rc, 0) << promtool.output << "\n" << m;
}

std::string get_text(httplib::Client& c, const std::string& path) {
  auto r = c.Get(path.c_str());
  EXPECT_TRUE(r && r->status == 200) << path;
  return r ? r->body : std::string();
}

double sample(const std::string& scrape, const std::string& series) {
  auto m = test::samples_of(scrape);
  auto it = m.find(series);
  return it == m.end() ? -1 : it->second;
}

TEST_F(ServerTest, PassesOverEveryTaskAreCachedForTheTtl) {
  start("", [](ServerOptions& o) { o.aggregate_ttl = std::chrono::hours(1); });
  const std::string list_calls = "nfl_compute_store_call_duration_seconds_count{op=\"list\"}";
  get_json("/api/status");
  auto first = get_text(*client, "/metrics");
  get_json("/api/status");
  auto second = get_text(*client, "/metrics");
  // Nine tasks: one page, listed once for all four requests.
  EXPECT_EQ(sample(first, list_calls), 1) << first;
  EXPECT_EQ(sample(second, list_calls), 1) << second;
  EXPECT_EQ(sample(second, "nfl_compute_store_call_duration_seconds_count{op=\"status\"}"), 4);

  // Counts come from store.status() on every request; the per-queue failures from the
  // cached pass, so within the TTL they still show the requeued task.
  ASSERT_TRUE(k.store->requeue(k.failed_id));
  auto s = get_json("/api/status");
  EXPECT_EQ(s["counts"]["failed"], 0);
  EXPECT_EQ(s["queues"]["cpu:parallel"]["failed"], 1);
  EXPECT_EQ(sample(get_text(*client, "/metrics"), "nfl_compute_tasks_by_status{status=\"failed\"}"), 0);
}

TEST_F(ServerTest, WithoutATtlEveryRequestSeesTheStore) {
  start("", [](ServerOptions& o) { o.aggregate_ttl = std::chrono::milliseconds(0); });
  EXPECT_EQ(get_json("/api/status")["queues"]["cpu:parallel"]["failed"], 1);
  ASSERT_TRUE(k.store->requeue(k.failed_id));
  auto s = get_json("/api/status");
  EXPECT_EQ(s["queues"]["cpu:parallel"]["failed"], 0);
  EXPECT_EQ(s["recent_failures"].size(), 0u);
  auto m = get_text(*client, "/metrics");
  EXPECT_EQ(sample(m, "nfl_compute_tasks{queue=\"cpu:parallel\",status=\"failed\"}"), 0);
  EXPECT_EQ(sample(m, "nfl_compute_tasks{queue=\"cpu:parallel\",status=\"pending\"}"), 1);
}

TEST_F(ServerTest, ScrapesReclaimExpiredLeasesAndCountThem) {
  start("");
  auto m = get_text(*client, "/metrics");
  EXPECT_EQ(sample(m, "nfl_compute_lease_reclaims_total"), 0) << m;
  // The running beta task holds a 600 s lease; past it, the scrape reclaims it (its one
  // attempt is used up, so it fails).
  k.clock->advance_ms(601'000);
  m = get_text(*client, "/metrics");
  EXPECT_EQ(sample(m, "nfl_compute_lease_reclaims_total"), 1) << m;
  EXPECT_EQ(sample(m, "nfl_compute_tasks_by_status{status=\"running\"}"), 0);
  EXPECT_EQ(k.store->get(k.running_id)->status, TaskStatus::failed);
  EXPECT_EQ(sample(get_text(*client, "/metrics"), "nfl_compute_lease_reclaims_total"), 1) << "nothing left to reclaim";
}

TEST_F(ServerTest, SyncFiguresAppearWhenASourceIsSet) {
  start("", [](ServerOptions& o) {
    o.sync_metrics = [] {
      return std::vector<SyncMachineMetrics>{{"box-a", 3, 1, 42.5}, {"box-b", 0, 0, std::nullopt}};
    };
  });
  auto m = get_text(*client, "/metrics");
  EXPECT_EQ(sample(m, "nfl_compute_sync_source_up"), 1);
  EXPECT_EQ(sample(m, "nfl_compute_sync_conflicts_total{machine=\"box-a\"}"), 3);
  EXPECT_EQ(sample(m, "nfl_compute_sync_skipped_files_total{machine=\"box-a\"}"), 1);
  EXPECT_EQ(sample(m, "nfl_compute_sync_conflicts_total{machine=\"box-b\"}"), 0);
  EXPECT_EQ(sample(m, "nfl_compute_sync_last_snapshot_age_seconds{machine=\"box-a\"}"), 42.5);
  EXPECT_EQ(m.find("nfl_compute_sync_last_snapshot_age_seconds{machine=\"box-b\"}"), std::string::npos)
      << "no snapshot yet: no sample";
  auto promtool = test::promtool_check(m, k.dir.path());
  EXPECT_EQ(promtool.rc, 0) << promtool.output << "\n" << m;
}

TEST_F(ServerTest, AFailingSyncSourceOnlyDropsTheSyncFamilies) {
  start("", [](ServerOptions& o) {
    o.sync_metrics = []() -> std::vector<SyncMachineMetrics> { throw std::runtime_error("snapshot folder gone"); };
  });
  auto m = get_text(*client, "/metrics");
  EXPECT_EQ(sample(m, "nfl_compute_sync_source_up"), 0);
  EXPECT_EQ(m.find("nfl_compute_sync_conflicts_total"), std::string::npos);
  EXPECT_EQ(sample(m, "nfl_compute_store_up"), 1);
}

TEST(Metrics, WithoutSyncSourceNoSyncFamilies) {
  test::KnownStore k;
  auto m = render_metrics(*k.store, k.clock->now_ms());
  EXPECT_EQ(m.find("nfl_compute_sync"), std::string::npos);
  EXPECT_EQ(sample(m, "nfl_compute_store_up"), 1);
}

TEST(Bind, NonLoopbackWithoutATokenIsRefused) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("192.168.1.5"));
  EXPECT_THROW(check_bind_allowed("0.0.0.0", ""), InputError);
  EXPECT_NO_THROW(check_bind_allowed("0.0.0.0", "tok"));
  EXPECT_NO_THROW(check_bind_allowed("127.0.0.1", ""));

  test::TempDir dir;
  std::ostringstream out;
  std::ostringstream err;
  const int rc = cli::run({"nfl-compute", "dashboard", "--host", "0.0.0.0", "--state-dir", dir.path().string()}, out,
                          err);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(err.str().find("DASHBOARD_TOKEN"), std::string::npos) << err.str();
}

TEST(Bind, TokensCompareExactly) {
  EXPECT_TRUE(tokens_equal("abc", "abc"));
  EXPECT_FALSE(tokens_equal("abc", "abd"));
  EXPECT_FALSE(tokens_equal("abc", "ab"));
  EXPECT_FALSE(tokens_equal("", "a"));
  EXPECT_TRUE(tokens_equal("", ""));
}

} // namespace
} // namespace nfl::monitor
