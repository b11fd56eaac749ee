// The merge is a join: commutative, associative, idempotent. Checked on random records
// (the property the whole sync rests on), plus the rules users see.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "sync/record.hpp"

namespace nfl::sync {
namespace {

std::string published(const Record& r) {
  std::string out = r.id + "|" + r.user_version.to_string() + "|" + r.version.to_string() + "|" + r.based_on.to_string() +
                    "|" + r.origin + "|" + r.state + "|";
  for (const auto& c : r.completions) {
    out += c.at.to_string() + "/" + c.machine_id + "/" + c.state + ";";
  }
  return out;
}

Record random_record(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> small(0, 4);
  const char* machines[] = {"alpha", "beta", "gamma"};
  const char* states[] = {R"({"status":"pending"})", R"({"status":"running"})", R"({"status":"failed"})",
                          R"({"status":"cancelled"})"};
  Record r;
  r.id = "task_1";
  r.user_version = Hlc{1000 + small(rng), static_cast<std::uint32_t>(small(rng))};
  r.version = Hlc{std::max<Millis>(r.user_version.wall_ms, 1000 + small(rng) * 2), static_cast<std::uint32_t>(small(rng))};
  r.based_on = Hlc{r.version.wall_ms - small(rng), 0};
  r.origin = machines[small(rng) % 3];
  r.state = states[small(rng) % 4];
  r.digest = state_digest(r.state);
  int completions = small(rng) % 3;
  for (int i = 0; i < completions; ++i) {
    Completion c{Hlc{2000 + small(rng), 0}, machines[small(rng) % 3], R"({"status":"completed","by":")" + std::to_string(i) + "\"}", 0};
    c.digest = state_digest(c.state);
    auto key = [](const Completion& x) { return std::tie(x.at, x.machine_id, x.state); };
    auto pos = std::lower_bound(r.completions.begin(), r.completions.end(), c,
                                [&](const Completion& a, const Completion& b) { return key(a) < key(b); });
    if (pos == r.completions.end() || key(*pos) != key(c)) {
      r.completions.insert(pos, c);
    }
  }
  return r;
}

Record joined(Record a, const Record& b) {
  merge_into(a, b);
  return a;
}

TEST(SyncRecord, JoinIsCommutativeAssociativeAndIdempotentOnRandomRecords) {
  std::mt19937_64 rng(20261128);
  for (int trial = 0; trial < 5000; ++trial) {
    Record a = random_record(rng);
    Record b = random_record(rng);
    Record c = random_record(rng);
    ASSERT_EQ(published(joined(a, b)), published(joined(b, a))) << "trial " << trial;
    ASSERT_EQ(published(joined(joined(a, b), c)), published(joined(a, joined(b, c)))) << "trial " << trial;
    ASSERT_EQ(published(joined(a, a)), published(a));
    Record ab = joined(a, b);
    EXPECT_FALSE(merge_into(ab, b).changed) << "merging the same record twice changes nothing";
  }
}

TEST(SyncRecord, CompletedStaysCompletedAndTheEarliestCompletionIsCanonical) {
  Record running;
  running.id = "t";
  running.user_version = Hlc{10, 0};
  running.version = Hlc{500, 0}; // a later worker change than either completion
  running.origin = "gamma";
  running.state = R"({"status":"running"})";
  running.digest = state_digest(running.state);

  Record first = running;
  first.version = Hlc{100, 0};
  first.completions = {{Hlc{100, 0}, "beta", R"({"status":"completed","machine_id":"beta"})", 0}};
  first.completions[0].digest = state_digest(first.completions[0].state);
  Record second = running;
  second.version = Hlc{200, 0};
  second.completions = {{Hlc{200, 0}, "alpha", R"({"status":"completed","machine_id":"alpha"})", 0}};
  second.completions[0].digest = state_digest(second.completions[0].state);

  Record merged = running;
  auto out1 = merge_into(merged, second);
  EXPECT_EQ(out1.new_duplicates, 0u);
  auto out2 = merge_into(merged, first);
  EXPECT_EQ(out2.new_duplicates, 1u);
  EXPECT_TRUE(is_completed(merged));
  EXPECT_EQ(effective_state(merged), first.completions[0].state);
  EXPECT_EQ(duplicate_count(merged), 1u);
  EXPECT_EQ(merged.completions.back().machine_id, "alpha") << "the second completion is kept, not lost";
}

TEST(SyncRecord, UserActionBeatsLaterWorkerChangeMadeWithoutKnowingIt) {
  Record cancel;
  cancel.id = "t";
  cancel.user_version = Hlc{300, 0};
  cancel.version = Hlc{300, 0};
  cancel.based_on = Hlc{100, 0};
  cancel.origin = "alpha";
  cancel.state = R"({"status":"cancelled"})";
  cancel.digest = state_digest(cancel.state);
  Record progress;
  progress.id = "t";
  progress.user_version = Hlc{100, 0}; // the submit it knew of
  progress.version = Hlc{900, 0};      // clock far ahead
  progress.based_on = Hlc{100, 0};
  progress.origin = "beta";
  progress.state = R"({"status":"running","progress":50})";
  progress.digest = state_digest(progress.state);

  Record a = cancel;
  auto out = merge_into(a, progress);
  EXPECT_EQ(a.state, cancel.state);
  EXPECT_TRUE(out.conflict) << "two edits based on the same version, different states";
  Record b = progress;
  merge_into(b, cancel);
  EXPECT_EQ(b.state, cancel.state);
}

TEST(SyncRecord, SuccessorIsNotAConflict) {
  Record v1;
  v1.id = "t";
  v1.version = Hlc{100, 0};
  v1.origin = "alpha";
  v1.state = R"({"status":"pending"})";
  v1.digest = state_digest(v1.state);
  Record v2 = v1;
  v2.version = Hlc{200, 0};
  v2.based_on = Hlc{100, 0};
  v2.origin = "beta";
  v2.state = R"({"status":"running"})";
  v2.digest = state_digest(v2.state);
  auto out = merge_into(v1, v2);
  EXPECT_TRUE(out.changed);
  EXPECT_FALSE(out.conflict);
  EXPECT_EQ(v1.state, v2.state);
}

TEST(SyncRecord, StateJsonLeavesOutLocalOnlyFields) {
  Task t;
  t.id = "x";
  t.task_type = "noop";
  t.lease_expires_ms = 123;
  t.not_before_ms = 456;
  std::string s = task_state_json(t);
  EXPECT_EQ(s.find("lease_expires_ms"), std::string::npos);
  EXPECT_EQ(s.find("not_before_ms"), std::string::npos);
  Task u = t;
  u.lease_expires_ms = 999;
  EXPECT_EQ(state_digest(task_state_json(u)), state_digest(s));
  u.attempts = 2;
  EXPECT_NE(state_digest(task_state_json(u)), state_digest(s));
}

TEST(SyncHlc, TicksPastEverythingSeenEvenWhenTheWallClockLags) {
  auto clock = std::make_shared<ManualClock>(1000);
  HybridClock hlc(clock);
  Hlc a = hlc.tick();
  Hlc b = hlc.tick();
  EXPECT_LT(a, b);
  hlc.observe(Hlc{600'000, 7}); // a machine ten minutes ahead
  Hlc c = hlc.tick();
  EXPECT_GT(c, (Hlc{600'000, 7}));
  clock->set_ms(700'000);
  EXPECT_EQ(hlc.tick(), (Hlc{700'000, 0}));
}

} // namespace
} // namespace nfl::sync
