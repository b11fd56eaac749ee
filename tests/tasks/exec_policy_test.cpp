// The exec task type's security policy (docs/security.md): restricted environment,
// working directory inside DATA_DIR, EXEC_ALLOWED, no loader variables, bounded result.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <stop_token>

#include <gtest/gtest.h>

#include "support/redis_server.hpp"
#include "tasks/registry.hpp"
#include "util/error.hpp"

namespace nfl {
namespace {

struct ExecRun {
  test::TempDir dir;
  Config config;
  Task task;
  std::stop_source stop;

  explicit ExecRun(Json config_json) {
    task.id = "exec_policy";
    task.task_type = "exec";
    task.config = std::move(config_json);
  }
  Json run() {
    TaskRegistry registry;
    register_builtin_tasks(registry);
    const TaskType* type = registry.find("exec");
    type->validate_config(task.config);
    TaskContext ctx{.task = task,
                    .config = config,
                    .data_dir = dir.path(),
                    .artifact_dir = dir.path() / "artifacts" / task.id,
                    .checkpoint_dir = dir.path() / "checkpoints" / task.id,
                    .dependencies = {},
                    .stop = stop.get_token()};
    return type->run(ctx);
  }
};

const char* k_python = "/usr/bin/python3";

Json python(const std::string& code) { return Json{{"argv", {k_python, "-c", code}}}; }

std::string failure_of(ExecRun& r) {
  try {
    r.run();
  } catch (const TaskFailure& e) {
    return std::string(e.retryable() ? "retryable: " : "final: ") + e.what();
  } catch (const InputError& e) {
    return std::string("input: ") + e.what();
  }
  return "ran";
}

TEST(ExecPolicy, WorkerSecretsDoNotReachTheProgram) {
  ::setenv("REDIS_PASSWORD", "worker-secret-password", 1);
  ::setenv("DASHBOARD_TOKEN", "worker-secret-token-123", 1);
  ::setenv("SOME_CLOUD_KEY", "worker-secret-key", 1);
  ExecRun r(python("import os, json; print(json.dumps(dict(os.environ)))"));
  r.task.config["env"] = {{"MODEL_SEED", "7"}, {"NFL_TASK_ID", "spoofed"}};
  const Json env = r.run();
  ::unsetenv("REDIS_PASSWORD");
  ::unsetenv("DASHBOARD_TOKEN");
  ::unsetenv("SOME_CLOUD_KEY");
  EXPECT_FALSE(env.contains("REDIS_PASSWORD"));
  EXPECT_FALSE(env.contains("DASHBOARD_TOKEN"));
  EXPECT_FALSE(env.contains("SOME_CLOUD_KEY"));
  EXPECT_EQ(env.value("MODEL_SEED", ""), "7");
  EXPECT_EQ(env.value("NFL_TASK_ID", ""), "exec_policy"); // the worker's value wins
  EXPECT_TRUE(env.contains("PATH"));
  for (const auto& [name, value] : env.items()) {
    static const std::set<std::string> k_allowed = {
        "PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME", "MODEL_SEED",
        "NFL_TASK_ID", "NFL_DATA_DIR", "NFL_ARTIFACT_DIR", "NFL_CHECKPOINT_DIR"};
    EXPECT_TRUE(k_allowed.contains(name)) << name << " leaked into the program's environment";
  }
}

TEST(ExecPolicy, LoaderVariablesAreRefused) {
  ExecRun r(Json{{"argv", {"true"}}, {"env", {{"LD_PRELOAD", "/tmp/evil.so"}}}});
  const auto e = failure_of(r);
  EXPECT_NE(e.find("config.env.LD_PRELOAD"), std::string::npos) << e;
}

TEST(ExecPolicy, RunsInItsArtifactFolderOrAFolderInsideDataDir) {
  // The result is the program's last output line when it is a JSON object.
  ExecRun r(python("import os, json; print(json.dumps({'cwd': os.getcwd()}))"));
  // weakly_: an artifact folder left empty is removed after the run.
  EXPECT_EQ(r.run().value("cwd", ""), std::filesystem::weakly_canonical(r.dir.path() / "artifacts" / "exec_policy").string());

  ExecRun sub(python("import os, json; print(json.dumps({'cwd': os.getcwd()}))"));
  std::filesystem::create_directories(sub.dir.path() / "work" / "here");
  sub.task.config["cwd"] = "work/here";
  EXPECT_EQ(sub.run().value("cwd", ""), std::filesystem::canonical(sub.dir.path() / "work" / "here").string());

  for (const char* bad : {"../outside", "/tmp", "a/../../b"}) {
    ExecRun escape(python("print(1)"));
    escape.task.config["cwd"] = bad;
    const auto e = failure_of(escape);
    EXPECT_NE(e.find("input: config.cwd"), std::string::npos) << bad << ": " << e;
  }

  // A symbolic link inside DATA_DIR that leads out of it is caught when the task runs.
  test::TempDir outside;
  ExecRun link(python("print(1)"));
  std::filesystem::create_directory_symlink(outside.path(), link.dir.path() / "elsewhere");
  link.task.config["cwd"] = "elsewhere";
  const auto e = failure_of(link);
  EXPECT_NE(e.find("final: exec: config.cwd 'elsewhere'"), std::string::npos) << e;
  EXPECT_NE(e.find("outside DATA_DIR"), std::string::npos) << e;
}

TEST(ExecPolicy, AllowListIsEnforcedOnTheResolvedProgram) {
  // `true` found on PATH (/bin/true or /usr/bin/true: the same file after symlinks on
  // merged-/usr systems) matches the allowed path.
  ExecRun by_name(Json{{"argv", {"true"}}});
  by_name.config.exec_allowed = {std::filesystem::canonical("/bin/true").string()};
  EXPECT_EQ(by_name.run(), Json::object());

  ExecRun other(Json{{"argv", {"/bin/echo", "{}"}}});
  other.config.exec_allowed = {k_python};
  auto e = failure_of(other);
  EXPECT_NE(e.find("final: exec: program '/bin/echo'"), std::string::npos) << e;
  EXPECT_NE(e.find("is not in EXEC_ALLOWED"), std::string::npos) << e;

  ExecRun missing(Json{{"argv", {"no-such-program-xyz"}}});
  missing.config.exec_allowed = {k_python};
  e = failure_of(missing);
  EXPECT_NE(e.find("final: exec: program 'no-such-program-xyz' not found"), std::string::npos) << e;
}

TEST(ExecPolicy, ProductionWithoutAllowListDisablesExec) {
  ExecRun r(Json{{"argv", {"true"}}});
  r.config.environment = "production";
  const auto e = failure_of(r);
  EXPECT_NE(e.find("final: exec: disabled on this worker"), std::string::npos) << e;
  EXPECT_NE(e.find("EXEC_ALLOWED"), std::string::npos) << e;

  ExecRun allowed(Json{{"argv", {"/bin/true"}}});
  allowed.config.environment = "production";
  allowed.config.exec_allowed = {"/bin/true"};
  EXPECT_EQ(allowed.run(), Json::object());
}

TEST(ExecPolicy, DeeplyNestedResultLineIsRefused) {
  ExecRun r(python("print('[' * 5000 + ']' * 5000)"));
  const auto e = failure_of(r);
  EXPECT_NE(e.find("final: exec: the result line: JSON nested deeper than 64 levels"), std::string::npos) << e;
}

} // namespace
} // namespace nfl
