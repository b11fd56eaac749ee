#include "tasks/task_config.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/error.hpp"

namespace nfl {
namespace {

const Json* find_key(const Json& config, const std::string& key) {
  if (!config.is_object()) {
    return nullptr;
  }
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

} // namespace

void check_config_keys(const Json& config, const std::string& task_type, const std::set<std::string>& accepted) {
  if (config.is_null()) {
    return;
  }
  if (!config.is_object()) {
    throw InputError(fmt::format("{} config: expected a JSON object, got {}", task_type, config.type_name()));
  }
  for (const auto& [key, value] : config.items()) {
    if (!accepted.contains(key)) {
      throw InputError(fmt::format("{} config: unknown key '{}' (accepted: {})", task_type, key,
                                   accepted.empty() ? std::string("none") : fmt::format("{}", fmt::join(accepted, ", "))));
    }
  }
}

int config_int(const Json& config, const std::string& task_type, const std::string& key, int fallback, int min,
               int max) {
  const Json* v = find_key(config, key);
  if (v == nullptr) {
    return fallback;
  }
  if (!v->is_number_integer()) {
    throw InputError(fmt::format("{} config: '{}' must be an integer in [{}, {}], got {}", task_type, key, min, max,
                                 v->dump()));
  }
  const auto value = v->get<long long>();
  if (value < min || value > max) {
    throw InputError(fmt::format("{} config: '{}' must be in [{}, {}], got {}", task_type, key, min, max, value));
  }
  return static_cast<int>(value);
}

double config_double(const Json& config, const std::string& task_type, const std::string& key, double fallback,
                     double min, double max) {
  const Json* v = find_key(config, key);
  if (v == nullptr) {
    return fallback;
  }
  if (!v->is_number()) {
    throw InputError(fmt::format("{} config: '{}' must be a number in [{}, {}], got {}", task_type, key, min, max,
                                 v->dump()));
  }
  const double value = v->get<double>();
  if (!std::isfinite(value) || value < min || value > max) {
    throw InputError(fmt::format("{} config: '{}' must be in [{}, {}], got {}", task_type, key, min, max, value));
  }
  return value;
}

bool config_bool(const Json& config, const std::string& task_type, const std::string& key, bool fallback) {
  const Json* v = find_key(config, key);
  if (v == nullptr) {
    return fallback;
  }
  if (!v->is_boolean()) {
    throw InputError(fmt::format("{} config: '{}' must be true or false, got {}", task_type, key, v->dump()));
  }
  return v->get<bool>();
}

std::string config_string(const Json& config, const std::string& task_type, const std::string& key,
                          const std::string& fallback, const std::vector<std::string>& accepted) {
  const Json* v = find_key(config, key);
  if (v == nullptr) {
    return fallback;
  }
  if (!v->is_string() || v->get<std::string>().empty()) {
    throw InputError(fmt::format("{} config: '{}' must be a non-empty string, got {}", task_type, key, v->dump()));
  }
  auto value = v->get<std::string>();
  if (!accepted.empty() && std::find(accepted.begin(), accepted.end(), value) == accepted.end()) {
    throw InputError(fmt::format("{} config: '{}' must be one of {}, got '{}'", task_type, key,
                                 fmt::join(accepted, "/"), value));
  }
  return value;
}

std::vector<double> config_double_list(const Json& config, const std::string& task_type, const std::string& key,
                                       const std::vector<double>& fallback, double min, double max) {
  const Json* v = find_key(config, key);
  if (v == nullptr) {
    return fallback;
  }
  if (!v->is_array() || v->empty() || v->size() > 50) {
    throw InputError(
        fmt::format("{} config: '{}' must be a list of 1-50 numbers in [{}, {}]", task_type, key, min, max));
  }
  std::vector<double> out;
  for (const auto& e : *v) {
    if (!e.is_number() || !std::isfinite(e.get<double>()) || e.get<double>() < min || e.get<double>() > max) {
      throw InputError(fmt::format("{} config: '{}': element {} is not a number in [{}, {}]", task_type, key,
                                   e.dump(), min, max));
    }
    out.push_back(e.get<double>());
  }
  return out;
}

} // namespace nfl
