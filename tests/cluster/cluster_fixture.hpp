#pragma once
// A real local Redis Cluster for one test: six redis-server processes on free
// loopback ports (--cluster-enabled yes, AOF on, a short cluster-node-timeout so a
// failover takes seconds), joined with `redis-cli --cluster create ... --cluster-replicas 1`:
// three masters with one replica each. Every process is killed by PID at the end.
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/redis_server.hpp"

namespace nfl::test {

class LocalCluster {
public:
  struct Node {
    std::string id;
    int index = -1; // into the cluster's servers
    bool master = false;
    bool failed = false;
    std::string master_id; // of a replica
    std::vector<std::pair<int, int>> slots;
  };

  // Starts, creates and waits until every node reports cluster_state:ok and every
  // replica is in sync with its master.
  explicit LocalCluster(int node_timeout_ms = 1000);
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  std::size_t size() const { return m_servers.size(); }
  int port(int index) const { return m_servers[static_cast<std::size_t>(index)]->port(); }
  bool alive(int index) const { return m_alive[static_cast<std::size_t>(index)]; }

  // One command on one node: the reply as text (an array reply: one entry per element,
  // nested arrays flattened). Throws std::runtime_error on an error reply.
  std::vector<std::string> command(int index, const std::vector<std::string>& args) const;
  // The cluster as `index` sees it (CLUSTER NODES).
  std::vector<Node> nodes(int index) const;
  // The master serving `slot` in the view of the first live node, and its replica.
  int owner_of(int slot) const;
  int replica_of(int master_index) const;

  void kill(int index); // SIGKILL: a crash

  // Polls (no event exists for cluster state) until every live node reports
  // cluster_state:ok and names the same master for `slot`; returns that master.
  int wait_converged(int slot, std::chrono::milliseconds limit) const;

private:
  int index_of_port(int port) const;
  void wait_ready(std::chrono::milliseconds limit) const;

  std::vector<std::unique_ptr<RedisServer>> m_servers;
  std::vector<bool> m_alive;
};

} // namespace nfl::test
