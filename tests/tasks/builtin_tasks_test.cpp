// The registry and the built-in task types, run in-process as the worker runs them.
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <thread>

#include <gtest/gtest.h>

#include "support/redis_server.hpp"
#include "tasks/registry.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl {
namespace {

TaskRegistry builtins() {
  TaskRegistry r;
  register_builtin_tasks(r);
  return r;
}

struct Harness {
  test::TempDir dir;
  Config config;
  Task task;
  std::stop_source stop;
  std::vector<std::pair<double, std::string>> progress;
  std::unique_ptr<TaskContext> ctx;

  Harness(const std::string& type, Json config_json) {
    task.id = type + "_test";
    task.task_type = type;
    task.config = std::move(config_json);
    ctx = std::make_unique<TaskContext>(TaskContext{.task = task,
                                                    .config = config,
                                                    .data_dir = dir.path(),
                                                    .artifact_dir = dir.path() / "artifacts" / task.id,
                                                    .checkpoint_dir = dir.path() / "checkpoints" / task.id,
                                                    .dependencies = {},
                                                    .stop = stop.get_token()});
    ctx->report_progress = [this](double p, const std::string& m) { progress.emplace_back(p, m); };
  }
  Json run() {
    auto registry = builtins();
    const TaskType* t = registry.find(task.task_type);
    if (!t) {
      throw std::runtime_error("type not registered");
    }
    t->validate_config(task.config);
    return t->run(*ctx);
  }
};

Json argv_config(std::vector<std::string> argv) { return Json{{"argv", argv}}; }

TEST(Registry, FindsBuiltinsAndRejectsDuplicates) {
  auto r = builtins();
  EXPECT_NE(r.find("noop"), nullptr);
  EXPECT_NE(r.find("sleep"), nullptr);
  EXPECT_NE(r.find("exec"), nullptr);
  EXPECT_EQ(r.find("nope"), nullptr);
  auto names = r.names();
  EXPECT_EQ(names, (std::vector<std::string>{"exec", "noop", "sleep"}));
  TaskType dup;
  dup.name = "noop";
  dup.run = [](TaskContext&) { return Json::object(); };
  EXPECT_THROW(r.add(dup), InternalError);
}

TEST(Noop, CompletesWithEmptyResult) {
  Harness h("noop", Json::object());
  EXPECT_EQ(h.run(), Json::object());
}

TEST(Sleep, ValidatesSeconds) {
  auto r = builtins();
  const auto* t = r.find("sleep");
  EXPECT_THROW(t->validate_config(Json::object()), InputError);
  try {
    t->validate_config(Json{{"seconds", "ten"}});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("config.seconds"), std::string::npos);
  }
  EXPECT_THROW(t->validate_config(Json{{"seconds", -1}}), InputError);
  EXPECT_NO_THROW(t->validate_config(Json{{"seconds", 0.5}}));
}

TEST(Sleep, ReportsRisingProgressAndFinishes) {
  Harness h("sleep", Json{{"seconds", 0.3}});
  auto start = std::chrono::steady_clock::now();
  auto result = h.run();
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(elapsed, 0.3);
  EXPECT_DOUBLE_EQ(result["slept_seconds"].get<double>(), 0.3);
  ASSERT_GE(h.progress.size(), 2u);
  for (std::size_t i = 1; i < h.progress.size(); ++i) {
    EXPECT_GE(h.progress[i].first, h.progress[i - 1].first);
  }
  EXPECT_DOUBLE_EQ(h.progress.back().first, 100.0);
}

TEST(Sleep, StopsAtOnceWhenAsked) {
  Harness h("sleep", Json{{"seconds", 600}});
  // Stop from inside the first progress report: no timing assumptions.
  h.ctx->report_progress = [&](double, const std::string&) { h.stop.request_stop(); };
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(h.run(), TaskStopped);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Exec, ValidatesConfigNamingTheField) {
  auto r = builtins();
  const auto* t = r.find("exec");
  auto message = [&](const Json& c) {
    try {
      t->validate_config(c);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(Json::object()).find("config.argv"), std::string::npos);
  EXPECT_NE(message(Json{{"argv", "echo hi"}}).find("config.argv"), std::string::npos);
  EXPECT_NE(message(Json{{"argv", Json::array()}}).find("config.argv"), std::string::npos);
  EXPECT_NE(message(Json{{"argv", {"echo", 3}}}).find("config.argv[1]"), std::string::npos);
  EXPECT_NE(message(Json{{"argv", {"echo"}}, {"env", {{"1BAD", "x"}}}}).find("config.env"), std::string::npos);
  EXPECT_NE(message(Json{{"argv", {"echo"}}, {"env", {{"OK", 1}}}}).find("config.env.OK"), std::string::npos);
  EXPECT_EQ(message(Json{{"argv", {"echo"}}, {"env", {{"OK", "1"}}}}), "no error");
}

TEST(Exec, SuccessTakesLastJsonLineReadsStdinAndReportsProgress) {
  // The script echoes the task id it read from stdin, so the result proves stdin.
  Harness h("exec", argv_config({"/usr/bin/python3", "-c",
                                 "import sys, json\n"
                                 "task = json.load(sys.stdin)\n"
                                 "print('progress 10 reading')\n"
                                 "print(json.dumps({'early': True}))\n"
                                 "print('progress 90 almost')\n"
                                 "print('some plain text')\n"
                                 "sys.stderr.write('a warning\\n')\n"
                                 "print(json.dumps({'id': task['id'], 'env': __import__('os').environ.get('EXTRA')}))\n"}));
  h.task.config["env"] = {{"EXTRA", "value with spaces"}};
  auto result = h.run();
  EXPECT_EQ(result, (Json{{"id", "exec_test"}, {"env", "value with spaces"}}));
  ASSERT_EQ(h.progress.size(), 2u);
  EXPECT_DOUBLE_EQ(h.progress[0].first, 10.0);
  EXPECT_EQ(h.progress[0].second, "reading");
  EXPECT_EQ(h.progress[1].second, "almost");
  EXPECT_GT(h.ctx->child_cpu_seconds, 0.0);
}

TEST(Exec, NonZeroExitFailsWithStderrTail) {
  Harness h("exec", argv_config({"sh", "-c", "echo first >&2; echo 'the real reason' >&2; exit 3"}));
  try {
    h.run();
    FAIL() << "expected TaskFailure";
  } catch (const TaskFailure& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("status 3"), std::string::npos) << what;
    EXPECT_NE(what.find("the real reason"), std::string::npos) << what;
    EXPECT_TRUE(e.retryable());
  }
}

