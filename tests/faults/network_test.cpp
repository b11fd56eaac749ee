// A slow, flaky network between the workers and Redis: every byte delayed through a
// loopback proxy (the delay changing as the drain goes) and every connection cut
// at random moments. A cut can lose a reply whose command Redis applied (a claim or
// a completion): fencing and the workers' late-delivery check keep it exactly once.
#include <fmt/format.h>

#include "fault_harness.hpp"
#include "support/tcp_proxy.hpp"

namespace nfl::test::faults {
namespace {

using namespace std::chrono_literals;

TEST(Faults, SlowNetworkAndDroppedConnections) {
  RedisServer redis;
  TcpProxy proxy(redis.port(), 2ms);
  Rig rig("network_slow_and_dropped", Backend::redis, redis.port());
  rig.set_worker_redis_port(proxy.port());
  constexpr int k_tasks = 2000;
  auto ids = rig.submit("net", k_tasks, TaskMix{.noop_share = 0.6, .sleep_max_s = 0.03});
  std::vector<Process> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(rig.spawn_worker(fmt::format("w{}", i)));
  }
  auto store = rig.store();
  std::uniform_int_distribution<int> delay_ms(0, 15);
  int drops = 0;
  for (auto mark : progress_marks(rig.rng(), k_tasks, 10, 0.05, 0.85)) {
    ASSERT_TRUE(wait_for_completed(*store, mark, 120s)) << "the drain stalled before " << mark << " completions";
    proxy.set_delay(std::chrono::milliseconds(delay_ms(rig.rng())));
    proxy.drop_all();
    ++drops;
  }
  proxy.set_delay(2ms);
  for (int code : wait_all(workers, 180s)) {
    EXPECT_EQ(code, 0);
  }
  auto row = audit(rig, ids);
  row.note = fmt::format("proxy delay 0-15 ms each way; {} cuts dropped {} connections", drops,
                         proxy.connections_dropped());
  report(row);
  expect_clean(row);
  EXPECT_GT(proxy.connections_dropped(), 0) << "no cut found a connection to drop";
}

} // namespace
} // namespace nfl::test::faults
