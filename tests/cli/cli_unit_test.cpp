// In-process checks of the CLI's pure parts: the seed's flag aliases, the status
// rendering at 80 columns, and the small formatters.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "cli/context.hpp"
#include "cli/status_view.hpp"
#include "cli/submit.hpp"
#include "util/error.hpp"

using namespace nfl;
using namespace nfl::cli;

namespace {

const std::vector<std::string> k_subs = {"submit", "status", "tasks", "hardware", "health", "config",
                                         "init",   "worker", "scoreboard", "dashboard"};

std::vector<std::string> tr(std::vector<std::string> args) {
  args.insert(args.begin(), "nfl-compute");
  auto out = translate_legacy_args(args, k_subs);
  out.erase(out.begin());
  return out;
}

using V = std::vector<std::string>;

} // namespace

TEST(LegacyArgs, SeedFlagFormsBecomeSubcommands) {
  EXPECT_EQ(tr({"--redis-mode", "--init"}), (V{"init", "--backend", "redis"}));
  EXPECT_EQ(tr({"--redis-mode", "--status"}), (V{"status", "--backend", "redis"}));
  EXPECT_EQ(tr({"--status", "--json"}), (V{"status", "--json"}));
  EXPECT_EQ(tr({"--machine-id", "box", "--hardware-profile", "gpu_high", "--scoreboard"}),
            (V{"scoreboard", "--machine-id", "box", "--hardware-profile", "gpu_high"}));
  // The seed's plain invocation runs the worker.
  EXPECT_EQ(tr({}), (V{"worker"}));
  EXPECT_EQ(tr({"--redis-mode", "--machine-id", "status"}), (V{"worker", "--backend", "redis", "--machine-id", "status"}));
  EXPECT_EQ(tr({"--concurrency", "2"}), (V{"worker", "--concurrency", "2"}));
  // Modern forms pass through untouched.
  EXPECT_EQ(tr({"status", "--json"}), (V{"status", "--json"}));
  EXPECT_EQ(tr({"--backend", "redis", "tasks", "show", "x"}), (V{"--backend", "redis", "tasks", "show", "x"}));
  EXPECT_EQ(tr({"--help"}), (V{"--help"}));
  EXPECT_EQ(tr({"--version"}), (V{"--version"}));
  // A mistyped subcommand is left for the parser to reject, not run as a worker.
  EXPECT_EQ(tr({"stauts"}), (V{"stauts"}));
}

TEST(CliRun, HelpVersionAndErrors) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run({"nfl-compute", "--version"}, out, err), 0);
  EXPECT_NE(out.str().find(NFL_VERSION), std::string::npos);
  out.str("");
  EXPECT_EQ(run({"nfl-compute", "--help"}, out, err), 0);
  EXPECT_NE(out.str().find("submit"), std::string::npos);
  err.str("");
  EXPECT_EQ(run({"nfl-compute", "stauts"}, out, err), 2);
  EXPECT_EQ(err.str().rfind("nfl-compute: error: ", 0), 0u) << err.str();
}

