#pragma once
// Win-probability models trained by mini-batch gradient descent (Adam): logistic
// regression and a one-hidden-layer perceptron (tanh), both over the engineered
// features. Parameters live in one flat vector so that the optimiser, checkpoints and
// comparisons treat both models alike. Everything is deterministic for a seed: the
// initial weights and each epoch's shuffle come from Philox streams, and the
// arithmetic order does not depend on threads. See docs/gpu.md.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace nfl::analytics::training {

enum class ModelKind { logistic, mlp };
std::string to_string(ModelKind kind);
ModelKind parse_model_kind(const std::string& text); // InputError naming `model`

class Model {
public:
  Model(ModelKind kind, int inputs, int hidden);

  ModelKind kind() const { return m_kind; }
  int inputs() const { return m_inputs; }
  int hidden() const { return m_hidden; }
  Eigen::Index parameter_count() const;

  // Logistic: zeros. MLP: Glorot-uniform hidden layer from Philox(seed), zeros elsewhere.
  Eigen::VectorXd initial_parameters(std::uint64_t seed) const;

  // Mean binary cross-entropy over the rows of x (natural log) plus l2/2·|weights|²
  // (biases excluded); fills `grad` (same size as theta) when given.
  double loss(const Eigen::VectorXd& theta, const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double l2,
              Eigen::VectorXd* grad = nullptr) const;

  // P(y = 1) per row.
  Eigen::VectorXd predict(const Eigen::VectorXd& theta, const Eigen::MatrixXd& x) const;

private:
  ModelKind m_kind;
  int m_inputs;
  int m_hidden;
};

struct TrainOptions {
  int epochs = 40;
  int batch_size = 128;
  double learning_rate = 0.01;
  double l2 = 1e-4;
  std::uint64_t seed = 1;
};

struct EpochStats {
  int epoch = 0; // 1-based
  double train_loss = 0.0; // full training set after the epoch (without the l2 term)
  double valid_loss = 0.0; // NaN when there is no validation set
};

// Everything needed to continue training exactly where it stopped.
struct TrainState {
  int epoch = 0;          // epochs finished
  std::int64_t step = 0;  // Adam steps taken
  Eigen::VectorXd theta;
  Eigen::VectorXd m;      // Adam first moment
  Eigen::VectorXd v;      // Adam second moment
  std::vector<EpochStats> history;
};

TrainState initial_state(const Model& model, const TrainOptions& options);

// Trains from `state` (fresh or restored) up to options.epochs. After each epoch
// `after_epoch(state)` runs (checkpoints, progress); it may throw to stop. A batch is
// a slice of the epoch's permutation, drawn from Philox(seed) with counter {epoch, ...},
// so a resumed run repeats exactly what an uninterrupted one would have done.
void train(const Model& model, const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const Eigen::MatrixXd& valid_x,
           const Eigen::VectorXd& valid_y, const TrainOptions& options, TrainState& state,
           const std::function<void(const TrainState&)>& after_epoch = {});

// The epoch's row order (exposed for tests).
std::vector<std::int32_t> epoch_permutation(std::uint64_t seed, int epoch, std::int32_t rows);

// Logistic regression fitted by Newton's method (IRLS) to convergence: the reference
// the gradient-descent fit is checked against. Same loss (mean cross-entropy + l2/2·|w|²).
Eigen::VectorXd fit_logistic_newton(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double l2,
                                    int max_iterations = 100);

} // namespace nfl::analytics::training
