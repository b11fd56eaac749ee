// Copula kernels: distribution functions and Kendall's tau against SciPy (fixture
// from tests/reference/copula_reference.py), fits recovering known parameters,
// goodness of fit accepting the true family, and the combo probabilities.
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analytics/evaluation/copula.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::analytics::eval {
namespace {

nlohmann::json reference() {
  static const auto j = nlohmann::json::parse(
      read_file(std::filesystem::path(NFL_SOURCE_DIR) / "tests/reference/fixtures/copula_reference.json"));
  return j;
}

TEST(CopulaReference, QuantilesAndDistributionFunctionsMatchScipy) {
  const auto j = reference();
  for (const auto& row : j["normal_ppf"]) {
    EXPECT_NEAR(normal_quantile(row[0].get<double>()), row[1].get<double>(), 1e-12) << row.dump();
  }
  for (const auto& row : j["t_ppf"]) {
    // SciPy 1.10's t.ppf (cephes stdtri) is good to ~1e-9 relative; ours inverts the
    // CDF to round-off, which the second check pins down.
    const double p = row[0].get<double>();
    const double nu = row[1].get<double>();
    const double expected = row[2].get<double>();
    const double q = student_t_quantile(p, nu);
    EXPECT_NEAR(q, expected, 1e-8 * std::max(1.0, std::abs(expected))) << row.dump();
    EXPECT_NEAR(student_t_cdf(q, nu), p, 1e-12 * p + 1e-15) << row.dump();
  }
  for (const auto& row : j["t_cdf"]) {
    EXPECT_NEAR(student_t_cdf(row[0].get<double>(), row[1].get<double>()), row[2].get<double>(), 1e-13)
        << row.dump();
  }
  for (const auto& d : j["log_density"]) {
    const double rho = d["rho"].get<double>();
    const double u = d["u"].get<double>();
    const double v = d["v"].get<double>();
    EXPECT_NEAR(copula_log_density({CopulaFamily::student_t, rho, d["nu"].get<double>()}, u, v),
                d["log_t"].get<double>(), 1e-7); // the reference's latent x comes from SciPy's t.ppf (~1e-9)
    EXPECT_NEAR(copula_log_density({CopulaFamily::gaussian, rho, 0.0}, u, v), d["log_gaussian"].get<double>(), 1e-9);
  }
}

TEST(CopulaReference, KendallTauBAndRanksMatchScipyWithAndWithoutTies) {
  const auto j = reference();
  const auto home = j["scores_2020_2024"]["home"].get<std::vector<double>>();
  const auto away = j["scores_2020_2024"]["away"].get<std::vector<double>>();
  EXPECT_NEAR(kendall_tau(home, away), j["scores_2020_2024"]["tau_b"].get<double>(), 1e-12);
  const auto ranks = average_ranks(home);
  const auto expected = j["scores_2020_2024"]["ranks_home_first20"].get<std::vector<double>>();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_DOUBLE_EQ(ranks[i], expected[i]);
  }
  EXPECT_NEAR(kendall_tau(j["synthetic"]["x"].get<std::vector<double>>(), j["synthetic"]["y"].get<std::vector<double>>()),
              j["synthetic"]["tau_b"].get<double>(), 1e-12);
}

TEST(Copula, DominanceCountsEqualBruteForce) {
  std::vector<double> z1;
  std::vector<double> z2;
  simulate_latent({CopulaFamily::gaussian, 0.4, 0}, 500, 3, 0, z1, z2);
  for (auto& x : z1) {
    x = std::round(x * 4) / 4; // ties
  }
  std::vector<double> qa = {-1, 0, 0.25, 2, -5};
  std::vector<double> qb = {0, 0, 0.25, 1, 5};
  const auto counts = dominance_counts(z1, z2, qa, qb);
  for (std::size_t q = 0; q < qa.size(); ++q) {
    std::size_t brute = 0;
    for (std::size_t i = 0; i < z1.size(); ++i) {
      brute += (z1[i] <= qa[q] && z2[i] <= qb[q]) ? 1 : 0;
    }
    EXPECT_EQ(counts[q], brute) << q;
  }
}

TEST(Copula, FitsRecoverSimulatedParameters) {
  std::vector<double> z1;
  std::vector<double> z2;
  simulate_latent({CopulaFamily::student_t, 0.5, 4.0}, 4000, 11, 0, z1, z2);
  const auto u = pseudo_observations(z1);
  const auto v = pseudo_observations(z2);
  const double tau = kendall_tau(u, v);
  const auto t = fit_copula(u, v, tau, CopulaFamily::student_t);
  EXPECT_NEAR(t.params.rho, 0.5, 0.04);
  EXPECT_GE(t.params.nu, 3.0);
  EXPECT_LE(t.params.nu, 6.0);
  const auto g = fit_copula(u, v, tau, CopulaFamily::gaussian);
  EXPECT_DOUBLE_EQ(g.params.rho, t.params.rho);
  EXPECT_GT(t.log_likelihood, g.log_likelihood); // tail dependence the Gaussian lacks
  EXPECT_EQ(t.profile.size(), t_nu_grid().size());
}

TEST(Copula, GoodnessOfFitAcceptsTheTrueFamilyAndRejectsAWrongOne) {
  std::vector<double> z1;
  std::vector<double> z2;
  simulate_latent({CopulaFamily::gaussian, 0.6, 0}, 400, 5, 0, z1, z2);
  const auto u = pseudo_observations(z1);
  const auto v = pseudo_observations(z2);
  const auto fit = fit_copula(u, v, kendall_tau(u, v), CopulaFamily::gaussian);
  const auto gof = copula_goodness_of_fit(u, v, fit, 60, 4000, 9);
  EXPECT_GT(gof.p_value, 0.05);
  // A strongly asymmetric dependence (max of two normals) is not Gaussian... but with
  // n = 400 the test still has power against a clearly wrong structure: counter-monotone
  // tails glued to a positive body.
  std::vector<double> a(400);
  std::vector<double> b(400);
  for (std::size_t i = 0; i < 400; ++i) {
    const double x = z1[i];
    a[i] = x;
    b[i] = std::abs(x) > 1.0 ? -x : x; // non-monotone dependence
  }
  const auto ua = pseudo_observations(a);
  const auto ub = pseudo_observations(b);
  const auto bad = fit_copula(ua, ub, kendall_tau(ua, ub), CopulaFamily::gaussian);
  EXPECT_LT(copula_goodness_of_fit(ua, ub, bad, 60, 4000, 9).p_value, 0.05);
  // Same seed, same answer.
  EXPECT_EQ(copula_goodness_of_fit(u, v, fit, 20, 2000, 3).statistic,
            copula_goodness_of_fit(u, v, fit, 20, 2000, 3).statistic);
}

TEST(Copula, ComboProbabilitiesFromIndependentMarginalsMatchTheProduct) {
  // Scores drawn independently: the copula fitted to them has rho ~ 0, and P(cover and
  // over) from the copula, the independence copula and the data must agree.
  std::vector<double> z1;
  std::vector<double> z2;
  simulate_latent({CopulaFamily::gaussian, 0.0, 0}, 3000, 21, 0, z1, z2);
  std::vector<double> home(3000);
  std::vector<double> away(3000);
  for (std::size_t i = 0; i < 3000; ++i) {
    home[i] = std::round(24 + 10 * z1[i]);
    away[i] = std::round(21 + 10 * z2[i]);
  }
  const auto combos = combo_probabilities(home, away, {CopulaFamily::gaussian, 0.0, 0}, {{2.5, 44.5}, {-3.5, 40.5}},
                                          100000, 4);
  ASSERT_EQ(combos.size(), 2u);
  for (const auto& c : combos) {
    EXPECT_NEAR(c.copula, c.independent, 0.01);
    EXPECT_NEAR(c.copula, c.empirical, 0.025);
    EXPECT_GT(c.copula, 0.05);
  }
}

} // namespace
} // namespace nfl::analytics::eval
