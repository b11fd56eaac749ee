#pragma once
// A real SQLite store with known contents, shared by the monitor tests. The expected
// numbers in the tests are worked out by hand from what this file puts in.
#include <memory>
#include <string>

#include "model/task.hpp"
#include "store/store_factory.hpp"
#include "support/redis_server.hpp"
#include "util/clock.hpp"

namespace nfl::test {

class KnownStore {
public:
  KnownStore() : clock(std::make_shared<ManualClock>()) {
    StoreOptions options;
    options.clock = clock;
    options.enable_caching = false;
    store = make_sqlite_store(dir / "nfl-compute.db", options);
    fill();
  }

  TempDir dir;
  std::shared_ptr<ManualClock> clock;
  std::unique_ptr<TaskStore> store;
  std::string running_id;  // beta, on box-a, progress 40
  std::string running_token;
  std::string pending_id;  // beta, pending
  std::string failed_id;   // alpha, failed with k_error
  static constexpr const char* k_error = "boom: <script>alert(1)</script> column 'x' missing";

private:
  Task make(const std::string& id, const std::string& type, const std::string& queue) {
    Task t;
    t.id = id;
    t.name = "job " + id;
    t.task_type = type;
    t.queue = queue;
    t.config = {{"n", id}};
    t.max_attempts = 1;
    normalise(t, clock->now_ms());
    return t;
  }

  Lease claim(const std::string& machine, const std::string& queue) {
    auto lease = store->claim({{queue}, machine, 600'000});
    if (!lease) {
      throw std::runtime_error("nothing to claim in " + queue);
    }
    return *lease;
  }

  void fill() {
    MachineInfo a;
    a.machine_id = "box-a";
    a.profile = "gpu_high";
    a.queues = {"gpu:standard", "cpu:parallel"};
    a.hardware = {{"cpu_cores", 16}, {"memory_gib", 64}};
    MachineInfo b;
    b.machine_id = "box-b";
    b.profile = "cpu_x86";
    b.queues = {"cpu:parallel"};
    store->heartbeat(a);
    store->heartbeat(b);

    std::vector<Task> tasks;
    for (int i = 1; i <= 5; ++i) {
      tasks.push_back(make("alpha-" + std::to_string(i), "alpha", "cpu:parallel"));
    }
    for (int i = 1; i <= 4; ++i) {
      tasks.push_back(make("beta-" + std::to_string(i), "beta", "gpu:standard"));
    }
    store->add(tasks);

    // alpha: four completions on box-b taking 10, 20, 30, 40 s (1 CPU hour each), one failure.
    for (double wall : {40.0, 10.0, 30.0, 20.0}) {
      auto l = claim("box-b", "cpu:parallel");
      clock->advance_ms(static_cast<Millis>(wall * 1000));
      store->complete(l.task.id, l.token, Json{{"ok", true}}, {wall, 3600.0, 0.0});
    }
    auto f = claim("box-b", "cpu:parallel");
    failed_id = f.task.id;
    store->fail(f.task.id, f.token, k_error, false);

    // beta: two completions on box-a taking 5 and 7 s with half a GPU hour each, one running, one pending.
    for (double wall : {5.0, 7.0}) {
      auto l = claim("box-a", "gpu:standard");
      clock->advance_ms(static_cast<Millis>(wall * 1000));
      store->complete(l.task.id, l.token, Json{{"ok", true}}, {wall, 60.0, 1800.0});
    }
    auto r = claim("box-a", "gpu:standard");
    running_id = r.task.id;
    running_token = r.token;
    store->renew(r.task.id, r.token, 600'000, 40.0, "step 2 of 5");
    pending_id = store->list({TaskStatus::pending, std::nullopt, std::nullopt, 10, 0}).at(0).id;

    // box-b goes stale, box-a stays live.
    clock->advance_ms(120'000);
    store->heartbeat(a);
  }
};

} // namespace nfl::test
