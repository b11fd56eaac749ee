#include "cli/cli.hpp"

#include <cstdio>

namespace nfl {
int run_cli(int, char**) {
  std::puts("nfl-compute " NFL_VERSION);
  return 0;
}
} // namespace nfl
