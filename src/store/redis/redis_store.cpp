#include "store/store_factory.hpp"
#include "util/error.hpp"

namespace nfl {
std::unique_ptr<TaskStore> make_redis_store(const RedisOptions&, StoreOptions) {
  throw InternalError("redis backend: in progress");
}
} // namespace nfl
