#include "analytics/training/checkpoint.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::analytics::training {

namespace {

using Json = nlohmann::json;
constexpr const char* k_format = "nfl-compute/training-checkpoint";

// nlohmann writes doubles in the shortest form that reads back exactly, so weights
// round-trip bit for bit.
Json to_json(const Eigen::VectorXd& v) { return Json(std::vector<double>(v.data(), v.data() + v.size())); }

Eigen::VectorXd vector_from(const Json& j, const char* field, Eigen::Index size, const std::filesystem::path& file) {
  if (!j.is_array() || static_cast<Eigen::Index>(j.size()) != size) {
    throw InputError(fmt::format("{}: field '{}': expected {} numbers", file.string(), field, size));
  }
  Eigen::VectorXd v(size);
  for (Eigen::Index i = 0; i < size; ++i) {
    v(i) = j[static_cast<std::size_t>(i)].get<double>();
  }
  return v;
}

double number_or_nan(const Json& j) { return j.is_number() ? j.get<double>() : std::numeric_limits<double>::quiet_NaN(); }

} // namespace

void save_checkpoint(const std::filesystem::path& file, const std::string& fingerprint, const TrainState& state) {
  Json history = Json::array();
  for (const auto& h : state.history) {
    history.push_back({h.epoch, std::isnan(h.train_loss) ? Json() : Json(h.train_loss),
                       std::isnan(h.valid_loss) ? Json() : Json(h.valid_loss)});
  }
  const Json j = {{"format", k_format},   {"version", k_checkpoint_version}, {"fingerprint", fingerprint},
                  {"epoch", state.epoch}, {"step", state.step},             {"theta", to_json(state.theta)},
                  {"m", to_json(state.m)}, {"v", to_json(state.v)},         {"history", history}};
  std::filesystem::create_directories(file.parent_path());
  write_file_atomic(file, j.dump());
}

std::optional<TrainState> load_checkpoint(const std::filesystem::path& file, const std::string& fingerprint,
                                          Eigen::Index parameter_count, std::string* why) {
  if (!std::filesystem::exists(file)) {
    if (why != nullptr) {
      *why = "no checkpoint";
    }
    return std::nullopt;
  }
  Json j;
  try {
    j = Json::parse(read_file(file));
  } catch (const Json::exception& e) {
    throw InputError(fmt::format("{}: not a checkpoint: {}", file.string(), e.what()));
  }
  if (!j.is_object() || j.value("format", "") != k_format) {
    throw InputError(fmt::format("{}: not a training checkpoint (format)", file.string()));
  }
  if (j.value("version", 0) != k_checkpoint_version) {
    throw InputError(fmt::format("{}: checkpoint version {}; this build reads version {}", file.string(),
                                 j.value("version", 0), k_checkpoint_version));
  }
  if (j.value("fingerprint", "") != fingerprint) {
    if (why != nullptr) {
      *why = "checkpoint from another config or data set";
    }
    return std::nullopt;
  }
  try {
    TrainState s;
    s.epoch = j.at("epoch").get<int>();
    s.step = j.at("step").get<std::int64_t>();
    s.theta = vector_from(j.at("theta"), "theta", parameter_count, file);
    s.m = vector_from(j.at("m"), "m", parameter_count, file);
    s.v = vector_from(j.at("v"), "v", parameter_count, file);
    for (const auto& h : j.at("history")) {
      s.history.push_back({h.at(0).get<int>(), number_or_nan(h.at(1)), number_or_nan(h.at(2))});
    }
    return s;
  } catch (const Json::exception& e) {
    throw InputError(fmt::format("{}: damaged checkpoint: {}", file.string(), e.what()));
  }
}

} // namespace nfl::analytics::training
