// Win-probability training: gradients, agreement with Newton's method, the MLP on a
// problem logistic regression cannot solve, determinism, checkpoint resume, and the
// model_training task on the bundled data.
#include <gtest/gtest.h>

#include <cmath>
#include <stop_token>

#include "analytics/analytics_tasks.hpp"
#include "analytics/gpu/device.hpp"
#include "analytics/season/philox.hpp"
#include "analytics/training/checkpoint.hpp"
#include "analytics/training/model.hpp"
#include "model/task_types.hpp"
#include "support/redis_server.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/ids.hpp"

namespace nfl::analytics::training {
namespace {

using season::Philox4x32;
using test::TempDir;

double uniform(const Philox4x32& rng, std::uint32_t i, std::uint32_t j) {
  return Philox4x32::to_unit(rng({i, j, 0, 0})[0]);
}

// y ~ Bernoulli(sigmoid(x·w + b)) with known w, b.
void logistic_data(int n, Eigen::MatrixXd& x, Eigen::VectorXd& y) {
  const Philox4x32 rng(2024);
  const Eigen::Vector3d w(1.5, -0.8, 0.3);
  x.resize(n, 3);
  y.resize(n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 3; ++j) {
      x(i, j) = 2.0 * uniform(rng, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j)) - 1.0;
    }
    const double p = 1.0 / (1.0 + std::exp(-(x.row(i).dot(w) + 0.2)));
    y(i) = uniform(rng, static_cast<std::uint32_t>(i), 9) < p ? 1.0 : 0.0;
  }
}

// XOR of the signs: no linear boundary separates it.
void xor_data(int n, Eigen::MatrixXd& x, Eigen::VectorXd& y) {
  const Philox4x32 rng(7);
  x.resize(n, 2);
  y.resize(n);
  for (int i = 0; i < n; ++i) {
    x(i, 0) = 2.0 * uniform(rng, static_cast<std::uint32_t>(i), 0) - 1.0;
    x(i, 1) = 2.0 * uniform(rng, static_cast<std::uint32_t>(i), 1) - 1.0;
    y(i) = (x(i, 0) > 0) != (x(i, 1) > 0) ? 1.0 : 0.0;
  }
}

double accuracy(const Eigen::VectorXd& p, const Eigen::VectorXd& y) {
  int ok = 0;
  for (Eigen::Index i = 0; i < p.size(); ++i) {
    ok += (p(i) >= 0.5) == (y(i) > 0.5) ? 1 : 0;
  }
  return static_cast<double>(ok) / static_cast<double>(p.size());
}

TEST(Training, GradientsMatchFiniteDifferences) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  logistic_data(50, x, y);
  for (const ModelKind kind : {ModelKind::logistic, ModelKind::mlp}) {
    const Model model(kind, 3, 4);
    Eigen::VectorXd theta = model.initial_parameters(3);
    theta.array() += 0.05; // away from the symmetric start
    Eigen::VectorXd grad;
    model.loss(theta, x, y, 0.01, &grad);
    for (Eigen::Index k = 0; k < theta.size(); ++k) {
      const double h = 1e-6;
      Eigen::VectorXd up = theta;
      Eigen::VectorXd down = theta;
      up(k) += h;
      down(k) -= h;
      const double numeric = (model.loss(up, x, y, 0.01) - model.loss(down, x, y, 0.01)) / (2 * h);
      EXPECT_NEAR(grad(k), numeric, 1e-7) << to_string(kind) << " parameter " << k;
    }
  }
}

TEST(Training, LogisticGradientDescentReachesTheNewtonSolution) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  logistic_data(4000, x, y);
  const double l2 = 1e-3;
  const Eigen::VectorXd newton = fit_logistic_newton(x, y, l2);
  const Model model(ModelKind::logistic, 3, 0);
  TrainOptions o;
  o.epochs = 60;
  o.batch_size = 4000; // full batch: the optimum is a fixed point, no mini-batch noise
  o.learning_rate = 0.05;
  o.l2 = l2;
  TrainState s = initial_state(model, o);
  train(model, x, y, Eigen::MatrixXd(0, 3), Eigen::VectorXd(0), o, s);
  // Loss is decreasing over the run and ends at Newton's optimum.
  EXPECT_LT(s.history.back().train_loss, s.history.front().train_loss);
  const double best = model.loss(newton, x, y, l2);
  o.epochs = 600;
  train(model, x, y, Eigen::MatrixXd(0, 3), Eigen::VectorXd(0), o, s);
  EXPECT_NEAR(model.loss(s.theta, x, y, l2), best, 1e-7);
  EXPECT_LT((s.theta - newton).cwiseAbs().maxCoeff(), 2e-3) << s.theta.transpose() << " vs " << newton.transpose();
  // The data came from w = (1.5, -0.8, 0.3), b = 0.2: the fit recovers it roughly.
  EXPECT_NEAR(newton(0), 1.5, 0.25);
  EXPECT_NEAR(newton(1), -0.8, 0.25);
}

