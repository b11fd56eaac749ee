#include "analytics/training/model_training.hpp"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "analytics/data/data_common.hpp"
#include "analytics/gpu/device.hpp"
#include "analytics/training/checkpoint.hpp"
#include "analytics/training/dataset.hpp"
#include "analytics/training/model.hpp"
#include "util/error.hpp"
#include "util/ids.hpp"

namespace nfl::analytics::training {

namespace {

constexpr const char* k_type = "model_training";
constexpr const char* k_checkpoint_file = "checkpoint.json";

struct TrainingConfig {
  ModelKind model = ModelKind::logistic;
  int hidden = 16;
  TrainOptions train;
  int checkpoint_every = 5;
  std::optional<int> valid_from_season;
  data::FeatureParams features;
  std::string device = "auto";
};

TrainingConfig parse_config(const Json& config) {
  check_config_keys(config, k_type,
                    {"model", "hidden", "epochs", "batch_size", "learning_rate", "l2", "seed", "checkpoint_every",
                     "valid_from_season", "window", "device"});
  const Json j = config.is_null() ? Json::object() : config;
  TrainingConfig c;
  c.model = parse_model_kind(config_string(j, k_type, "model", "logistic", {"logistic", "mlp"}));
  c.hidden = config_int(j, k_type, "hidden", c.hidden, 1, 256);
  c.train.epochs = config_int(j, k_type, "epochs", c.train.epochs, 1, 100'000);
  c.train.batch_size = config_int(j, k_type, "batch_size", c.train.batch_size, 1, 1'000'000);
  c.train.learning_rate = config_double(j, k_type, "learning_rate", c.train.learning_rate, 1e-6, 1.0);
  c.train.l2 = config_double(j, k_type, "l2", c.train.l2, 0.0, 10.0);
  c.train.seed = static_cast<std::uint64_t>(config_int(j, k_type, "seed", 1, 0, 2'147'483'647));
  c.checkpoint_every = config_int(j, k_type, "checkpoint_every", c.checkpoint_every, 1, 100'000);
  if (j.contains("valid_from_season") && !j["valid_from_season"].is_null()) {
    c.valid_from_season = config_int(j, k_type, "valid_from_season", 0, 1999, 2100);
  }
  c.features.window = config_int(j, k_type, "window", c.features.window, 1, 64);
  c.device = config_string(j, k_type, "device", c.device, {"auto", "cpu"});
  return c;
}

// Ties a checkpoint to this config and these exact training rows.
std::string fingerprint(const Json& config, const TrainingData& d) {
  std::string bytes = config.dump();
  bytes.append(reinterpret_cast<const char*>(d.train_x.data()),
               static_cast<std::size_t>(d.train_x.size()) * sizeof(double));
  bytes.append(reinterpret_cast<const char*>(d.train_y.data()),
               static_cast<std::size_t>(d.train_y.size()) * sizeof(double));
  return sha256_hex(bytes);
}

Json vector_json(const Eigen::VectorXd& v) { return Json(std::vector<double>(v.data(), v.data() + v.size())); }

Json scores(const Eigen::VectorXd& p, const Eigen::VectorXd& y) {
  data::ProbabilityScore s;
  std::int64_t correct = 0;
  for (Eigen::Index i = 0; i < p.size(); ++i) {
    s.add(p(i), y(i));
    correct += (p(i) >= 0.5) == (y(i) > 0.5) ? 1 : 0;
  }
  Json j = s.to_json();
  j["accuracy"] = p.size() > 0 ? static_cast<double>(correct) / static_cast<double>(p.size()) : 0.0;
  return j;
}

Json run(TaskContext& ctx) {
  const TrainingConfig c = parse_config(ctx.task.config);
  ctx.report_progress(1, "reading games");
  const std::vector<Game> games = data::games_from_ingestion(ctx, k_type);
  int last_season = 0;
  for (const auto& g : games) {
    if (g.played() && g.game_type == "REG") {
      last_season = std::max(last_season, g.season);
    }
  }
  const TrainingData d = build_training_data(games, c.features, c.valid_from_season.value_or(last_season));
  const Model model(c.model, static_cast<int>(d.train_x.cols()), c.hidden);
  const std::string print = fingerprint(ctx.task.config, d);
  const auto checkpoint = ctx.checkpoint_dir / k_checkpoint_file;

  std::string resume_note;
  TrainState state;
  if (auto restored = load_checkpoint(checkpoint, print, model.parameter_count(), &resume_note)) {
    state = std::move(*restored);
    resume_note = fmt::format("resumed after epoch {}", state.epoch);
  } else {
    state = initial_state(model, c.train);
  }
  const int resumed_from = state.epoch;

  // The CUDA training kernel is not part of this build yet (docs/gpu.md): GPU-queue
  // training runs the CPU kernel and says so.
  std::string device_note;
  if (ctx.task.requires_gpu || ctx.task.queue.starts_with("gpu:")) {
    device_note = "model_training has no CUDA kernel yet; ran on the CPU";
  }

  const auto started = std::chrono::steady_clock::now();
  train(model, d.train_x, d.train_y, d.valid_x, d.valid_y, c.train, state, [&](const TrainState& s) {
    const bool stopping = ctx.stop.stop_requested();
    if (s.epoch % c.checkpoint_every == 0 || stopping || s.epoch == c.train.epochs) {
      save_checkpoint(checkpoint, print, s);
    }
    const auto& h = s.history.back();
    ctx.report_progress(2.0 + 97.0 * s.epoch / c.train.epochs,
                        fmt::format("epoch {} of {}: train loss {:.5f}, valid loss {:.5f}", s.epoch, c.train.epochs,
                                    h.train_loss, h.valid_loss));
    if (stopping) {
      throw TaskStopped(); // the checkpoint above keeps this epoch
    }
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const int epochs_run = state.epoch - resumed_from;
  const double samples = static_cast<double>(d.train_x.rows()) * epochs_run;

  const Eigen::VectorXd valid_p = model.predict(state.theta, d.valid_x);
  const Eigen::VectorXd train_p = model.predict(state.theta, d.train_x);
  const double base_rate = d.train_y.mean();
  Json base = scores(Eigen::VectorXd::Constant(d.valid_y.size(), base_rate), d.valid_y);

  Json history = Json::array();
  std::string history_csv = "epoch,train_loss,valid_loss\n";
  for (const auto& h : state.history) {
    history.push_back({{"epoch", h.epoch}, {"train_loss", h.train_loss}, {"valid_loss", h.valid_loss}});
    history_csv += fmt::format("{},{},{}\n", h.epoch, data::fmt_num(h.train_loss), data::fmt_num(h.valid_loss));
  }
  const Json model_json = {{"model", to_string(c.model)},
                           {"hidden", c.model == ModelKind::mlp ? c.hidden : 0},
                           {"features", d.feature_names},
                           {"mean", vector_json(d.mean)},
                           {"scale", vector_json(d.scale)},
                           {"parameters", vector_json(state.theta)}};

  Json result;
  result["model"] = to_string(c.model);
  result["device"] = "cpu";
  if (!device_note.empty()) {
    result["device_note"] = device_note;
  }
  result["epochs"] = state.epoch;
  result["resumed_from_epoch"] = resumed_from;
  if (resumed_from > 0) {
    result["resume"] = resume_note;
  }
  result["train_games"] = d.train_x.rows();
  result["valid_games"] = d.valid_x.rows();
  result["valid_from_season"] = d.valid_from_season;
  result["skipped_games"] = d.skipped;
  result["parameters"] = model.parameter_count();
  result["train"] = scores(train_p, d.train_y);
  result["valid"] = scores(valid_p, d.valid_y);
  result["valid_base_rate"] = base;
  result["train_seconds"] = seconds;
  result["samples_per_second"] = seconds > 0 ? samples / seconds : 0.0;
  result["history"] = history;
  result["artifacts"] = write_artifacts(ctx, {{"model.json", model_json.dump(2) + "\n"},
                                              {"training_history.csv", history_csv}});
  return result;
}

} // namespace

TaskType model_training_task() {
  TaskType t;
  t.name = k_type;
  t.description = "Win-probability model (logistic regression or MLP) over the engineered features; mini-batch "
                  "gradient descent with resumable checkpoints";
  t.validate_config = [](const Json& config) { parse_config(config); };
  t.run = run;
  return t;
}

} // namespace nfl::analytics::training
