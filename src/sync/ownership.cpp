#include "sync/ownership.hpp"

#include <algorithm>
#include <cstdint>

#include <xxhash.h>

namespace nfl::sync {

std::string rendezvous_owner(std::string_view task_id, std::string_view queue, std::span<const Candidate> machines,
                             std::string_view excluded) {
  std::string best;
  std::uint64_t best_score = 0;
  for (const auto& m : machines) {
    if (m.machine_id == excluded || std::find(m.queues.begin(), m.queues.end(), queue) == m.queues.end()) {
      continue;
    }
    // Seeded by the task id so each task ranks the machines independently.
    std::uint64_t score = XXH3_64bits_withSeed(m.machine_id.data(), m.machine_id.size(),
                                               XXH3_64bits(task_id.data(), task_id.size()));
    if (best.empty() || score > best_score || (score == best_score && m.machine_id < best)) {
      best = m.machine_id;
      best_score = score;
    }
  }
  return best;
}

} // namespace nfl::sync
