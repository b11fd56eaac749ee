// Limits on what enters a store: dependency cycles in a batch, JSON nesting.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/task.hpp"
#include "util/error.hpp"
#include "util/json_limits.hpp"

namespace nfl {
namespace {

Task task(const std::string& id, std::vector<std::string> deps = {}) {
  Task t;
  t.id = id;
  t.task_type = "noop";
  t.depends_on = std::move(deps);
  normalise(t, 0);
  return t;
}

std::string cycle_error(const std::vector<Task>& batch) {
  try {
    check_no_dependency_cycle(batch);
  } catch (const InputError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(DependencyCycle, AcyclicBatchesPass) {
  EXPECT_EQ(cycle_error({}), "accepted");
  EXPECT_EQ(cycle_error({task("a"), task("b", {"a"}), task("c", {"a", "b"})}), "accepted");
  // Dependencies outside the batch are the store's business (it checks they exist).
  EXPECT_EQ(cycle_error({task("a", {"stored_1"}), task("b", {"a", "stored_2"})}), "accepted");
  // A diamond is not a cycle.
  EXPECT_EQ(cycle_error({task("d", {"b", "c"}), task("b", {"a"}), task("c", {"a"}), task("a")}), "accepted");
}

TEST(DependencyCycle, NamesTheCycle) {
  auto e = cycle_error({task("a", {"b"}), task("b", {"a"})});
  EXPECT_NE(e.find("dependency cycle a -> b -> a"), std::string::npos) << e;
  EXPECT_NE(e.find("nothing was added"), std::string::npos) << e;
  e = cycle_error({task("x"), task("p", {"x", "r"}), task("q", {"p"}), task("r", {"q"})});
  EXPECT_NE(e.find("p -> r -> q -> p"), std::string::npos) << e;
}

TEST(DependencyCycle, LongChainNeedsNoRecursion) {
  // 200000 tasks in one chain, then closed into a loop: found without deep recursion.
  std::vector<Task> batch;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    Task t;
    t.id = "t" + std::to_string(i);
    t.task_type = "noop";
    if (i > 0) {
      t.depends_on = {"t" + std::to_string(i - 1)};
    }
    batch.push_back(std::move(t));
  }
  EXPECT_EQ(cycle_error(batch), "accepted");
  batch.front().depends_on = {"t" + std::to_string(n - 1)};
  EXPECT_NE(cycle_error(batch).find("dependency cycle"), std::string::npos);
}

TEST(JsonLimits, DeepConfigIsRejectedByName) {
  Task t;
  t.task_type = "noop";
  Json deep = Json::object();
  for (std::size_t i = 0; i < k_max_json_depth + 1; ++i) {
    deep = Json{{"x", deep}};
  }
  t.config = deep;
  try {
    normalise(t, 0);
    FAIL() << "accepted a config nested " << json_depth(t.config) << " deep";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("task field 'config'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nested deeper than"), std::string::npos) << e.what();
  }
}

TEST(JsonLimits, BoundedParse) {
  EXPECT_EQ(json_depth(Json(1)), 0u);
  EXPECT_EQ(json_depth(Json::parse("[]")), 1u);
  EXPECT_EQ(json_depth(Json::parse(R"({"a":[1,{"b":[]}]})")), 4u);
  // Brackets inside strings do not count.
  EXPECT_EQ(json_text_depth(R"({"a":"[[[[\"[[["})", 100), 1u);
  EXPECT_EQ(parse_json_bounded(R"({"a":[1,2]})", "t")["a"][1], 2);
  // A million brackets: refused before nlohmann builds (and would recurse into) it.
  const std::string deep(1'000'000, '[');
  try {
    parse_json_bounded(deep, "task file line 3");
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "task file line 3: JSON nested deeper than 64 levels");
  }
  EXPECT_THROW(parse_json_bounded("{", "t"), Json::parse_error);
}

} // namespace
} // namespace nfl
