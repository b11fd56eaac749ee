#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "store/task_store.hpp"

namespace nfl {

// REDIS_CLUSTER: detect asks the server (INFO cluster) once per store.
enum class RedisCluster { off, on, detect };

struct RedisOptions {
  std::string host = "localhost";
  int port = 6379;
  std::string password;
  std::string username; // ACL user for AUTH; empty: the default user
  int db = 0;
  std::string key_prefix;
  int connect_timeout_ms = 2000;
  int command_timeout_ms = 5000;
  // Redis Cluster (src/store/redis/redis_cluster.hpp). A write in cluster mode counts
  // once this many replicas of its master have it (WAIT), at most capped by how many
  // the master has; a call follows redirections and failovers for cluster_retry_ms.
  RedisCluster cluster = RedisCluster::detect;
  int cluster_wait_replicas = 1;
  int cluster_wait_timeout_ms = 1000;
  int cluster_retry_ms = 10'000;
};

// Each backend hides its class and exposes only its factory.
std::unique_ptr<TaskStore> make_sqlite_store(const std::filesystem::path& db_path, StoreOptions options);
std::unique_ptr<TaskStore> make_redis_store(const RedisOptions& redis, StoreOptions options);

StoreOptions store_options_from(const Config& config);
RedisOptions redis_options_from(const Config& config);
// The backend the configuration names (QUEUE_BACKEND / --backend).
std::unique_ptr<TaskStore> open_store(const Config& config);

} // namespace nfl
