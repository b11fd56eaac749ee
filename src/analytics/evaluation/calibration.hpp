#pragma once
// Probability calibration kernels (pure functions, no I/O). Each matches a named
// scikit-learn routine so tests can compare against fixtures the reference script
// tests/reference/calibration_reference.py writes:
//   fit_platt        sklearn.calibration._sigmoid_calibration(logit(p), y)
//                    (what CalibratedClassifierCV(method="sigmoid") fits), solved to
//                    convergence by Newton's method instead of BFGS with gtol 1e-5
//   IsotonicModel    sklearn.isotonic.IsotonicRegression(out_of_bounds="clip")
//   brier_score      sklearn.metrics.brier_score_loss
//   log_loss         sklearn.metrics.log_loss (eps = machine epsilon, sklearn 1.2 "auto")
//   reliability_curve sklearn.calibration.calibration_curve(strategy="uniform")
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nfl::analytics::eval {

// log(p / (1 - p)) with p clipped to [1e-15, 1 - 1e-15] so 0 and 1 stay finite.
double logit(double p);

// Platt's sigmoid in scikit-learn's sign convention: p' = 1 / (1 + exp(a*f + b)),
// f = logit(p). The identity map is a = -1, b = 0. Targets use Platt's prior
// smoothing ((N+ + 1)/(N+ + 2) and 1/(N- + 2)).
struct PlattModel {
  double a = -1.0;
  double b = 0.0;
  int iterations = 0;
  double predict(double p) const;
};
PlattModel fit_platt(const std::vector<double>& p, const std::vector<int>& y);

// Increasing isotonic regression by pool-adjacent-violators, with scikit-learn's
// handling of ties in x (targets of equal x are averaged, weights summed, before
// pooling), its trimming of redundant thresholds, and linear interpolation between
// thresholds; x outside the fitted range is clipped to it.
class IsotonicModel {
public:
  void fit(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& weight = {});
  double predict(double x) const;
  const std::vector<double>& thresholds_x() const { return m_x; }
  const std::vector<double>& thresholds_y() const { return m_y; }

private:
  std::vector<double> m_x;
  std::vector<double> m_y;
  double m_x_min = 0.0;
  double m_x_max = 0.0;
};

// Pool-adjacent-violators on y in order (weights > 0), in place: scikit-learn's
// _inplace_contiguous_isotonic_regression step for step.
void pool_adjacent_violators(std::vector<double>& y, std::vector<double>& w);

double brier_score(const std::vector<double>& p, const std::vector<int>& y);
double log_loss(const std::vector<double>& p, const std::vector<int>& y);

// Equal-width bins on [0, 1]; p goes to bin #{interior edges < p} (numpy's
// searchsorted, as calibration_curve does), so an edge value belongs to the lower bin.
struct ReliabilityBin {
  int bin = 0;
  double lower = 0.0;
  double upper = 0.0;
  std::size_t count = 0;
  double mean_predicted = 0.0;
  double observed = 0.0; // fraction of positives
};
// Only non-empty bins, in order (as calibration_curve returns them).
std::vector<ReliabilityBin> reliability_curve(const std::vector<double>& p, const std::vector<int>& y, int bins);
// sum over bins of count/N * |observed - mean_predicted|.
double expected_calibration_error(const std::vector<double>& p, const std::vector<int>& y, int bins);

// Fold of each of n items for one repeat: a Fisher-Yates shuffle from Rng(seed,
// repeat), then position % folds, so fold sizes differ by at most one.
std::vector<int> kfold_assignment(std::size_t n, int folds, std::uint64_t seed, int repeat);

enum class CalibrationMethod { platt, isotonic };
// Out-of-fold calibrated probabilities: item i is predicted by the model fitted on
// every item whose fold differs from fold[i].
std::vector<double> out_of_fold(const std::vector<double>& p, const std::vector<int>& y, const std::vector<int>& fold,
                                int folds, CalibrationMethod method);

} // namespace nfl::analytics::eval
