#include "sync/record.hpp"

#include <algorithm>
#include <tuple>

#include <xxhash.h>

namespace nfl::sync {

namespace {

// based_on last: equal otherwise means the same change, but keep the order total.
auto lww_key(const Record& r) {
  return std::tie(r.user_version, r.version, r.origin, r.state, r.based_on, r.assigned);
}
auto completion_key(const Completion& c) { return std::tie(c.at, c.machine_id, c.state); }

} // namespace

const std::string& effective_state(const Record& r) {
  return r.completions.empty() ? r.state : r.completions.front().state;
}

std::uint64_t effective_digest(const Record& r) {
  return r.completions.empty() ? r.digest : r.completions.front().digest;
}

bool is_completed(const Record& r) { return !r.completions.empty(); }

std::size_t duplicate_count(const Record& r) { return r.completions.empty() ? 0 : r.completions.size() - 1; }

MergeOutcome merge_into(Record& local, const Record& remote) {
  MergeOutcome out;
  bool states_differ = effective_digest(local) != effective_digest(remote);
  bool concurrent = local.version != remote.version && remote.based_on < local.version &&
                    local.based_on < remote.version;
  if (lww_key(remote) > lww_key(local)) {
    local.user_version = remote.user_version;
    local.version = remote.version;
    local.based_on = remote.based_on;
    local.origin = remote.origin;
    local.assigned = remote.assigned;
    local.state = remote.state;
    local.digest = remote.digest;
    out.changed = true;
  }
  for (const auto& c : remote.completions) {
    auto pos = std::lower_bound(local.completions.begin(), local.completions.end(), c,
                                [](const Completion& a, const Completion& b) { return completion_key(a) < completion_key(b); });
    if (pos != local.completions.end() && completion_key(*pos) == completion_key(c)) {
      continue;
    }
    local.completions.insert(pos, c);
    out.changed = true;
    if (local.completions.size() > 1) {
      ++out.new_duplicates;
    }
  }
  out.conflict = states_differ && concurrent;
  return out;
}

std::string task_state_json(const Task& t) {
  Json j = task_to_json(t);
  j.erase("lease_expires_ms");
  j.erase("not_before_ms");
  return j.dump();
}

std::uint64_t state_digest(std::string_view state) { return XXH3_64bits(state.data(), state.size()); }

} // namespace nfl::sync
