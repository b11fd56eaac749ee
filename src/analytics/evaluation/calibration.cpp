#include "analytics/evaluation/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "analytics/evaluation/common.hpp"
#include "util/error.hpp"

namespace nfl::analytics::eval {

namespace {

void check_same_size(std::size_t a, std::size_t b, const char* what) {
  if (a != b) {
    throw InputError(fmt::format("{}: {} probabilities but {} outcomes", what, a, b));
  }
}

// log(1 + exp(z)) without overflow.
double softplus(double z) { return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)); }

double expit(double z) {
  if (z >= 0) {
    return 1.0 / (1.0 + std::exp(-z));
  }
  const double e = std::exp(z);
  return e / (1.0 + e);
}

} // namespace

double logit(double p) {
  constexpr double k_eps = 1e-15;
  const double q = std::clamp(p, k_eps, 1.0 - k_eps);
  return std::log(q / (1.0 - q));
}

double PlattModel::predict(double p) const { return expit(-(a * logit(p) + b)); }

PlattModel fit_platt(const std::vector<double>& p, const std::vector<int>& y) {
  check_same_size(p.size(), y.size(), "platt");
  if (p.empty()) {
    throw InputError("platt: no data to fit");
  }
  const std::size_t n = p.size();
  std::vector<double> f(n);
  std::vector<double> t(n);
  double prior1 = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    prior1 += y[i] > 0 ? 1.0 : 0.0;
  }
  const double prior0 = static_cast<double>(n) - prior1;
  const double hi = (prior1 + 1.0) / (prior1 + 2.0);
  const double lo = 1.0 / (prior0 + 2.0);
  for (std::size_t i = 0; i < n; ++i) {
    f[i] = logit(p[i]);
    t[i] = y[i] > 0 ? hi : lo;
  }
  // Objective in z = a f + b: sum softplus(z) - (1 - t) z  (= -[t log P + (1-t) log(1-P)], P = expit(-z)).
  auto objective = [&](double a, double b) {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double z = a * f[i] + b;
      s += softplus(z) - (1.0 - t[i]) * z;
    }
    return s;
  };
  PlattModel m;
  m.a = 0.0;
  m.b = std::log((prior0 + 1.0) / (prior1 + 1.0));
  double current = objective(m.a, m.b);
  for (int iter = 0; iter < 100; ++iter) {
    double ga = 0.0;
    double gb = 0.0;
    double haa = 0.0;
    double hab = 0.0;
    double hbb = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double pz = expit(-(m.a * f[i] + m.b));
      const double r = t[i] - pz;
      const double h = pz * (1.0 - pz);
      ga += r * f[i];
      gb += r;
      haa += h * f[i] * f[i];
      hab += h * f[i];
      hbb += h;
    }
    m.iterations = iter;
    const double det = haa * hbb - hab * hab;
    if (std::abs(ga) + std::abs(gb) < 1e-13 * static_cast<double>(n) || !(det > 0.0)) {
      break;
    }
    const double da = (hbb * ga - hab * gb) / det;
    const double db = (haa * gb - hab * ga) / det;
    double step = 1.0;
    double next = objective(m.a - da, m.b - db);
    while (next > current + 1e-12 * std::abs(current) && step > 1e-10) {
      step *= 0.5;
      next = objective(m.a - step * da, m.b - step * db);
    }
    m.a -= step * da;
    m.b -= step * db;
    const bool tiny = std::abs(step * da) + std::abs(step * db) < 1e-15 * (1.0 + std::abs(m.a) + std::abs(m.b));
    current = next;
    if (tiny) {
      break;
    }
  }
  return m;
}

void pool_adjacent_violators(std::vector<double>& y, std::vector<double>& w) {
  const std::size_t n = y.size();
  if (n == 0) {
    return;
  }
  std::vector<std::size_t> target(n);
  std::iota(target.begin(), target.end(), 0);
  std::size_t i = 0;
  while (i < n) {
    std::size_t k = target[i] + 1;
    if (k == n) {
      break;
    }
    if (y[i] < y[k]) {
      i = k;
      continue;
    }
    double sum_wy = w[i] * y[i];
    double sum_w = w[i];
    for (;;) {
      const double prev_y = y[k];
      sum_wy += w[k] * y[k];
      sum_w += w[k];
      k = target[k] + 1;
      if (k == n || prev_y < y[k]) {
        y[i] = sum_wy / sum_w;
        w[i] = sum_w;
        target[i] = k - 1;
        target[k - 1] = i;
        if (i > 0) {
          i = target[i - 1];
        }
        break;
      }
    }
  }
  i = 0;
  while (i < n) {
    const std::size_t k = target[i] + 1;
    for (std::size_t j = i + 1; j < k; ++j) {
      y[j] = y[i];
    }
    i = k;
  }
}

