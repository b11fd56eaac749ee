#include <gtest/gtest.h>

#include "model/task.hpp"
#include "util/error.hpp"

using namespace nfl;

namespace {
Task routed(Json j) {
  Task t = task_from_json(j);
  normalise(t, 1'700'000'000'000);
  return t;
}
} // namespace

TEST(TaskRouting, FollowsTheSeedRules) {
  EXPECT_EQ(routed({{"task_type", "x"}, {"requires_gpu", true}, {"min_gpu_memory", 12}}).queue, "gpu:high");
  EXPECT_EQ(routed({{"task_type", "x"}, {"requires_gpu", true}, {"min_gpu_memory", 8}}).queue, "gpu:standard");
  EXPECT_EQ(routed({{"task_type", "feature_engineering"}}).queue, "cpu:parallel");
  EXPECT_EQ(routed({{"task_type", "data_processing"}}).queue, "cpu:parallel");
  EXPECT_EQ(routed({{"task_type", "analysis"}}).queue, "cpu:sequential");
  EXPECT_EQ(routed({{"task_type", "reporting"}}).queue, "cpu:sequential");
  EXPECT_EQ(routed({{"task_type", "ingestion"}}).queue, "data:pipeline");
  EXPECT_EQ(routed({{"task_type", "etl"}}).queue, "data:pipeline");
  EXPECT_EQ(routed({{"task_type", "something_else"}}).queue, "analysis:standard");
  EXPECT_EQ(routed({{"task_type", "ingestion"}, {"queue", "cpu:parallel"}}).queue, "cpu:parallel");
}

TEST(TaskJson, FillsSeedDefaultsAndKeepsUnknownFields) {
  Task t = routed({{"task_type", "elo"}, {"custom_field", {1, 2}}});
  EXPECT_EQ(t.priority, Priority::medium);
  EXPECT_EQ(t.max_attempts, 3);
  EXPECT_EQ(t.id.rfind("elo_", 0), 0u);
  EXPECT_EQ(t.id.size(), 4u + 16u);
  EXPECT_FALSE(t.created_at.empty());
  Json back = task_to_json(t);
  EXPECT_EQ(back["custom_field"], Json({1, 2}));
  Task again = task_from_json(back);
  EXPECT_EQ(again.id, t.id);
  EXPECT_EQ(task_to_json(again), back);
}

TEST(TaskJson, RejectsBadFieldsNamingThem) {
  auto message = [](Json j) {
    try {
      routed(j);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message({{"task_type", "x"}, {"priority", "urgent"}}).find("priority"), std::string::npos);
  EXPECT_NE(message({{"task_type", "x"}, {"min_memory", -1}}).find("min_memory"), std::string::npos);
  EXPECT_NE(message({{"task_type", "x"}, {"config", "str"}}).find("config"), std::string::npos);
  EXPECT_NE(message({{"task_type", "x"}, {"id", "../etc/passwd"}}).find("'id'"), std::string::npos);
  EXPECT_NE(message({{"task_type", "x"}, {"queue", "gpu:mega"}}).find("queue"), std::string::npos);
  EXPECT_NE(message({{"task_type", "x"}, {"id", "a"}, {"depends_on", {"a"}}}).find("itself"), std::string::npos);
  EXPECT_NE(message({{"name", "no type"}}).find("task_type"), std::string::npos);
  std::string big(k_max_config_bytes, 'x');
  EXPECT_NE(message({{"task_type", "x"}, {"config", {{"blob", big}}}}).find("1 MiB"), std::string::npos);
}

TEST(TaskCache, KeyDependsOnTypeAndCanonicalConfig) {
  Task a = routed({{"task_type", "elo"}, {"config", {{"k", 20}, {"hfa", 65}}}});
  Task b = routed({{"task_type", "elo"}, {"config", {{"hfa", 65}, {"k", 20}}}});
  Task c = routed({{"task_type", "elo"}, {"config", {{"hfa", 65}, {"k", 21}}}});
  EXPECT_EQ(cache_key(a), cache_key(b));
  EXPECT_NE(cache_key(a), cache_key(c));
}
