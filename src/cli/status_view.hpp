#pragma once
// The status document: one JSON value built from the store's status, printed as is by
// `status --json` (the contract in docs/cli.md) and rendered as text for people, so
// both always show the same data.
#include <string>

#include "model/task.hpp"
#include "store/task_store.hpp"

namespace nfl::cli {

// `failed_by_queue` may be empty (then every queue's "failed" is 0).
Json status_document(const StoreStatus& status, const std::map<std::string, std::int64_t>& failed_by_queue,
                     const std::string& backend, Millis now_ms);

// Fits 80 columns; ANSI colour only when `colour`.
std::string render_status(const Json& doc, bool colour);

// Why nobody will take work from `queue` when no live machine serves it.
std::string infeasible_reason(const std::string& queue);

} // namespace nfl::cli