TEST(Training, MlpLearnsXorWhereLogisticRegressionCannot) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  xor_data(2000, x, y);
  TrainOptions o;
  o.epochs = 150;
  o.batch_size = 64;
  o.learning_rate = 0.02;
  o.l2 = 0.0;
  const Model logistic(ModelKind::logistic, 2, 0);
  TrainState ls = initial_state(logistic, o);
  train(logistic, x, y, x, y, o, ls);
  const Model mlp(ModelKind::mlp, 2, 8);
  TrainState ms = initial_state(mlp, o);
  train(mlp, x, y, x, y, o, ms);
  EXPECT_LT(accuracy(logistic.predict(ls.theta, x), y), 0.65);
  EXPECT_GT(accuracy(mlp.predict(ms.theta, x), y), 0.95);
  EXPECT_LT(ms.history.back().train_loss, 0.5 * ms.history.front().train_loss);
}

TEST(Training, EpochPermutationIsAPermutationAndDependsOnSeedAndEpoch) {
  const auto a = epoch_permutation(1, 1, 1000);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(sorted[static_cast<std::size_t>(i)], i);
  }
  EXPECT_EQ(a, epoch_permutation(1, 1, 1000));
  EXPECT_NE(a, epoch_permutation(1, 2, 1000));
  EXPECT_NE(a, epoch_permutation(2, 1, 1000));
}

TEST(Training, ResumingFromACheckpointEndsWithTheSameWeights) {
  TempDir dir;
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  xor_data(500, x, y);
  const Model model(ModelKind::mlp, 2, 6);
  TrainOptions o;
  o.epochs = 20;
  o.batch_size = 32;
  TrainState whole = initial_state(model, o);
  train(model, x, y, x, y, o, whole);

  // A run that dies after epoch 13 with its last checkpoint at epoch 10.
  const auto file = dir.path() / "ck" / "checkpoint.json";
  struct Killed {};
  TrainState first = initial_state(model, o);
  EXPECT_THROW(train(model, x, y, x, y, o, first,
                     [&](const TrainState& s) {
                       if (s.epoch % 5 == 0) {
                         save_checkpoint(file, "run-a", s);
                       }
                       if (s.epoch == 13) {
                         throw Killed{};
                       }
                     }),
               Killed);
  std::string why;
  EXPECT_FALSE(load_checkpoint(file, "run-b", model.parameter_count(), &why).has_value());
  EXPECT_EQ(why, "checkpoint from another config or data set");
  auto restored = load_checkpoint(file, "run-a", model.parameter_count());
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->epoch, 10);
  train(model, x, y, x, y, o, *restored);
  EXPECT_EQ(restored->epoch, 20);
  EXPECT_EQ(restored->step, whole.step);
  EXPECT_EQ(restored->theta, whole.theta); // bit for bit
  ASSERT_EQ(restored->history.size(), whole.history.size());
  EXPECT_EQ(restored->history.back().valid_loss, whole.history.back().valid_loss);
}

TEST(Training, DamagedOrForeignCheckpointsAreReportedClearly) {
  TempDir dir;
  const auto file = dir.path() / "checkpoint.json";
  write_file_atomic(file, "{not json");
  EXPECT_THROW(load_checkpoint(file, "x", 4), InputError);
  write_file_atomic(file, R"({"format":"nfl-compute/training-checkpoint","version":99})");
  try {
    load_checkpoint(file, "x", 4);
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("version 99"), std::string::npos) << e.what();
  }
}

// ---- the task type, run the way the worker runs it

class TrainingTask : public ::testing::Test {
protected:
  TrainingTask() { register_analytics_tasks(m_registry); }

  Json run(Task& task, std::stop_token stop = {}, std::function<void(double, const std::string&)> progress = {}) {
    const TaskType* type = m_registry.find(task.task_type);
    type->validate_config(task.config);
    TaskContext ctx{.task = task,
                    .config = m_config,
                    .data_dir = m_dir.path(),
                    .artifact_dir = m_dir.path() / "artifacts" / task.id,
                    .checkpoint_dir = m_dir.path() / "checkpoints" / task.id,
                    .dependencies = {},
                    .stop = stop};
    if (progress) {
      ctx.report_progress = progress;
    }
    for (const auto& id : task.depends_on) {
      ctx.dependencies.emplace(id, m_done.at(id));
    }
    Json result = type->run(ctx);
    task.status = TaskStatus::completed;
    task.result = result;
    m_done[task.id] = task;
    return result;
  }

