#pragma once
// The one place where a task type declares its default queue. Types not listed
// here route by the seed's rules (see route_queue).
#include <optional>
#include <string_view>

namespace nfl {

std::optional<std::string_view> default_queue_for_type(std::string_view task_type);

} // namespace nfl
