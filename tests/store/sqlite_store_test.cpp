// SQLite-only behaviour: several processes on one database file, WAL, the database
// directory created on open, wake-ups across processes. The shared semantics are in
// conformance_test.cpp.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <sqlite3.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "store/store_factory.hpp"
#include "support/redis_server.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

using namespace nfl;
using namespace std::chrono_literals;

namespace {

Task make_task(const std::string& id) {
  Task t;
  t.id = id;
  t.task_type = "unit_test";
  t.queue = "cpu:parallel";
  normalise(t, 1'700'000'000'000);
  return t;
}

ClaimRequest request(const std::string& machine) { return ClaimRequest{{"cpu:parallel"}, machine, 60'000}; }

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

// Forks a child that runs `body` and exits with its return code; the child never
// returns into gtest.
template <class F> pid_t spawn(F&& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int rc = 1;
    try {
      rc = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), e.what());
      rc = 3;
    }
    std::fflush(nullptr);
    ::_exit(rc);
  }
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(SqliteStore, SeveralProcessesClaimEveryTaskExactlyOnce) {
  constexpr int k_tasks = 600;
  constexpr int k_processes = 4;
  test::TempDir dir;
  auto db = dir / "state" / "tasks.db";
  {
    // Closed before fork(): an SQLite connection must not cross a fork.
    auto store = make_sqlite_store(db, {});
    std::vector<Task> batch;
    for (int i = 0; i < k_tasks; ++i) {
      batch.push_back(make_task("p" + std::to_string(i)));
    }
    store->add(batch);
  }

  // Children block on this pipe so that they all start claiming together.
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> children;
  for (int p = 0; p < k_processes; ++p) {
    auto out_path = dir / ("claims_" + std::to_string(p) + ".txt");
    children.push_back(spawn([&, p, out_path] {
      ::close(go[1]);
      char c;
      [[maybe_unused]] auto n = ::read(go[0], &c, 1); // returns at EOF: the parent closed its end
      auto store = make_sqlite_store(db, {});
      std::string claimed;
      while (auto lease = store->claim(request("proc-" + std::to_string(p)))) {
        claimed += lease->task.id + "\n";
        if (store->complete(lease->task.id, lease->token, {{"by", p}}, {}) != LeaseResult::ok) {
          return 4;
        }
      }
      append_file_durable(out_path, claimed);
      return 0;
    }));
  }
  ::close(go[0]);
  ::close(go[1]);
  for (pid_t pid : children) {
    EXPECT_EQ(wait_exit_code(pid), 0);
  }

  std::map<std::string, int> times_claimed;
  for (int p = 0; p < k_processes; ++p) {
    auto lines = read_lines(dir / ("claims_" + std::to_string(p) + ".txt"));
    std::printf("[ sqlite ] process %d claimed %zu tasks\n", p, lines.size());
    for (const auto& id : lines) {
      ++times_claimed[id];
    }
  }
  EXPECT_EQ(times_claimed.size(), static_cast<std::size_t>(k_tasks)); // none lost
  for (const auto& [id, n] : times_claimed) {
    EXPECT_EQ(n, 1) << id << " was claimed more than once";
  }
  auto store = make_sqlite_store(db, {});
  auto s = store->status();
  EXPECT_EQ(s.counts["completed"], k_tasks);
  EXPECT_EQ(s.counts["pending"], 0);
  EXPECT_EQ(s.rejected_completions, 0);
  std::int64_t done_by_machines = 0;
  for (const auto& m : store->machines()) {
    done_by_machines += m.tasks_done;
  }
  EXPECT_EQ(done_by_machines, k_tasks);
}

TEST(SqliteStore, ClaimWaitInAnotherProcessWakesOnAdd) {
  test::TempDir dir;
  auto db = dir / "tasks.db";
  make_sqlite_store(db, {}).reset(); // creates the schema before the child opens it
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  auto result_path = dir / "child.txt";
  pid_t child = spawn([&] {
    ::close(ready[0]);
    auto store = make_sqlite_store(db, {});
    [[maybe_unused]] auto n = ::write(ready[1], "r", 1);
    ::close(ready[1]);
    auto lease = store->claim_wait(request("waiter"), 20s);
    Millis returned = monotonic_ms();
    if (!lease) {
      return 5;
    }
    append_file_durable(result_path, lease->task.id + " " + std::to_string(returned) + "\n");
    return 0;
  });
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1); // the child has its store open
  ::close(ready[0]);
  // Not synchronisation (the child also finds a task added before it waits); the
  // pause makes it very likely that the cross-process wake-up path is exercised.
  std::this_thread::sleep_for(200ms);
  auto store = make_sqlite_store(db, {});
  Millis added = monotonic_ms();
  store->add(std::vector<Task>{make_task("wake")});
  ASSERT_EQ(wait_exit_code(child), 0);
  auto lines = read_lines(result_path);
  ASSERT_EQ(lines.size(), 1u);
  auto space = lines[0].find(' ');
  EXPECT_EQ(lines[0].substr(0, space), "wake");
  Millis pickup = std::stoll(lines[0].substr(space + 1)) - added;
  std::printf("[ sqlite ] another process picked the task up %lld ms after the add\n",
              static_cast<long long>(pickup));
  EXPECT_LT(pickup, 1'000);
}

TEST(SqliteStore, UsesWalAndCreatesTheDatabaseDirectory) {
  test::TempDir dir;
  auto db = dir / "a" / "b" / "c" / "tasks.db";
  ASSERT_FALSE(std::filesystem::exists(db.parent_path()));
  auto store = make_sqlite_store(db, {});
  EXPECT_TRUE(std::filesystem::exists(db));
  EXPECT_EQ(store->describe(), "sqlite:" + db.string());
  store->ping();

  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
}

TEST(SqliteStore, TasksSurviveReopening) {
  test::TempDir dir;
  auto db = dir / "tasks.db";
  auto clock = std::make_shared<ManualClock>();
  StoreOptions o;
  o.clock = clock;
  std::string token;
  {
    auto store = make_sqlite_store(db, o);
    store->add(std::vector<Task>{make_task("kept"), make_task("other")});
    auto lease = store->claim(request("m"));
    ASSERT_TRUE(lease);
    token = lease->token;
  }
  auto store = make_sqlite_store(db, o);
  EXPECT_EQ(store->get("kept")->status, TaskStatus::running);
  EXPECT_EQ(store->complete("kept", token, {{"v", 1}}, {}), LeaseResult::ok); // the token survives too
  EXPECT_EQ(store->get("kept")->result, (Json{{"v", 1}}));
  auto next = store->claim(request("m"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->task.id, "other");
}

TEST(SqliteStore, RejectsTasksThatWereNotNormalised) {
  test::TempDir dir;
  auto store = make_sqlite_store(dir / "tasks.db", {});
  Task t;
  t.task_type = "x";
  t.id = "ok_id";
  t.queue = "nowhere";
  EXPECT_THROW(store->add(std::vector<Task>{t}), InputError);
  t.queue = "cpu:parallel";
  t.id = "bad id";
  EXPECT_THROW(store->add(std::vector<Task>{t}), InputError);
  EXPECT_EQ(store->status().counts["pending"], 0);
}

} // namespace