TEST(Exec, MissingProgramIsAClearNonRetryableError) {
  Harness h("exec", argv_config({"/nonexistent/program-xyz", "arg"}));
  try {
    h.run();
    FAIL() << "expected TaskFailure";
  } catch (const TaskFailure& e) {
    EXPECT_NE(std::string(e.what()).find("'/nonexistent/program-xyz' not found"), std::string::npos) << e.what();
    EXPECT_FALSE(e.retryable());
  }
  Harness h2("exec", argv_config({"no-such-program-on-path-xyz"}));
  EXPECT_THROW(h2.run(), TaskFailure);
}

TEST(Exec, ShellMetacharactersAreNotInterpreted) {
  test::TempDir scratch;
  auto marker = scratch / "pwned";
  // Through a shell these would run `touch`; passed as argv they are plain bytes.
  std::vector<std::string> args = {"$(touch " + marker.string() + ")", "; touch " + marker.string(),
                                   "`touch " + marker.string() + "`", "| touch " + marker.string(), "*", "$HOME",
                                   "a'b\"c"};
  std::vector<std::string> argv = {"/usr/bin/python3", "-c", "import sys, json; print(json.dumps(sys.argv[1:]))"};
  argv.insert(argv.end(), args.begin(), args.end());
  Harness h("exec", argv_config(argv));
  auto result = h.run();
  EXPECT_EQ(result, Json(args));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(Exec, StopKillsTheWholeProcessGroup) {
  test::TempDir scratch;
  auto pidfile = scratch / "child.pid";
  // A grandchild sleeps in the background; stopping must end it too.
  Harness h("exec", argv_config({"sh", "-c",
                                 "sleep 300 & echo $! > " + pidfile.string() + "; echo 'progress 5 started'; wait"}));
  h.ctx->report_progress = [&](double, const std::string&) { h.stop.request_stop(); };
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(h.run(), TaskStopped);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  pid_t grandchild = std::stoi(read_file(pidfile));
  // The grandchild was in the group: SIGKILL was sent to it; wait for its exit event.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, grandchild, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    EXPECT_EQ(::poll(&p, 1, 5000), 1) << "the background grandchild is still running";
    ::close(pidfd);
  } else {
    EXPECT_EQ(errno, ESRCH);
  }
}

TEST(Exec, HugeOutputKeepsMemoryBounded) {
  long before_kb = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
  }();
  // 190 MB of output: a 100 MB line with no newline, 90 MB of short lines, then the result.
  Harness h("exec", argv_config({"sh", "-c",
                                 "head -c 100000000 /dev/zero; echo; "
                                 "yes 'line of output' | head -n 6000000; "
                                 "head -c 20000000 /dev/zero >&2; echo >&2; "
                                 "echo '{\"done\": true}'"}));
  auto result = h.run();
  EXPECT_EQ(result, (Json{{"done", true}}));
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  EXPECT_LT(u.ru_maxrss - before_kb, 64 * 1024) << "resident memory grew by " << (u.ru_maxrss - before_kb) << " KiB";
}

TEST(Exec, NoJsonLineGivesEmptyResult) {
  Harness h("exec", argv_config({"echo", "just text"}));
  EXPECT_EQ(h.run(), Json::object());
}

TEST(Exec, ProgramThatIgnoresStdinDoesNotHurtTheWorker) {
  // A large task JSON and a program that exits without reading it: EPIPE, not SIGPIPE.
  Harness h("exec", argv_config({"true"}));
  h.task.config["padding"] = std::string(900000, 'x');
  EXPECT_EQ(h.run(), Json::object());
}

TEST(Artifacts, WriteThenInputDir) {
  Harness producer("noop", Json::object());
  auto manifest = write_artifacts(*producer.ctx, {{"table.csv", "a,b\n1,2\n"}, {"summary.json", "{}"}});
  EXPECT_EQ(manifest["files"]["table.csv"]["size"], 8);
  EXPECT_TRUE(std::filesystem::exists(producer.ctx->artifact_dir / "manifest.json"));
  EXPECT_THROW(write_artifacts(*producer.ctx, {{"../escape", "x"}}), InputError);

  Harness consumer("noop", Json::object());
  consumer.ctx->data_dir = producer.dir.path();
  EXPECT_EQ(consumer.ctx->input_dir("noop_test"), producer.ctx->artifact_dir);
  EXPECT_THROW(consumer.ctx->input_dir("other_task"), WaitingForInput);
  // A file listed in the manifest but not (fully) synced yet: still waiting.
  std::filesystem::resize_file(producer.ctx->artifact_dir / "table.csv", 3);
  EXPECT_THROW(consumer.ctx->input_dir("noop_test"), WaitingForInput);
}

} // namespace
} // namespace nfl