void IsotonicModel::fit(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& weight) {
  if (x.size() != y.size() || (!weight.empty() && weight.size() != x.size())) {
    throw InputError(fmt::format("isotonic: x, y and weight sizes differ ({}, {}, {})", x.size(), y.size(),
                                 weight.size()));
  }
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
      throw InputError(fmt::format("isotonic: non-finite value at index {}", i));
    }
    if (weight.empty() || weight[i] > 0.0) {
      order.push_back(i);
    }
  }
  if (order.empty()) {
    throw InputError("isotonic: no data to fit");
  }
  // np.lexsort((y, X)): by x, then y; stable.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t l, std::size_t r) {
    return x[l] < x[r] || (x[l] == x[r] && y[l] < y[r]);
  });
  // _make_unique: merge runs whose x is within resolution (1e-15) of the run's first x.
  constexpr double k_resolution = 1e-15;
  std::vector<double> ux;
  std::vector<double> uy;
  std::vector<double> uw;
  double current_x = x[order[0]];
  double current_y = 0.0;
  double current_w = 0.0;
  for (const std::size_t j : order) {
    const double wj = weight.empty() ? 1.0 : weight[j];
    if (x[j] - current_x >= k_resolution) {
      ux.push_back(current_x);
      uw.push_back(current_w);
      uy.push_back(current_y / current_w);
      current_x = x[j];
      current_w = wj;
      current_y = y[j] * wj;
    } else {
      current_w += wj;
      current_y += y[j] * wj;
    }
  }
  ux.push_back(current_x);
  uw.push_back(current_w);
  uy.push_back(current_y / current_w);

  pool_adjacent_violators(uy, uw);
  m_x_min = ux.front();
  m_x_max = ux.back();
  m_x.clear();
  m_y.clear();
  for (std::size_t i = 0; i < uy.size(); ++i) {
    const bool inner = i > 0 && i + 1 < uy.size();
    if (!inner || uy[i] != uy[i - 1] || uy[i] != uy[i + 1]) {
      m_x.push_back(ux[i]);
      m_y.push_back(uy[i]);
    }
  }
}

double IsotonicModel::predict(double x) const {
  if (m_x.empty()) {
    throw InternalError("isotonic: predict before fit");
  }
  if (m_x.size() == 1) {
    return m_y[0];
  }
  const double v = std::clamp(x, m_x_min, m_x_max);
  // scipy interp1d(kind="linear"): searchsorted(left), clipped to [1, n-1].
  auto idx = static_cast<std::size_t>(std::lower_bound(m_x.begin(), m_x.end(), v) - m_x.begin());
  idx = std::clamp<std::size_t>(idx, 1, m_x.size() - 1);
  const double x_lo = m_x[idx - 1];
  const double x_hi = m_x[idx];
  const double y_lo = m_y[idx - 1];
  const double y_hi = m_y[idx];
  const double slope = (y_hi - y_lo) / (x_hi - x_lo);
  return slope * (v - x_lo) + y_lo;
}

double brier_score(const std::vector<double>& p, const std::vector<int>& y) {
  check_same_size(p.size(), y.size(), "brier");
  if (p.empty()) {
    throw InputError("brier: no data");
  }
  double s = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double d = (y[i] > 0 ? 1.0 : 0.0) - p[i];
    s += d * d;
  }
  return s / static_cast<double>(p.size());
}

double log_loss(const std::vector<double>& p, const std::vector<int>& y) {
  check_same_size(p.size(), y.size(), "log_loss");
  if (p.empty()) {
    throw InputError("log_loss: no data");
  }
  constexpr double k_eps = std::numeric_limits<double>::epsilon();
  double s = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double q = std::clamp(p[i], k_eps, 1.0 - k_eps);
    const double total = (1.0 - q) + q;
    s -= y[i] > 0 ? std::log(q / total) : std::log((1.0 - q) / total);
  }
  return s / static_cast<double>(p.size());
}

