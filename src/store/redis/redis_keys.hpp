#pragma once
// Every Redis key name comes from RedisKeys::key (after BullMQ's queue-keys): the
// seed's names under REDIS_KEY_PREFIX. The Lua helpers in lua/includes/task_keys.lua
// build the per-task names the same way and must stay in step with this file.
//
// Redis Cluster: scripts declare their fixed keys in KEYS but compute per-task keys
// (task:, dependents:, machines:, cache:) from the prefix, so a cluster deployment
// must use a hash-tag prefix such as "{nfl}:" that puts every key in one slot
// (redis_cluster.cpp refuses to start in cluster mode without one).
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "model/task.hpp"

namespace nfl::redis_detail {

class RedisKeys {
public:
  explicit RedisKeys(std::string prefix) : m_prefix(std::move(prefix)) {}

  // prefix + parts joined by ':'.
  std::string key(std::initializer_list<std::string_view> parts) const {
    std::string out = m_prefix;
    bool first = true;
    for (auto part : parts) {
      if (!first) {
        out += ':';
      }
      out += part;
      first = false;
    }
    return out;
  }

  const std::string& prefix() const { return m_prefix; }

  std::string queue(std::string_view name) const { return key({name}); } // zset: id -> priority*1e12 + seq
  std::string task(std::string_view id) const { return key({"task", id}); }
  std::string status_set(TaskStatus s) const { return key({"tasks_by_status", to_string(s)}); }
  std::string leases() const { return key({"leases"}); }           // zset: id -> lease expiry
  std::string delayed() const { return key({"delayed"}); }         // zset: id -> not_before
  std::string stats() const { return key({"stats"}); }             // hash: seq, added, rejected_completions
  std::string completions() const { return key({"completions"}); } // zset: id -> finished (last hour)
  std::string finished() const { return key({"finished"}); }       // zset: id -> finished, until trimmed
  std::string tasks() const { return key({"tasks"}); }             // zset: id -> add order
  std::string dependents(std::string_view id) const { return key({"dependents", id}); }
  std::string machine(std::string_view id) const { return key({"machines", id}); }
  std::string machine_index() const { return key({"machine_ids"}); } // set of machine ids
  std::string cache(std::string_view task_type, std::string_view hash) const { return key({"cache", task_type, hash}); }
  std::string wake(std::string_view queue_name) const { return key({"wake", queue_name}); }

  // KEYS[1..24] of every state-changing script, in lua/includes/core_keys.lua's order.
  std::vector<std::string> core() const {
    std::vector<std::string> keys = {leases(), delayed(), stats(), completions(), finished(), tasks()};
    for (auto s : k_statuses) {
      keys.push_back(status_set(s));
    }
    for (auto q : k_queues) {
      keys.push_back(queue(q));
    }
    for (auto q : k_queues) {
      keys.push_back(wake(q));
    }
    return keys;
  }

private:
  std::string m_prefix;
};

} // namespace nfl::redis_detail
