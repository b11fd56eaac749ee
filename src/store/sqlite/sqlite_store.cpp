#include "store/store_factory.hpp"
#include "util/error.hpp"

namespace nfl {
std::unique_ptr<TaskStore> make_sqlite_store(const std::filesystem::path&, StoreOptions) {
  throw InternalError("sqlite backend: in progress");
}
} // namespace nfl
