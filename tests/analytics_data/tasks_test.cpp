// The four task types run through their registered handlers, the way a worker runs
// them: artifacts under DATA_DIR/artifacts/<id>/, inputs found through depends_on.
#include <cstdio>
#include <gtest/gtest.h>

#include <chrono>

#include "analytics/analytics_tasks.hpp"
#include "analytics/data/games.hpp"
#include "support/redis_server.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/ids.hpp"

namespace nfl::analytics {
namespace {

using test::TempDir;

class DataTasks : public ::testing::Test {
protected:
  DataTasks() { register_data_tasks(m_registry); }

  Task make_task(const std::string& type, Json config, std::vector<std::string> deps = {}) {
    Task t;
    t.id = type + "_" + random_hex(16);
    t.task_type = type;
    t.config = std::move(config);
    t.depends_on = std::move(deps);
    return t;
  }

  // Runs `task` like the worker: validate, build the context, run; completed tasks
  // are remembered with their results so that later tasks can depend on them.
  Json run(Task& task) {
    const TaskType* type = m_registry.find(task.task_type);
    if (type == nullptr) {
      throw InternalError("not registered: " + task.task_type);
    }
    type->validate_config(task.config);
    TaskContext ctx{.task = task,
                    .config = m_config,
                    .data_dir = m_dir.path(),
                    .artifact_dir = m_dir.path() / "artifacts" / task.id,
                    .checkpoint_dir = m_dir.path() / "checkpoints" / task.id,
                    .dependencies = {},
                    .stop = {}};
    for (const auto& id : task.depends_on) {
      ctx.dependencies.emplace(id, m_done.at(id));
    }
    Json result = type->run(ctx);
    task.status = TaskStatus::completed;
    task.result = result;
    m_done[task.id] = task;
    return result;
  }

