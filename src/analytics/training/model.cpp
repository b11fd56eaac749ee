#include "analytics/training/model.hpp"

#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "analytics/season/philox.hpp"
#include "util/error.hpp"

namespace nfl::analytics::training {

namespace {

using season::Philox4x32;

constexpr double k_beta1 = 0.9;
constexpr double k_beta2 = 0.999;
constexpr double k_epsilon = 1e-8;
// Counter words that keep the training streams apart from each other and from the
// season simulator's (which use {index, index >> 32, block, 0 or 1}).
constexpr std::uint32_t k_shuffle_stream = 0x5348u; // "SH"
constexpr std::uint32_t k_init_stream = 0x494Eu;    // "IN"

// log(1 + e^s) without overflow.
double softplus(double s) { return s > 0 ? s + std::log1p(std::exp(-s)) : std::log1p(std::exp(s)); }
double sigmoid(double s) { return s >= 0 ? 1.0 / (1.0 + std::exp(-s)) : std::exp(s) / (1.0 + std::exp(s)); }

} // namespace

std::string to_string(ModelKind kind) { return kind == ModelKind::logistic ? "logistic" : "mlp"; }

ModelKind parse_model_kind(const std::string& text) {
  if (text == "logistic") {
    return ModelKind::logistic;
  }
  if (text == "mlp") {
    return ModelKind::mlp;
  }
  throw InputError(fmt::format("model: '{}' is not accepted; expected 'logistic' or 'mlp'", text));
}

Model::Model(ModelKind kind, int inputs, int hidden) : m_kind(kind), m_inputs(inputs), m_hidden(hidden) {
  if (inputs < 1) {
    throw InputError("model: needs at least one input feature");
  }
  if (kind == ModelKind::mlp && hidden < 1) {
    throw InputError(fmt::format("hidden: {}; expected at least 1", hidden));
  }
}

Eigen::Index Model::parameter_count() const {
  if (m_kind == ModelKind::logistic) {
    return m_inputs + 1;
  }
  return static_cast<Eigen::Index>(m_hidden) * m_inputs + 2 * m_hidden + 1;
}

Eigen::VectorXd Model::initial_parameters(std::uint64_t seed) const {
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(parameter_count());
  if (m_kind == ModelKind::mlp) {
    const Philox4x32 rng(seed);
    const double limit = std::sqrt(6.0 / (m_inputs + m_hidden));
    const Eigen::Index n = static_cast<Eigen::Index>(m_hidden) * m_inputs;
    for (Eigen::Index k = 0; k < n; k += 4) {
      const auto block = rng({static_cast<std::uint32_t>(k / 4), 0, 0, k_init_stream});
      for (Eigen::Index j = 0; j < 4 && k + j < n; ++j) {
        theta(k + j) = limit * (2.0 * Philox4x32::to_unit(block[static_cast<std::size_t>(j)]) - 1.0);
      }
    }
    // The output layer starts small but not zero, or every hidden unit would get the
    // same (zero) gradient through w2.
    const Eigen::Index w2 = n + m_hidden;
    for (Eigen::Index k = 0; k < m_hidden; k += 4) {
      const auto block = rng({static_cast<std::uint32_t>(k / 4), 1, 0, k_init_stream});
      for (Eigen::Index j = 0; j < 4 && k + j < m_hidden; ++j) {
        theta(w2 + k + j) = 0.1 * (2.0 * Philox4x32::to_unit(block[static_cast<std::size_t>(j)]) - 1.0);
      }
    }
  }
  return theta;
}

double Model::loss(const Eigen::VectorXd& theta, const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double l2,
                   Eigen::VectorXd* grad) const {
  const auto n = static_cast<double>(x.rows());
  if (x.rows() == 0) {
    if (grad != nullptr) {
      *grad = Eigen::VectorXd::Zero(theta.size());
    }
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (m_kind == ModelKind::logistic) {
    const auto w = theta.head(m_inputs);
    const double b = theta(m_inputs);
    const Eigen::VectorXd s = (x * w).array() + b;
    double total = 0.0;
    for (Eigen::Index i = 0; i < s.size(); ++i) {
      total += softplus(s(i)) - y(i) * s(i);
    }
    const double value = total / n + 0.5 * l2 * w.squaredNorm();
    if (grad != nullptr) {
      Eigen::VectorXd ds = s.unaryExpr([](double v) { return sigmoid(v); }) - y;
      ds /= n;
      grad->resize(theta.size());
      grad->head(m_inputs) = x.transpose() * ds + l2 * w;
      (*grad)(m_inputs) = ds.sum();
    }
    return value;
  }
  const Eigen::Index h = m_hidden;
  const Eigen::Index d = m_inputs;
  const Eigen::Map<const Eigen::MatrixXd> w1(theta.data(), h, d);
  const auto b1 = theta.segment(h * d, h);
  const auto w2 = theta.segment(h * d + h, h);
  const double b2 = theta(h * d + 2 * h);
  const Eigen::MatrixXd a = ((x * w1.transpose()).rowwise() + b1.transpose()).array().tanh();
  const Eigen::VectorXd s = (a * w2).array() + b2;
  double total = 0.0;
  for (Eigen::Index i = 0; i < s.size(); ++i) {
    total += softplus(s(i)) - y(i) * s(i);
  }
  const double value = total / n + 0.5 * l2 * (w1.squaredNorm() + w2.squaredNorm());
  if (grad != nullptr) {
    Eigen::VectorXd ds = s.unaryExpr([](double v) { return sigmoid(v); }) - y;
    ds /= n;
    grad->resize(theta.size());
    const Eigen::MatrixXd dz = ((ds * w2.transpose()).array() * (1.0 - a.array().square())).matrix();
    Eigen::Map<Eigen::MatrixXd> gw1(grad->data(), h, d);
    gw1 = dz.transpose() * x + l2 * w1;
    grad->segment(h * d, h) = dz.colwise().sum().transpose();
    grad->segment(h * d + h, h) = a.transpose() * ds + l2 * w2;
    (*grad)(h * d + 2 * h) = ds.sum();
  }
  return value;
}

Eigen::VectorXd Model::predict(const Eigen::VectorXd& theta, const Eigen::MatrixXd& x) const {
  Eigen::VectorXd s;
  if (m_kind == ModelKind::logistic) {
    s = (x * theta.head(m_inputs)).array() + theta(m_inputs);
  } else {
    const Eigen::Index h = m_hidden;
    const Eigen::Index d = m_inputs;
    const Eigen::Map<const Eigen::MatrixXd> w1(theta.data(), h, d);
    const Eigen::MatrixXd a = ((x * w1.transpose()).rowwise() + theta.segment(h * d, h).transpose()).array().tanh();
    s = (a * theta.segment(h * d + h, h)).array() + theta(h * d + 2 * h);
  }
  return s.unaryExpr([](double v) { return sigmoid(v); });
}

TrainState initial_state(const Model& model, const TrainOptions& options) {
  TrainState s;
  s.theta = model.initial_parameters(options.seed);
  s.m = Eigen::VectorXd::Zero(s.theta.size());
  s.v = Eigen::VectorXd::Zero(s.theta.size());
  return s;
}

std::vector<std::int32_t> epoch_permutation(std::uint64_t seed, int epoch, std::int32_t rows) {
  std::vector<std::int32_t> order(static_cast<std::size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  const Philox4x32 rng(seed);
  Philox4x32::Block block{};
  for (std::int32_t i = rows - 1, used = 4; i > 0; --i, ++used) {
    if (used == 4) {
      block = rng({static_cast<std::uint32_t>(epoch), static_cast<std::uint32_t>(i), 0, k_shuffle_stream});
      used = 0;
    }
    // Lemire's multiply-shift: an index in [0, i] from 32 random bits.
    const auto j = static_cast<std::int32_t>((std::uint64_t{block[static_cast<std::size_t>(used)]} *
                                              static_cast<std::uint64_t>(i + 1)) >> 32);
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

void train(const Model& model, const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const Eigen::MatrixXd& valid_x,
           const Eigen::VectorXd& valid_y, const TrainOptions& options, TrainState& state,
           const std::function<void(const TrainState&)>& after_epoch) {
  if (options.batch_size < 1) {
    throw InputError("batch_size: must be at least 1");
  }
  if (x.rows() == 0) {
    throw InputError("training data: no rows");
  }
  const auto rows = static_cast<std::int32_t>(x.rows());
  Eigen::MatrixXd bx;
  Eigen::VectorXd by;
  Eigen::VectorXd grad;
  while (state.epoch < options.epochs) {
    const int epoch = state.epoch + 1;
    const auto order = epoch_permutation(options.seed, epoch, rows);
    for (std::int32_t start = 0; start < rows; start += options.batch_size) {
      const std::int32_t count = std::min(options.batch_size, rows - start);
      bx.resize(count, x.cols());
      by.resize(count);
      for (std::int32_t r = 0; r < count; ++r) {
        bx.row(r) = x.row(order[static_cast<std::size_t>(start + r)]);
        by(r) = y(order[static_cast<std::size_t>(start + r)]);
      }
      model.loss(state.theta, bx, by, options.l2, &grad);
      ++state.step;
      const double t = static_cast<double>(state.step);
      state.m = k_beta1 * state.m + (1.0 - k_beta1) * grad;
      state.v = k_beta2 * state.v + (1.0 - k_beta2) * grad.cwiseProduct(grad);
      const double correction1 = 1.0 - std::pow(k_beta1, t);
      const double correction2 = 1.0 - std::pow(k_beta2, t);
      state.theta.array() -= options.learning_rate * (state.m.array() / correction1) /
                             ((state.v.array() / correction2).sqrt() + k_epsilon);
    }
    state.epoch = epoch;
    EpochStats stats;
    stats.epoch = epoch;
    stats.train_loss = model.loss(state.theta, x, y, 0.0);
    stats.valid_loss = model.loss(state.theta, valid_x, valid_y, 0.0);
    state.history.push_back(stats);
    if (after_epoch) {
      after_epoch(state);
    }
  }
}

Eigen::VectorXd fit_logistic_newton(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double l2,
                                    int max_iterations) {
  const Eigen::Index d = x.cols();
  const auto n = static_cast<double>(x.rows());
  Eigen::MatrixXd x1(x.rows(), d + 1);
  x1 << x, Eigen::VectorXd::Ones(x.rows());
  Eigen::VectorXd penalty = Eigen::VectorXd::Constant(d + 1, l2);
  penalty(d) = 0.0;
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(d + 1);
  for (int it = 0; it < max_iterations; ++it) {
    const Eigen::VectorXd p = (x1 * theta).unaryExpr([](double v) { return sigmoid(v); });
    const Eigen::VectorXd g = x1.transpose() * (p - y) / n + penalty.cwiseProduct(theta);
    const Eigen::VectorXd weight = p.cwiseProduct(Eigen::VectorXd::Ones(p.size()) - p) / n;
    Eigen::MatrixXd hessian = x1.transpose() * weight.asDiagonal() * x1;
    hessian.diagonal() += penalty;
    const Eigen::VectorXd step = hessian.ldlt().solve(g);
    theta -= step;
    if (step.cwiseAbs().maxCoeff() < 1e-13) {
      break;
    }
  }
  return theta;
}

} // namespace nfl::analytics::training
