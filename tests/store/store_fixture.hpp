#pragma once
// The backend-parametrized fixture shared by the conformance suites
// (conformance_test.cpp, sync_conformance_test.cpp): each test runs once per backend
// through the TaskStore interface only, on a ManualClock.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "store/store_factory.hpp"
#include "support/redis_server.hpp"

namespace nfl::test {

inline constexpr Millis k_lease_ms = 30'000;

inline Task make_task(const std::string& id, const std::string& queue = "analysis:standard",
                      Priority priority = Priority::medium, Json config = Json::object(),
                      std::vector<std::string> depends_on = {}, const std::string& type = "unit_test") {
  Task t;
  t.id = id;
  t.task_type = type;
  t.queue = queue;
  t.priority = priority;
  // A distinct config per task by default, so that result caching only joins tasks
  // that a test makes identical on purpose.
  t.config = (config.is_null() || config.empty()) ? Json{{"task", id}} : std::move(config);
  t.depends_on = std::move(depends_on);
  normalise(t, 1'700'000'000'000);
  return t;
}

inline ClaimRequest request(std::vector<std::string> queues = {"analysis:standard"}, std::string machine = "m1",
                            Millis lease_ms = k_lease_ms) {
  return ClaimRequest{std::move(queues), std::move(machine), lease_ms};
}

// Parameter: "sqlite" or "redis". Each test gets its own database file / key prefix.
class StoreFixture : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    m_prefix = "t" + std::to_string(++counter) + ":";
    m_clock = std::make_shared<ManualClock>();
  }

  StoreOptions options() const {
    StoreOptions o;
    o.clock = m_clock;
    o.enable_caching = true;
    o.machine_ttl_ms = 60'000;
    o.retry_base_ms = 1'000;
    o.retry_max_ms = 300'000;
    return o;
  }

  // Another connection to the same store (another worker); `suffix` picks a separate store.
  std::unique_ptr<TaskStore> open(StoreOptions o, const std::string& suffix = "") {
    if (GetParam() == "sqlite") {
      return make_sqlite_store(m_dir.path() / ("store" + suffix) / "tasks.db", std::move(o));
    }
    RedisOptions r;
    r.host = "127.0.0.1";
    r.port = shared_redis().port();
    r.key_prefix = m_prefix + suffix + (suffix.empty() ? "" : ":");
    return make_redis_store(r, std::move(o));
  }
  std::unique_ptr<TaskStore> open() { return open(options()); }

  std::vector<AddOutcome> add(TaskStore& store, std::vector<Task> tasks) { return store.add(tasks); }
  AddOutcome add(TaskStore& store, Task task) { return add(store, std::vector<Task>{std::move(task)}).at(0); }

  std::string m_prefix;
  std::shared_ptr<ManualClock> m_clock;
  TempDir m_dir;
};

inline std::string claim_id(TaskStore& store, const ClaimRequest& req = request()) {
  auto lease = store.claim(req);
  return lease ? lease->task.id : std::string();
}

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; }

} // namespace nfl::test
