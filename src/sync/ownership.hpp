#pragma once
// Who runs a pending task when machines share no lock: rendezvous (highest random
// weight) hashing of the task id over the live machines that serve its queue. Every
// machine computes the same owner from the same view; when a machine dies only its
// tasks move, each to the machine that scores next on it.
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nfl::sync {

struct Candidate {
  std::string machine_id;
  std::vector<std::string> queues;
};

// The owner of `task_id` in `queue` among `machines` (those that serve it), skipping
// `excluded`; empty when none serves the queue.
std::string rendezvous_owner(std::string_view task_id, std::string_view queue, std::span<const Candidate> machines,
                             std::string_view excluded = {});

} // namespace nfl::sync