TEST(StatusView, DocumentAndTextAgreeAndFit80Columns) {
  StoreStatus s;
  for (auto q : k_queues) {
    s.queues[std::string(q)] = {};
  }
  s.queues["gpu:high"] = {4, 0};
  s.queues["cpu:sequential"] = {2, 1};
  s.counts = {{"pending", 6}, {"running", 1}, {"completed", 42}};
  Millis now = 1'700'000'000'000;
  MachineInfo live;
  live.machine_id = "a-very-long-machine-name-that-does-not-fit";
  live.profile = "cpu_x86";
  live.queues = {"cpu:sequential", "data:pipeline", "analysis:standard"};
  live.last_seen_ms = now - 3'000;
  live.live = true;
  live.tasks_done = 17;
  live.cpu_hours = 1.25;
  MachineInfo stale = live;
  stale.machine_id = "old";
  stale.live = false;
  stale.last_seen_ms = now - 3'600'000;
  stale.queues = {"gpu:high"};
  s.machines = {live, stale};
  Task t;
  t.id = "monte_carlo_0123456789abcdef0123";
  t.task_type = "monte_carlo";
  t.queue = "cpu:sequential";
  t.machine_id = live.machine_id;
  t.attempts = 2;
  t.max_attempts = 3;
  t.started_at_ms = now - 185'000;
  t.progress = 50;
  t.progress_message = "simulating 10000 seasons with a rather long progress message attached";
  s.running = {t};
  s.completed_last_5m = 3;
  s.completed_last_1h = 40;

  auto doc = status_document(s, {{"cpu:sequential", 1}}, "sqlite:/tmp/x.db", now);
  EXPECT_EQ(doc["queues"]["gpu:high"]["pending"], 4);
  EXPECT_EQ(doc["queues"]["cpu:sequential"]["failed"], 1);
  EXPECT_EQ(doc["counts"]["blocked"], 0); // every status present
  // gpu:high is served only by a stale machine: infeasible.
  ASSERT_EQ(doc["infeasible"].size(), 1u);
  EXPECT_EQ(doc["infeasible"][0]["queue"], "gpu:high");
  EXPECT_EQ(doc["running"][0]["elapsed_s"], 185);
  EXPECT_EQ(doc["machines"][1]["state"], "stale");

  auto text = render_status(doc, false);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_LE(line.size(), 80u) << line;
  }
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("3m05s"), std::string::npos) << text;
  EXPECT_NE(text.find("[######------]  50%"), std::string::npos) << text;
  EXPECT_NE(text.find("2/3"), std::string::npos);
  EXPECT_NE(text.find("3s ago"), std::string::npos);
  EXPECT_NE(text.find("stale"), std::string::npos);
  EXPECT_NE(text.find("! gpu:high: 4 task(s) wait; no live machine"), std::string::npos) << text;
  EXPECT_NE(render_status(doc, true).find("\x1b["), std::string::npos);
}

TEST(CliHelpers, Formatters) {
  EXPECT_EQ(split_list({"a,b", " c ", "", "d,,e"}), (V{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(format_duration(42'000), "42s");
  EXPECT_EQ(format_duration(185'000), "3m05s");
  EXPECT_EQ(format_duration(7'620'000), "2h07m");
  EXPECT_EQ(format_duration(-5), "0s");
  EXPECT_EQ(progress_bar(0, 4), "[----]");
  EXPECT_EQ(progress_bar(100, 4), "[####]");
  EXPECT_EQ(progress_bar(250, 4), "[####]");
}

TEST(CliIntake, JsonLinesNamesTheLine) {
  auto tasks = parse_jsonl_tasks("{\"task_type\":\"noop\"}\n\n{\"task_type\":\"etl\",\"priority\":\"low\"}\n", "t.jsonl",
                                 1'700'000'000'000);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[1].queue, "data:pipeline");
  try {
    parse_jsonl_tasks("{\"task_type\":\"noop\"}\n{\"task_type\":\"noop\",\"priority\":\"urgent\"}\n", "t.jsonl", 0);
    FAIL() << "accepted a bad priority";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("t.jsonl:2: ", 0), 0u) << e.what();
  }
  EXPECT_THROW(parse_jsonl_tasks("\n\n", "empty.jsonl", 0), InputError);
}

TEST(CliIntake, StandardPipelineFollowsDocsPipeline) {
  auto tasks = standard_pipeline(std::nullopt, std::nullopt, 1'700'000'000'000);
  ASSERT_EQ(tasks.size(), 9u);
  std::map<std::string, Task> by_type;
  for (const auto& t : tasks) {
    by_type[t.task_type] = t;
  }
  EXPECT_TRUE(by_type["ingestion"].depends_on.empty());
  EXPECT_EQ(by_type["calibration"].depends_on, (V{"ingestion_latest", "elo_latest", "state_space_latest"}));
  EXPECT_EQ(by_type["reporting"].depends_on.size(), 8u);
  // Every dependency appears earlier in the batch, so one add() takes it.
  std::set<std::string> seen;
  for (const auto& t : tasks) {
    for (const auto& d : t.depends_on) {
      EXPECT_TRUE(seen.contains(d)) << t.id << " -> " << d;
    }
    seen.insert(t.id);
  }
}
