#pragma once
// Strict reading of a task's config, shared by every task type: unknown keys and
// values of the wrong type or out of range are InputErrors that name the task type
// and the key. A missing or null key gives the fallback.
#include <set>
#include <string>
#include <vector>

#include "model/task.hpp"

namespace nfl {

// Throws "<task_type> config: unknown key 'x' (accepted: ...)"; null counts as {}.
void check_config_keys(const Json& config, const std::string& task_type, const std::set<std::string>& accepted);

int config_int(const Json& config, const std::string& task_type, const std::string& key, int fallback, int min,
               int max);
double config_double(const Json& config, const std::string& task_type, const std::string& key, double fallback,
                     double min, double max);
bool config_bool(const Json& config, const std::string& task_type, const std::string& key, bool fallback);
// A non-empty string; when `accepted` is given, one of those.
std::string config_string(const Json& config, const std::string& task_type, const std::string& key,
                          const std::string& fallback, const std::vector<std::string>& accepted = {});
// A non-empty list of numbers, each in [min, max] (e.g. a sweep grid).
std::vector<double> config_double_list(const Json& config, const std::string& task_type, const std::string& key,
                                       const std::vector<double>& fallback, double min, double max);

} // namespace nfl
