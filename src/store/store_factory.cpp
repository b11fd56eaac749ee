#include "store/store_factory.hpp"

#include <fmt/format.h>

#include "util/error.hpp"

namespace nfl {

std::string_view to_string(LeaseResult r) {
  switch (r) {
  case LeaseResult::ok: return "ok";
  case LeaseResult::lease_lost: return "lease_lost";
  case LeaseResult::cancelled: return "cancelled";
  case LeaseResult::not_found: return "not_found";
  }
  return "unknown";
}

void check_queue_names(const std::vector<std::string>& queues) {
  for (const auto& q : queues) {
    if (!is_known_queue(q)) {
      throw InputError(fmt::format("queue '{}' is not a queue; expected one of {}", q, queue_list()));
    }
  }
}

void check_claim_request(const ClaimRequest& req) {
  check_queue_names(req.queues);
  if (req.lease_ms <= 0) {
    throw InputError(fmt::format("claim: lease_ms must be positive, got {}", req.lease_ms));
  }
}

StoreOptions store_options_from(const Config& config) {
  StoreOptions o;
  o.enable_caching = config.enable_caching;
  o.machine_ttl_ms = static_cast<Millis>(config.machine_ttl_s) * 1000;
  o.default_timeout_ms = static_cast<Millis>(config.task_timeout_hours * 3600.0 * 1000.0);
  return o;
}

RedisOptions redis_options_from(const Config& config) {
  RedisOptions r;
  r.host = config.redis_host;
  r.port = config.redis_port;
  r.password = config.redis_password;
  r.username = config.redis_username;
  r.db = config.redis_db;
  r.key_prefix = config.redis_key_prefix;
  r.cluster = config.redis_cluster == "true"    ? RedisCluster::on
              : config.redis_cluster == "false" ? RedisCluster::off
                                                : RedisCluster::detect;
  r.cluster_wait_replicas = config.redis_cluster_wait_replicas;
  return r;
}

std::unique_ptr<TaskStore> open_store(const Config& config) {
  if (config.queue_backend == "redis") return make_redis_store(redis_options_from(config), store_options_from(config));
  return make_sqlite_store(config.sqlite_path(), store_options_from(config));
}

} // namespace nfl
