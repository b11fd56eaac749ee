// Snapshot files: round trip, and every way a synced file arrives damaged is refused
// whole (never half-merged), with a reason a person can act on.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "support/redis_server.hpp"
#include "sync/snapshot.hpp"
#include "util/fs.hpp"

namespace nfl::sync {
namespace {

Record make_record(const std::string& id, int n_completions) {
  Record r;
  r.id = id;
  r.user_version = Hlc{1000, 1};
  r.version = Hlc{2000, 2};
  r.based_on = Hlc{1500, 0};
  r.origin = "alpha";
  r.state = R"({"id":")" + id + R"(","status":"pending"})";
  for (int i = 0; i < n_completions; ++i) {
    r.completions.push_back({Hlc{3000 + i, 0}, "m" + std::to_string(i), R"({"status":"completed"})", 0});
  }
  r.local.applied_digest = 77;
  r.local.applied_status = 2;
  return r;
}

SnapshotHeader header(bool replica = false) {
  SnapshotHeader h;
  h.machine_id = "alpha";
  h.created = Hlc{5000, 3};
  h.created_unix_ms = 1'764'300'000'000;
  h.replica = replica;
  MachineEntry m;
  m.info.machine_id = "alpha";
  m.info.queues = {"cpu:parallel"};
  m.info.tasks_done = 12;
  m.stamp = Hlc{5000, 3};
  h.machines.push_back(m);
  return h;
}

std::string many_records(std::size_t n, bool replica = false) {
  SnapshotWriter w(header(replica));
  for (std::size_t i = 0; i < n; ++i) {
    w.add(make_record(fmt::format("task_{:08d}", i), static_cast<int>(i % 3)));
  }
  return w.finish_bytes();
}

TEST(Snapshot, RoundTripsRecordsHeaderAndMachines) {
  std::string bytes = many_records(5000); // several compressed blocks
  auto reader = SnapshotReader::from_bytes(bytes);
  EXPECT_EQ(reader.header().machine_id, "alpha");
  EXPECT_EQ(reader.header().record_count, 5000u);
  EXPECT_EQ(reader.header().created, (Hlc{5000, 3}));
  ASSERT_EQ(reader.header().machines.size(), 1u);
  EXPECT_EQ(reader.header().machines[0].info.tasks_done, 12);
  Record r;
  std::size_t n = 0;
  while (reader.next(r)) {
    Record want = make_record(fmt::format("task_{:08d}", n), static_cast<int>(n % 3));
    ASSERT_EQ(r.id, want.id);
    ASSERT_EQ(r.state, want.state);
    ASSERT_EQ(r.digest, state_digest(want.state));
    ASSERT_EQ(r.completions.size(), want.completions.size());
    ASSERT_EQ(r.version, want.version);
    EXPECT_EQ(r.local.applied_digest, 0u) << "local bookkeeping is never published";
    ++n;
  }
  EXPECT_EQ(n, 5000u);
}

TEST(Snapshot, ReplicaFilesKeepLocalBookkeeping) {
  auto reader = SnapshotReader::from_bytes(many_records(3, true));
  Record r;
  ASSERT_TRUE(reader.next(r));
  EXPECT_EQ(r.local.applied_digest, 77u);
  EXPECT_EQ(r.local.applied_status, 2);
}

TEST(Snapshot, TruncatedAtAnyPointIsRefused) {
  std::string bytes = many_records(2000);
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 9,
                          bytes.size() - 1}) {
    EXPECT_THROW(SnapshotReader::from_bytes(bytes.substr(0, cut)), SnapshotError) << "cut at " << cut;
  }
}

TEST(Snapshot, EveryFlippedBitIsDetected) {
  std::string bytes = many_records(50);
  // Every byte of a small file, one bit each: the checksum covers all of it.
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ (1 << (i % 8)));
    EXPECT_THROW(
        {
          auto reader = SnapshotReader::from_bytes(bad);
          Record r;
          while (reader.next(r)) {
          }
        },
        SnapshotError)
        << "byte " << i;
  }
}

TEST(Snapshot, ZeroFilledTailLikeAHalfDownloadedFileIsRefused) {
  std::string bytes = many_records(500);
  std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2), bytes.end(), '\0');
  try {
    SnapshotReader::from_bytes(bytes);
    FAIL() << "accepted a half-downloaded file";
  } catch (const SnapshotError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(Snapshot, SizeLimitIsEnforcedBeforeReading) {
  test::TempDir dir;
  auto path = dir / "alpha_1.snap";
  write_file_atomic(path, many_records(100));
  SnapshotLimits limits;
  limits.max_file_bytes = 100;
  try {
    SnapshotReader::open(path, limits);
    FAIL();
  } catch (const SnapshotError& e) {
    EXPECT_NE(std::string(e.what()).find("limit"), std::string::npos) << e.what();
  }
  EXPECT_THROW(SnapshotReader::open(dir / "gone_1.snap"), SnapshotError);
}

TEST(Snapshot, WriterRefusesOutOfOrderIds) {
  SnapshotWriter w(header());
  w.add(make_record("b", 0));
  EXPECT_ANY_THROW(w.add(make_record("a", 0)));
}

TEST(SnapshotName, RecognisesSyncToolConflictCopies) {
  auto plain = parse_snapshot_name("alpha_1764300000.snap");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->machine_id, "alpha");
  EXPECT_EQ(plain->unix_ts, 1764300000);
  EXPECT_FALSE(plain->conflict_copy);
  for (const char* name : {"alpha_1764300000 (1).snap", "alpha_1764300000 (Bob's conflicted copy 2026-11-28).snap",
                           "alpha_1764300000.sync-conflict-20261128-101500-ABCDEFG.snap"}) {
    auto n = parse_snapshot_name(name);
    ASSERT_TRUE(n) << name;
    EXPECT_EQ(n->machine_id, "alpha") << name;
    EXPECT_EQ(n->unix_ts, 1764300000) << name;
    EXPECT_TRUE(n->conflict_copy) << name;
  }
  auto underscored = parse_snapshot_name("gpu_desktop_1764300000.snap");
  ASSERT_TRUE(underscored);
  EXPECT_EQ(underscored->machine_id, "gpu_desktop");
  for (const char* name : {".alpha_1764300000.snap.1234abcd.tmp", "alpha_1764300000.snap.part", "alpha.snap",
                           "alpha_.snap", "_1764300000.snap", "alpha_12x.snap", "../x_1.snap", "notes.txt"}) {
    EXPECT_FALSE(parse_snapshot_name(name)) << name;
  }
  EXPECT_EQ(snapshot_file_name("alpha", 42), "alpha_42.snap");
}

} // namespace
} // namespace nfl::sync
