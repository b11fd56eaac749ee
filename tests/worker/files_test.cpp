// The result log (group-committed JSON Lines) and the spool.
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/redis_server.hpp"
#include "util/fs.hpp"
#include "worker/result_log.hpp"
#include "worker/spool.hpp"

namespace nfl {
namespace {

Json record(const std::string& id, Millis at) {
  return {{"task_id", id}, {"finished_at_ms", at}, {"result", {{"v", id}}}};
}

TEST(ResultLog, ConcurrentAppendsAreAllFoundInTheirMonth) {
  test::TempDir dir;
  const Millis nov = 1'764'000'000'000; // 2025-11-24
  {
    ResultLog log(dir.path(), "m1");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          log.append(record("task_" + std::to_string(t) + "_" + std::to_string(i), nov + i));
        }
      });
    }
    for (auto& th : threads) {
      th.join();
    }
  }
  auto month = result_month_dir(dir.path(), nov);
  EXPECT_EQ(month, dir.path() / "results" / "year=2025" / "month=11");
  int lines = 0;
  for (const auto& e : std::filesystem::directory_iterator(month)) {
    std::ifstream in(e.path());
    std::string line;
    while (std::getline(in, line)) {
      ++lines;
    }
  }
  EXPECT_EQ(lines, 200);
  auto rec = find_result_record(dir.path(), "task_3_49");
  ASSERT_TRUE(rec);
  EXPECT_EQ((*rec)["result"]["v"], "task_3_49");
  EXPECT_TRUE(find_result_record(dir.path(), "task_0_0", nov));
  EXPECT_FALSE(find_result_record(dir.path(), "task_9_9"));
  EXPECT_FALSE(find_result_record(dir.path(), "../etc"));
}

TEST(ResultLog, TornLastLineIsSkipped) {
  test::TempDir dir;
  const Millis at = 1'764'000'000'000;
  {
    ResultLog log(dir.path(), "m1");
    log.append(record("kept", at));
  }
  auto month = result_month_dir(dir.path(), at);
  auto segment = std::filesystem::directory_iterator(month)->path();
  append_file_durable(segment, "{\"task_id\":\"torn\",\"finished_at_ms\":1764000000000,\"res");
  EXPECT_TRUE(find_result_record(dir.path(), "kept"));
  EXPECT_FALSE(find_result_record(dir.path(), "torn"));
}

TEST(ResultLog, FindsOneFilePerTaskLayoutToo) {
  test::TempDir dir;
  const Millis at = 1'764'000'000'000;
  write_file_atomic(result_month_dir(dir.path(), at) / "single_1.json", record("single_1", at).dump());
  EXPECT_TRUE(find_result_record(dir.path(), "single_1"));
}

TEST(Spool, UndeliveredEntriesOfADeadProcessAreAdopted) {
  test::TempDir dir;
  // A spool left by a process that died: two entries, one acknowledged, a torn tail.
  append_file_durable(dir / "spool" / "m1_999_abc.jsonl",
                      "{\"key\":\"a:1\",\"id\":\"a\"}\n{\"key\":\"b:1\",\"id\":\"b\"}\n{\"done\":\"a:1\"}\n{\"key\":\"c");
  Spool spool(dir / "spool", "m1");
  auto adopted = spool.adopt_orphans();
  ASSERT_EQ(adopted.size(), 1u);
  EXPECT_EQ(adopted[0]["id"], "b");
  EXPECT_FALSE(std::filesystem::exists(dir / "spool" / "m1_999_abc.jsonl"));
  EXPECT_EQ(spool.outstanding(), 1u);
  // A second live spool does not adopt entries of this (locked) one.
  Spool other(dir / "spool", "m1");
  EXPECT_TRUE(other.adopt_orphans().empty());
  spool.done("b:1");
  EXPECT_EQ(spool.outstanding(), 0u);
}

TEST(Spool, EntriesSurviveUntilDone) {
  test::TempDir dir;
  std::filesystem::path file;
  {
    Spool spool(dir / "spool", "m1");
    spool.put({{"key", "x:1"}, {"id", "x"}});
    spool.put({{"key", "y:1"}, {"id", "y"}});
    spool.done("x:1");
    file = spool.file();
  } // "crash" with y undelivered: the file stays
  ASSERT_TRUE(std::filesystem::exists(file));
  Spool next(dir / "spool", "m1");
  auto adopted = next.adopt_orphans();
  ASSERT_EQ(adopted.size(), 1u);
  EXPECT_EQ(adopted[0]["id"], "y");
}

} // namespace
} // namespace nfl
