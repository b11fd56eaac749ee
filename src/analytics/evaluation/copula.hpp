#pragma once
// Bivariate copula kernels for (home score, away score): pseudo-observations,
// Kendall's tau, Gaussian and Student-t fits, a parametric-bootstrap
// Cramér-von Mises goodness-of-fit test, and implied spread/total probabilities.
// Pure functions; definitions and choices in docs/analytics-evaluation.md.
#include "analytics/normal.hpp"
#include <cstdint>
#include <vector>

namespace nfl::analytics::eval {

// Standard normal and Student-t distribution functions (double precision).
using analytics::normal_cdf;
using analytics::normal_quantile;
double student_t_cdf(double x, double nu);
double student_t_quantile(double p, double nu);
// Regularised incomplete beta I_x(a, b).
double incomplete_beta(double a, double b, double x);

// 1-based ranks, ties get the average rank (scipy.stats.rankdata "average").
std::vector<double> average_ranks(const std::vector<double>& x);
// rank / (n + 1).
std::vector<double> pseudo_observations(const std::vector<double>& x);
// Kendall's tau-b (ties corrected, as scipy.stats.kendalltau), O(n log n).
double kendall_tau(const std::vector<double>& x, const std::vector<double>& y);

enum class CopulaFamily { gaussian, student_t };

struct CopulaParams {
  CopulaFamily family = CopulaFamily::gaussian;
  double rho = 0.0;
  double nu = 0.0; // degrees of freedom (student_t only)
};

// Log density of the copula at (u, v) in (0,1)^2.
double copula_log_density(const CopulaParams& c, double u, double v);

// The candidate degrees of freedom for the t profile likelihood.
const std::vector<double>& t_nu_grid();

struct CopulaFit {
  CopulaParams params;
  double tau = 0.0;
  double log_likelihood = 0.0;
  std::vector<std::pair<double, double>> profile; // (nu, log likelihood at rho(tau)) for t
};
// rho = sin(pi tau / 2) from Kendall's tau; for t, nu maximises the likelihood over
// t_nu_grid() at that rho.
CopulaFit fit_copula(const std::vector<double>& u, const std::vector<double>& v, double tau, CopulaFamily family);

// Draws n latent pairs (z1, z2) whose copula is `c` (normal or t variates; apply
// normal_cdf / student_t_cdf for uniforms).
void simulate_latent(const CopulaParams& c, std::size_t n, std::uint64_t seed, std::uint64_t stream,
                     std::vector<double>& z1, std::vector<double>& z2);

// For each query i: #{j : a_j <= qa_i and b_j <= qb_i} (offline sweep, Fenwick tree).
std::vector<std::size_t> dominance_counts(const std::vector<double>& a, const std::vector<double>& b,
                                          const std::vector<double>& qa, const std::vector<double>& qb);

struct GoodnessOfFit {
  double statistic = 0.0; // S_n = sum_i (C_n(u_i,v_i) - C_theta(u_i,v_i))^2
  double p_value = 0.0;   // (1 + #{S_b >= S_n}) / (B + 1)
  int bootstrap = 0;
  std::size_t reference_size = 0; // simulated points approximating C_theta
};
// Parametric bootstrap (Genest, Remillard & Beaudoin 2009): S_n on the data, then B
// samples of size n from the fitted copula, each re-fitted the same way.
GoodnessOfFit copula_goodness_of_fit(const std::vector<double>& u, const std::vector<double>& v,
                                     const CopulaFit& fit, int bootstrap, std::size_t reference_size,
                                     std::uint64_t seed);

struct ComboProbability {
  double spread = 0.0; // home covers: home - away > spread
  double total = 0.0;  // over: home + away > total
  double copula = 0.0; // from the fitted copula with empirical marginals (simulation)
  double independent = 0.0; // same marginals, independence copula
  double empirical = 0.0;   // frequency in the data
};
// P(home covers AND over) for each (spread, total), from `draws` simulated pairs.
std::vector<ComboProbability> combo_probabilities(const std::vector<double>& home, const std::vector<double>& away,
                                                  const CopulaParams& c,
                                                  const std::vector<std::pair<double, double>>& lines,
                                                  std::size_t draws, std::uint64_t seed);

} // namespace nfl::analytics::eval
