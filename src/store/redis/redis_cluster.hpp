#pragma once
// The client the Redis store talks to: one Connection on a standalone Redis, or slot
// routing on a Redis Cluster, which hiredis 0.14 does not do. Cluster routing: the
// hash slot of a command's first key (CRC16 of its hash tag), the slot map from
// CLUSTER SLOTS, MOVED and ASK redirections, and re-discovery when a node dies or a
// replica is promoted. Every store key shares the prefix's hash tag, so in practice
// a store talks to the one master that owns that slot.
//
// Retry rule: a command is sent again only when it cannot have run: the connection
// could not be made (NotSent), or the node answered MOVED/ASK/TRYAGAIN/CLUSTERDOWN/
// LOADING/MASTERDOWN/READONLY/UNBLOCKED, all refusals before execution. A connection
// that breaks after the command went out throws StoreUnavailable (the caller cannot
// know whether it ran, exactly as on a standalone Redis) and the next call
// re-discovers the slot map.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/redis/redis_connection.hpp"
#include "store/store_factory.hpp"

namespace nfl::redis_detail {

inline constexpr int k_cluster_slots = 16384;
// Redirections followed for one command before giving up (a map that keeps moving).
inline constexpr int k_max_redirects = 16;
// A slot map older than this is re-read before the next command, so that replicas
// that (re)joined count for WAIT again.
inline constexpr Millis k_slot_map_max_age_ms = 30'000;
// A write that wants more replicas than the map lists for its master re-reads a map
// older than this first: a map read while a replica was still being announced (a
// fresh cluster, a replica restarting) would otherwise skip WAIT for up to 30 s and a
// failover in that window could lose acknowledged writes (seen in CI).
inline constexpr Millis k_slot_map_replica_recheck_ms = 1'000;

// The hash tag of `key` by Redis's rule: what lies between the first '{' and the
// first '}' after it, when that is not empty.
std::optional<std::string_view> hash_tag(std::string_view key);
// CRC16-XMODEM of the hash tag (or of the whole key without one) modulo 16384.
int key_slot(std::string_view key);
// The slot a command is routed by: the first key (EVALSHA: KEYS[1]); nullopt for a
// command without keys (SCRIPT LOAD, PING, INFO).
std::optional<int> command_slot(const std::vector<std::string>& args);

// What the clients of one store share: whether the server is a cluster (decided
// once), and the slot map. Thread-safe.
class Topology {
public:
  enum class Mode { unknown, standalone, cluster };

  struct Owner {
    std::string endpoint; // host:port of the master
    int replicas = 0;     // replicas CLUSTER SLOTS listed for it (failed ones are not listed)
  };

  // `key` names the seed (REDIS_HOST:REDIS_PORT/mode): every node a Topology with that
  // key has seen is remembered for the life of the process, so a new Topology starts
  // from them even when the seed itself is the node that died.
  Topology(RedisCluster setting, std::string key);

  RedisCluster setting() const { return m_setting; }
  Mode mode() const;
  void set_mode(Mode mode);

  // The master of `slot`, when the map is fresh and knows it. A master listed with
  // fewer than `wanted_replicas` replicas counts as fresh for only
  // k_slot_map_replica_recheck_ms.
  std::optional<Owner> owner(int slot, int wanted_replicas = 0) const;
  // Installs a map read with CLUSTER SLOTS.
  void install(std::vector<std::pair<std::pair<int, int>, Owner>> ranges, const std::vector<std::string>& nodes);
  // A MOVED answer: `slot` now lives on `endpoint`. The rest of the map is re-read on
  // the next lookup (a MOVED usually means a failover or a reshard).
  void moved(int slot, const std::string& endpoint);
  void mark_stale();
  // Every node ever seen, masters of the current map first: where to ask for a new map.
  std::vector<std::string> candidates() const;
  // How many times a map was installed (tests and messages).
  std::uint64_t version() const;

private:
  void remember(const std::string& endpoint); // m_mutex held

  const RedisCluster m_setting;
  const std::string m_key;
  mutable std::mutex m_mutex;
  Mode m_mode = Mode::unknown;
  std::vector<std::int32_t> m_slot_owner; // index into m_owners, -1 unknown
  std::vector<Owner> m_owners;
  std::vector<std::string> m_seen;
  bool m_stale = true;
  Millis m_installed_ms = 0; // monotonic
  std::uint64_t m_version = 0;
};

// The Topology of every store of this process with the same REDIS_HOST:REDIS_PORT and
// REDIS_CLUSTER while any of them is open: a store opened again after an outage (the
// worker does) starts from every node seen so far, not only from REDIS_HOST, which
// may be the master that just died.
std::shared_ptr<Topology> shared_topology(const RedisOptions& options);

// Per call: a reply timeout for this call only (0: the client's), and whether a write
// must reach the configured replicas before it counts (cluster mode only).
struct CallOptions {
  int timeout_ms = 0;
  bool replicate = false;
};

// Not thread-safe (like Connection): the store guards each Client with a mutex.
// Clients of one store share a Topology.
class Client {
public:
  // Without `topology`: shared_topology(options).
  Client(RedisOptions options, int command_timeout_ms, std::shared_ptr<Topology> topology = nullptr);

  // The same contract as Connection's: the reply (error replies included, see check()),
  // StoreUnavailable when Redis cannot be reached. In cluster mode redirections and
  // failovers are followed within RedisOptions::cluster_retry_ms.
  Reply command(const std::vector<std::string>& args) { return command(args, CallOptions{}); }
  Reply command(const std::vector<std::string>& args, int timeout_ms) {
    return command(args, CallOptions{timeout_ms, false});
  }
  Reply command(const std::vector<std::string>& args, CallOptions call);
  // One round trip; in cluster mode every command must hash to one slot (keyless ones
  // go with them). Commands a node refused before running them are re-sent one by one.
  std::vector<Reply> pipeline(const std::vector<std::vector<std::string>>& commands);

  // Throws the mapped error when `reply` is an error reply (naming the node that sent it).
  void check(const redisReply& reply) const;

  bool cluster();
  const std::shared_ptr<Topology>& topology() const { return m_topology; }
  // The node of the last command, for messages.
  const std::string& endpoint() const { return m_last_endpoint; }

private:
  void resolve_mode();
  bool detect_cluster();
  Connection& node(const std::string& endpoint);
  std::string owner_endpoint(int slot, int& replicas, int wanted_replicas);
  void refresh();
  Reply cluster_command(const std::vector<std::string>& args, CallOptions call, std::optional<int> slot);

  RedisOptions m_options;
  int m_command_timeout_ms;
  std::shared_ptr<Topology> m_topology;
  std::string m_seed; // REDIS_HOST:REDIS_PORT
  std::optional<int> m_home_slot; // the prefix's slot: where keyless commands go
  std::map<std::string, std::unique_ptr<Connection>> m_nodes;
  std::string m_last_endpoint;
};

} // namespace nfl::redis_detail