  TaskRegistry m_registry;
  Config m_config;
  TempDir m_dir;
  std::map<std::string, Task> m_done;
};

TEST_F(DataTasks, AllFourAreRegistered) {
  for (const char* name : {"ingestion", "feature_engineering", "elo", "state_space"}) {
    EXPECT_NE(m_registry.find(name), nullptr) << name;
  }
}

TEST_F(DataTasks, IngestionLoadsTheBundledFileAndIsIdempotent) {
  Task first = make_task("ingestion", Json::object());
  Json r1 = run(first);
  EXPECT_EQ(r1["games"], 7263);
  EXPECT_EQ(r1["played_games"], 7198);
  EXPECT_EQ(r1["rejects"], 0);
  EXPECT_EQ(r1["seasons_loaded"], 27);
  EXPECT_EQ(r1["first_season"], 1999);
  EXPECT_EQ(r1["last_season"], 2025);
  EXPECT_EQ(r1["seasons"]["2025"]["played"], 272 - 65);
  EXPECT_EQ(r1["source_sha256"], "1001c69e362c29f2c11ba4b0bde11279d694f02a9817f8d5e3ef7920a338541d");
  auto games = read_games_db(m_dir.path() / "artifacts" / first.id / "games.sqlite");
  EXPECT_EQ(games.size(), 7263U);
  EXPECT_EQ(read_file(m_dir.path() / "artifacts" / first.id / "rejects.csv"), "line,reason\n");

  Task second = make_task("ingestion", {{"path", bundled_games_csv().string()}});
  Json r2 = run(second);
  EXPECT_EQ(r1["artifacts"]["files"], r2["artifacts"]["files"]); // same sha256 and size
  // A re-run of the same task id replaces its artifacts with identical ones.
  Json r3 = run(first);
  EXPECT_EQ(r1["artifacts"]["files"], r3["artifacts"]["files"]);
}

TEST_F(DataTasks, IngestionReportsRejectsAndRejectsBadPaths) {
  // The bundled header and rows with two faults.
  std::string text = read_file(bundled_games_csv());
  auto recs = parse_csv(text);
  std::string csv = text.substr(0, text.find('\n') + 1);
  auto line_of = [&](std::size_t i) {
    std::string out;
    for (std::size_t f = 0; f < recs[i].fields.size(); ++f) {
      out += (f ? "," : "") + csv_field(recs[i].fields[f]);
    }
    return out + "\n";
  };
  csv += line_of(1);
  std::string bad = line_of(2);
  bad.replace(bad.find(",REG,"), 5, ",XYZ,");
  csv += bad;
  csv += line_of(3);
  write_file_atomic(m_dir / "mine.csv", csv);
  Task t = make_task("ingestion", {{"path", (m_dir / "mine.csv").string()}});
  Json r = run(t);
  EXPECT_EQ(r["games"], 2);
  EXPECT_EQ(r["rejects"], 1);
  EXPECT_EQ(r["first_rejects"][0]["line"], 3);
  std::string rejects = read_file(m_dir.path() / "artifacts" / t.id / "rejects.csv");
  EXPECT_NE(rejects.find("3,\"game_type: unknown 'XYZ'"), std::string::npos) << rejects;

  Task missing = make_task("ingestion", {{"path", (m_dir / "nope.csv").string()}});
  EXPECT_THROW(run(missing), InputError);
  Task typo = make_task("ingestion", {{"pth", "x"}});
  EXPECT_THROW(run(typo), InputError);
  Task wrong_type = make_task("ingestion", {{"path", 3}});
  EXPECT_THROW(run(wrong_type), InputError);
}

TEST_F(DataTasks, PipelineRunsEndToEnd) {
  Task ingest = make_task("ingestion", Json::object());
  run(ingest);
  auto started = std::chrono::steady_clock::now();
  Task features = make_task("feature_engineering", {{"window", 6}}, {ingest.id});
  Json rf = run(features);
  EXPECT_EQ(rf["games"], 7263);
  EXPECT_EQ(rf["with_market_probability"], 5234);
  Task elo = make_task("elo", Json::object(), {ingest.id, features.id});
  Json re = run(elo);
  EXPECT_LT(re["overall"]["market"]["brier"].get<double>(), re["overall"]["elo"]["brier"].get<double>());
  EXPECT_TRUE(re["per_season"].contains("2006"));
  Task ss = make_task("state_space", {{"weekly_sd", {0.5, 1.0}}, {"obs_sd", {13.0, 13.5}}, {"carryover", {0.7}}},
                      {ingest.id});
  Json rs = run(ss);
  EXPECT_EQ(rs["sweep"].size(), 4U);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("pipeline of four data tasks: %.2f s\n", seconds);

  // Every artifact listed in the manifests, with the header docs/pipeline.md names.
  auto header = [&](const Task& t, const std::string& file) {
    std::string text = read_file(m_dir.path() / "artifacts" / t.id / file);
    return text.substr(0, text.find('\n'));
  };
  EXPECT_EQ(header(features, "features.csv").rfind("game_id,season,week,", 0), 0U);
  EXPECT_NE(header(elo, "elo_games.csv").find("home_elo,away_elo"), std::string::npos);
  EXPECT_NE(header(elo, "elo_games.csv").find("market_p_home"), std::string::npos);
  EXPECT_EQ(header(elo, "elo_ratings.csv"), "team,season,week,rating");
  EXPECT_EQ(header(ss, "state_space_games.csv").rfind("game_id,", 0), 0U);
  EXPECT_TRUE(std::filesystem::exists(m_dir.path() / "artifacts" / ss.id / "state_space_ratings.csv"));
  for (const Task* t : {&features, &elo, &ss}) {
    EXPECT_TRUE(std::filesystem::exists(m_dir.path() / "artifacts" / t->id / "manifest.json"));
  }
}

TEST_F(DataTasks, MissingIngestionDependencyFailsAndAbsentArtifactsWait) {
  Task alone = make_task("elo", Json::object());
  try {
    run(alone);
    FAIL() << "expected TaskFailure";
  } catch (const TaskFailure& e) {
    EXPECT_FALSE(e.retryable());
    EXPECT_NE(std::string(e.what()).find("ingestion"), std::string::npos);
  }
  // A completed ingestion task whose artifacts have not arrived on this machine.
  Task remote = make_task("ingestion", Json::object());
  remote.status = TaskStatus::completed;
  m_done[remote.id] = remote;
  for (const char* type : {"feature_engineering", "elo", "state_space"}) {
    Task t = make_task(type, Json::object(), {remote.id});
    EXPECT_THROW(run(t), WaitingForInput) << type;
  }
}

} // namespace
} // namespace nfl::analytics