std::vector<ReliabilityBin> reliability_curve(const std::vector<double>& p, const std::vector<int>& y, int bins) {
  check_same_size(p.size(), y.size(), "reliability");
  if (bins < 1) {
    throw InputError(fmt::format("bins: must be at least 1, got {}", bins));
  }
  const double step = 1.0 / bins;
  std::vector<double> edges(static_cast<std::size_t>(bins) + 1);
  for (int i = 0; i <= bins; ++i) {
    edges[static_cast<std::size_t>(i)] = i * step;
  }
  edges.back() = 1.0;
  std::vector<double> sum_p(static_cast<std::size_t>(bins), 0.0);
  std::vector<double> sum_y(static_cast<std::size_t>(bins), 0.0);
  std::vector<std::size_t> count(static_cast<std::size_t>(bins), 0);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!(p[i] >= 0.0 && p[i] <= 1.0)) {
      throw InputError(fmt::format("reliability: probability {} at index {} is outside [0, 1]", p[i], i));
    }
    // interior edges are edges[1..bins-1]; bin = number of them strictly below p.
    const auto b = static_cast<std::size_t>(std::lower_bound(edges.begin() + 1, edges.end() - 1, p[i]) -
                                            (edges.begin() + 1));
    sum_p[b] += p[i];
    sum_y[b] += y[i] > 0 ? 1.0 : 0.0;
    ++count[b];
  }
  std::vector<ReliabilityBin> out;
  for (std::size_t b = 0; b < count.size(); ++b) {
    if (count[b] == 0) {
      continue;
    }
    ReliabilityBin r;
    r.bin = static_cast<int>(b);
    r.lower = edges[b];
    r.upper = edges[b + 1];
    r.count = count[b];
    r.mean_predicted = sum_p[b] / static_cast<double>(count[b]);
    r.observed = sum_y[b] / static_cast<double>(count[b]);
    out.push_back(r);
  }
  return out;
}

double expected_calibration_error(const std::vector<double>& p, const std::vector<int>& y, int bins) {
  const auto curve = reliability_curve(p, y, bins);
  double ece = 0.0;
  for (const auto& b : curve) {
    ece += static_cast<double>(b.count) * std::abs(b.observed - b.mean_predicted);
  }
  return p.empty() ? 0.0 : ece / static_cast<double>(p.size());
}

std::vector<int> kfold_assignment(std::size_t n, int folds, std::uint64_t seed, int repeat) {
  if (folds < 2) {
    throw InputError(fmt::format("folds: must be at least 2, got {}", folds));
  }
  if (n < static_cast<std::size_t>(folds)) {
    throw InputError(fmt::format("folds: {} folds need at least {} items, got {}", folds, folds, n));
  }
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  Rng rng(seed, static_cast<std::uint64_t>(repeat));
  for (std::size_t i = n; i > 1; --i) {
    std::swap(perm[i - 1], perm[rng.below(i)]);
  }
  std::vector<int> fold(n);
  for (std::size_t pos = 0; pos < n; ++pos) {
    fold[perm[pos]] = static_cast<int>(pos % static_cast<std::size_t>(folds));
  }
  return fold;
}

std::vector<double> out_of_fold(const std::vector<double>& p, const std::vector<int>& y, const std::vector<int>& fold,
                                int folds, CalibrationMethod method) {
  check_same_size(p.size(), y.size(), "cross-validation");
  if (fold.size() != p.size()) {
    throw InputError("cross-validation: fold assignment size differs from the data");
  }
  std::vector<double> out(p.size(), 0.0);
  for (int k = 0; k < folds; ++k) {
    std::vector<double> train_p;
    std::vector<int> train_y;
    std::vector<double> train_yd;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (fold[i] != k) {
        train_p.push_back(p[i]);
        train_y.push_back(y[i]);
        train_yd.push_back(y[i] > 0 ? 1.0 : 0.0);
      }
    }
    if (method == CalibrationMethod::platt) {
      const auto model = fit_platt(train_p, train_y);
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (fold[i] == k) {
          out[i] = model.predict(p[i]);
        }
      }
    } else {
      IsotonicModel model;
      model.fit(train_p, train_yd);
      for (std::size_t i = 0; i < p.size(); ++i) {
        if (fold[i] == k) {
          out[i] = model.predict(p[i]);
        }
      }
    }
  }
  return out;
}

} // namespace nfl::analytics::eval