  Task make(const std::string& type, Json config, std::vector<std::string> deps = {}) {
    Task t;
    t.id = type + "_" + random_hex(8);
    t.task_type = type;
    t.config = std::move(config);
    t.depends_on = std::move(deps);
    return t;
  }

  Task ingested() {
    Task t = make("ingestion", Json::object());
    run(t);
    return t;
  }

  TaskRegistry m_registry;
  Config m_config;
  TempDir m_dir;
  std::map<std::string, Task> m_done;
};

TEST_F(TrainingTask, RegisteredAndRoutedToTheGpuQueue) {
  EXPECT_NE(m_registry.find("model_training"), nullptr);
  EXPECT_EQ(default_queue_for_type("model_training"), "gpu:standard");
  Task t = make("model_training", Json::object());
  normalise(t, 0);
  EXPECT_EQ(t.queue, "gpu:standard");
  EXPECT_THROW(m_registry.find("model_training")->validate_config({{"model", "forest"}}), InputError);
  EXPECT_THROW(m_registry.find("model_training")->validate_config({{"epochs", 0}}), InputError);
}

TEST_F(TrainingTask, BothModelsBeatTheBaseRateOutOfTime) {
  const Task ing = ingested();
  for (const char* kind : {"logistic", "mlp"}) {
    Task t = make("model_training", {{"model", kind}, {"epochs", 8}, {"valid_from_season", 2023}}, {ing.id});
    t.requires_gpu = true;
    const Json r = run(t);
    SCOPED_TRACE(r.dump());
    EXPECT_EQ(r["device"], "cpu");
    EXPECT_TRUE(r.contains("device_note"));
    EXPECT_GT(r["train_games"].get<int>(), 4000);
    EXPECT_GT(r["valid_games"].get<int>(), 400);
    // The market lines carry most of the signal: well below the base rate's log loss.
    EXPECT_LT(r["valid"]["log_loss"].get<double>(), r["valid_base_rate"]["log_loss"].get<double>() - 0.02);
    EXPECT_GT(r["valid"]["accuracy"].get<double>(), 0.6);
    EXPECT_GT(r["samples_per_second"].get<double>(), 0.0);
    EXPECT_TRUE(std::filesystem::exists(m_dir.path() / "artifacts" / t.id / "model.json"));
  }
}

TEST_F(TrainingTask, AStoppedAttemptResumesFromItsCheckpoint) {
  const Task ing = ingested();
  const Json config = {{"model", "mlp"}, {"hidden", 8}, {"epochs", 6}, {"checkpoint_every", 2},
                       {"valid_from_season", 2024}};
  Task whole = make("model_training", config, {ing.id});
  const Json uninterrupted = run(whole);

  Task t = make("model_training", config, {ing.id});
  std::stop_source stop;
  EXPECT_THROW(run(t, stop.get_token(),
                   [&](double, const std::string& message) {
                     if (message.starts_with("epoch 3 ")) {
                       stop.request_stop(); // a shutdown or lease loss during epoch 4
                     }
                   }),
               TaskStopped);
  ASSERT_TRUE(std::filesystem::exists(m_dir.path() / "checkpoints" / t.id / "checkpoint.json"));
  const Json resumed = run(t);
  EXPECT_EQ(resumed["resumed_from_epoch"], 4);
  EXPECT_EQ(resumed["history"], uninterrupted["history"]);
  const Json a = Json::parse(read_file(m_dir.path() / "artifacts" / whole.id / "model.json"));
  const Json b = Json::parse(read_file(m_dir.path() / "artifacts" / t.id / "model.json"));
  EXPECT_EQ(a["parameters"], b["parameters"]);
}

TEST_F(TrainingTask, MonteCarloRecordsItsDeviceAndMatchesTheCpuRun) {
  const Task ing = ingested();
  const Json config = {{"season", 2024}, {"week", 10}, {"simulations", 2000}, {"seed", 4},
                       {"rating_source", "market"}};
  Task on_gpu_queue = make("monte_carlo", config, {ing.id});
  on_gpu_queue.requires_gpu = true; // as a gpu:standard task, also when a CPU machine got it by fallback
  const Json a = run(on_gpu_queue);
  Json cpu_config = config;
  cpu_config["device"] = "cpu";
  Task on_cpu = make("monte_carlo", cpu_config, {ing.id});
  const Json b = run(on_cpu);
  const auto cuda = gpu::cuda_status();
  EXPECT_EQ(a["device"], gpu::device_label(cuda));
  EXPECT_EQ(b["device"], "cpu");
  if (!cuda.available) {
    EXPECT_NE(a["device_note"].get<std::string>().find("no CUDA device"), std::string::npos) << a.dump();
  }
  EXPECT_EQ(a["teams"], b["teams"]); // same streams: the same odds on either device
}

} // namespace
} // namespace nfl::analytics::training
