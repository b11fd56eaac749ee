#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "store/task_store.hpp"

namespace nfl {

struct RedisOptions {
  std::string host = "localhost";
  int port = 6379;
  std::string password;
  int db = 0;
  std::string key_prefix;
  int connect_timeout_ms = 2000;
  int command_timeout_ms = 5000;
};

// Each backend hides its class and exposes only its factory.
std::unique_ptr<TaskStore> make_sqlite_store(const std::filesystem::path& db_path, StoreOptions options);
std::unique_ptr<TaskStore> make_redis_store(const RedisOptions& redis, StoreOptions options);

StoreOptions store_options_from(const Config& config);
RedisOptions redis_options_from(const Config& config);
// The backend the configuration names (QUEUE_BACKEND / --backend).
std::unique_ptr<TaskStore> open_store(const Config& config);

} // namespace nfl
