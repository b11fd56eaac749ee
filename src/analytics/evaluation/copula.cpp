#include "analytics/evaluation/copula.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include <fmt/format.h>
#include <tbb/parallel_for.h>

#include "analytics/evaluation/common.hpp"
#include "util/error.hpp"

namespace nfl::analytics::eval {

namespace {

constexpr double k_pi = 3.14159265358979323846;

// Continued fraction for the incomplete beta (modified Lentz).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double k_tiny = 1e-300;
  const double qab = a + b;
  const double qap = a + 1.0;
  const double qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::abs(d) < k_tiny) {
    d = k_tiny;
  }
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    d = std::abs(d) < k_tiny ? k_tiny : d;
    c = 1.0 + aa / c;
    c = std::abs(c) < k_tiny ? k_tiny : c;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    d = std::abs(d) < k_tiny ? k_tiny : d;
    c = 1.0 + aa / c;
    c = std::abs(c) < k_tiny ? k_tiny : c;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1.0) < 1e-16) {
      break;
    }
  }
  return h;
}

// Precomputed constants of the t copula log density for one (rho, nu).
struct TCopulaTerms {
  double rho;
  double nu;
  double constant; // log f2 constant - 2 * log f1 constant
  double one_minus_r2;
  TCopulaTerms(double r, double n) : rho(r), nu(n), one_minus_r2(1.0 - r * r) {
    const double c2 = std::lgamma((nu + 2.0) / 2.0) - std::lgamma(nu / 2.0) - std::log(nu * k_pi) -
                      0.5 * std::log(one_minus_r2);
    const double c1 = std::lgamma((nu + 1.0) / 2.0) - std::lgamma(nu / 2.0) - 0.5 * std::log(nu * k_pi);
    constant = c2 - 2.0 * c1;
  }
  double operator()(double x, double y) const {
    const double q = (x * x - 2.0 * rho * x * y + y * y) / (nu * one_minus_r2);
    return constant - (nu + 2.0) / 2.0 * std::log1p(q) +
           (nu + 1.0) / 2.0 * (std::log1p(x * x / nu) + std::log1p(y * y / nu));
  }
};

double gaussian_log_density_latent(double rho, double x, double y) {
  const double r2 = 1.0 - rho * rho;
  return -0.5 * std::log(r2) - (rho * rho * (x * x + y * y) - 2.0 * rho * x * y) / (2.0 * r2);
}

double latent_quantile(const CopulaParams& c, double u) {
  return c.family == CopulaFamily::gaussian ? normal_quantile(u) : student_t_quantile(u, c.nu);
}

double latent_cdf(const CopulaParams& c, double x) {
  return c.family == CopulaFamily::gaussian ? normal_cdf(x) : student_t_cdf(x, c.nu);
}

double rho_from_tau(double tau) { return std::sin(k_pi * tau / 2.0); }

// Largest rho we let a fit reach: keeps 1 - rho^2 away from 0.
double clamp_rho(double rho) { return std::clamp(rho, -0.999, 0.999); }

std::vector<double> quantiles_cached(const std::vector<double>& u, const CopulaParams& c) {
  std::map<double, double> cache;
  std::vector<double> out(u.size());
  for (std::size_t i = 0; i < u.size(); ++i) {
    auto it = cache.find(u[i]);
    if (it == cache.end()) {
      it = cache.emplace(u[i], latent_quantile(c, u[i])).first;
    }
    out[i] = it->second;
  }
  return out;
}

std::vector<std::size_t> ranks_of(const std::vector<double>& z) {
  std::vector<std::size_t> order(z.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return z[a] < z[b]; });
  std::vector<std::size_t> rank(z.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    rank[order[k]] = k + 1;
  }
  return rank;
}

} // namespace


double incomplete_beta(double a, double b, double x) {
  if (x <= 0.0) {
    return 0.0;
  }
  if (x >= 1.0) {
    return 1.0;
  }
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0)) {
    return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  }
  return 1.0 - std::exp(log_front) * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_cdf(double x, double nu) {
  if (!(nu > 0)) {
    throw InputError(fmt::format("student_t: degrees of freedom must be positive, got {}", nu));
  }
  if (std::isinf(x)) {
    return x > 0 ? 1.0 : 0.0;
  }
  const double tail = 0.5 * incomplete_beta(nu / 2.0, 0.5, nu / (nu + x * x));
  return x > 0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double nu) {
  if (!(p > 0.0 && p < 1.0)) {
    if (p == 0.0 || p == 1.0) {
      return p == 0.0 ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    }
    throw InputError(fmt::format("student_t_quantile: p = {} is outside [0, 1]", p));
  }
  if (p == 0.5) {
    return 0.0;
  }
  if (p > 0.5) {
    return -student_t_quantile(1.0 - p, nu);
  }
  if (nu == 1.0) {
    return std::tan(k_pi * (p - 0.5));
  }
  if (nu == 2.0) {
    return (2.0 * p - 1.0) / std::sqrt(2.0 * p * (1.0 - p));
  }
  // Lower tail: Newton from a bracket-safe start, bisection as a guard.
  double lo = -1.0;
  while (student_t_cdf(lo, nu) > p) {
    lo *= 2.0;
  }
  double hi = 0.0;
  double x = std::max(lo, normal_quantile(p) * std::sqrt(nu / std::max(nu - 2.0, 0.5)));
  x = std::min(x, hi);
  const double log_c = std::lgamma((nu + 1.0) / 2.0) - std::lgamma(nu / 2.0) - 0.5 * std::log(nu * k_pi);
  for (int iter = 0; iter < 200; ++iter) {
    const double f = student_t_cdf(x, nu) - p;
    if (f > 0) {
      hi = x;
    } else {
      lo = x;
    }
    const double dens = std::exp(log_c - (nu + 1.0) / 2.0 * std::log1p(x * x / nu));
    double next = x - f / dens;
    if (!(next > lo && next < hi)) {
      next = 0.5 * (lo + hi);
    }
    if (std::abs(next - x) <= 1e-14 * std::max(1.0, std::abs(x))) {
      return next;
    }
    x = next;
  }
  return x;
}

std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<std::size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  std::vector<double> rank(x.size());
  std::size_t i = 0;
  while (i < order.size()) {
    std::size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) {
      ++j;
    }
    const double avg = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2.0;
    for (std::size_t k = i; k <= j; ++k) {
      rank[order[k]] = avg;
    }
    i = j + 1;
  }
  return rank;
}

std::vector<double> pseudo_observations(const std::vector<double>& x) {
  auto r = average_ranks(x);
  const double n1 = static_cast<double>(x.size()) + 1.0;
  for (auto& v : r) {
    v /= n1;
  }
  return r;
}

double kendall_tau(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size()) {
    throw InputError("kendall_tau: x and y sizes differ");
  }
  const std::size_t n = x.size();
  if (n < 2) {
    return std::nan("");
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return x[a] < x[b] || (x[a] == x[b] && y[a] < y[b]); });
  auto pairs = [](double t) { return t * (t - 1.0) / 2.0; };
  double n1 = 0.0;
  double n3 = 0.0;
  std::size_t i = 0;
  while (i < n) {
    std::size_t j = i;
    std::size_t k = i;
    while (j + 1 < n && x[order[j + 1]] == x[order[i]]) {
      ++j;
    }
    n1 += pairs(static_cast<double>(j - i + 1));
    for (std::size_t s = i; s <= j; s = k + 1) {
      k = s;
      while (k + 1 <= j && y[order[k + 1]] == y[order[s]]) {
        ++k;
      }
      n3 += pairs(static_cast<double>(k - s + 1));
    }
    i = j + 1;
  }
  // Merge sort the y's in x order, counting exchanges (discordant pairs).
  std::vector<double> ys(n);
  for (std::size_t k = 0; k < n; ++k) {
    ys[k] = y[order[k]];
  }
  std::vector<double> buf(n);
  double swaps = 0.0;
  for (std::size_t width = 1; width < n; width *= 2) {
    for (std::size_t lo = 0; lo < n; lo += 2 * width) {
      const std::size_t mid = std::min(lo + width, n);
      const std::size_t hi = std::min(lo + 2 * width, n);
      std::size_t a = lo;
      std::size_t b = mid;
      std::size_t out = lo;
      while (a < mid && b < hi) {
        if (ys[b] < ys[a]) {
          swaps += static_cast<double>(mid - a);
          buf[out++] = ys[b++];
        } else {
          buf[out++] = ys[a++];
        }
      }
      while (a < mid) {
        buf[out++] = ys[a++];
      }
      while (b < hi) {
        buf[out++] = ys[b++];
      }
    }
    std::swap(ys, buf);
  }
  double n2 = 0.0;
  i = 0;
  while (i < n) {
    std::size_t j = i;
    while (j + 1 < n && ys[j + 1] == ys[i]) {
      ++j;
    }
    n2 += pairs(static_cast<double>(j - i + 1));
    i = j + 1;
  }
  const double n0 = pairs(static_cast<double>(n));
  const double denom = std::sqrt((n0 - n1) * (n0 - n2));
  return denom > 0 ? (n0 - n1 - n2 + n3 - 2.0 * swaps) / denom : std::nan("");
}

double copula_log_density(const CopulaParams& c, double u, double v) {
  const double x = latent_quantile(c, u);
  const double y = latent_quantile(c, v);
  if (c.family == CopulaFamily::gaussian) {
    return gaussian_log_density_latent(c.rho, x, y);
  }
  return TCopulaTerms(c.rho, c.nu)(x, y);
}

const std::vector<double>& t_nu_grid() {
  static const std::vector<double> grid = [] {
    std::vector<double> g;
    for (int k = 1; k <= 30; ++k) {
      g.push_back(k);
    }
    for (const double k : {35.0, 40.0, 50.0, 60.0, 80.0, 100.0}) {
      g.push_back(k);
    }
    return g;
  }();
  return grid;
}

CopulaFit fit_copula(const std::vector<double>& u, const std::vector<double>& v, double tau, CopulaFamily family) {
  if (u.size() != v.size() || u.size() < 3) {
    throw InputError(fmt::format("copula: need at least 3 paired observations, got {} and {}", u.size(), v.size()));
  }
  CopulaFit fit;
  fit.tau = tau;
  fit.params.family = family;
  fit.params.rho = clamp_rho(rho_from_tau(tau));
  if (family == CopulaFamily::gaussian) {
    const auto x = quantiles_cached(u, fit.params);
    const auto y = quantiles_cached(v, fit.params);
    for (std::size_t i = 0; i < x.size(); ++i) {
      fit.log_likelihood += gaussian_log_density_latent(fit.params.rho, x[i], y[i]);
    }
    return fit;
  }
  fit.log_likelihood = -std::numeric_limits<double>::infinity();
  for (const double nu : t_nu_grid()) {
    CopulaParams c{CopulaFamily::student_t, fit.params.rho, nu};
    const auto x = quantiles_cached(u, c);
    const auto y = quantiles_cached(v, c);
    const TCopulaTerms terms(c.rho, nu);
    double ll = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      ll += terms(x[i], y[i]);
    }
    fit.profile.emplace_back(nu, ll);
    if (ll > fit.log_likelihood) {
      fit.log_likelihood = ll;
      fit.params.nu = nu;
    }
  }
  return fit;
}

void simulate_latent(const CopulaParams& c, std::size_t n, std::uint64_t seed, std::uint64_t stream,
                     std::vector<double>& z1, std::vector<double>& z2) {
  Rng rng(seed, stream);
  z1.resize(n);
  z2.resize(n);
  const double s = std::sqrt(1.0 - c.rho * c.rho);
  for (std::size_t i = 0; i < n; ++i) {
    const double a = rng.normal();
    const double b = c.rho * a + s * rng.normal();
    if (c.family == CopulaFamily::student_t) {
      const double scale = std::sqrt(c.nu / rng.chi_square(c.nu));
      z1[i] = a * scale;
      z2[i] = b * scale;
    } else {
      z1[i] = a;
      z2[i] = b;
    }
  }
}

std::vector<std::size_t> dominance_counts(const std::vector<double>& a, const std::vector<double>& b,
                                          const std::vector<double>& qa, const std::vector<double>& qb) {
  const std::size_t m = a.size();
  std::vector<double> bs(b);
  std::sort(bs.begin(), bs.end());
  std::vector<std::size_t> ref(m);
  std::iota(ref.begin(), ref.end(), 0);
  std::sort(ref.begin(), ref.end(), [&](std::size_t l, std::size_t r) { return a[l] < a[r]; });
  std::vector<std::size_t> qs(qa.size());
  std::iota(qs.begin(), qs.end(), 0);
  std::sort(qs.begin(), qs.end(), [&](std::size_t l, std::size_t r) { return qa[l] < qa[r]; });
  std::vector<std::size_t> tree(m + 1, 0);
  std::vector<std::size_t> out(qa.size(), 0);
  std::size_t next = 0;
  for (const std::size_t q : qs) {
    while (next < m && a[ref[next]] <= qa[q]) {
      // 1-based position of b among the sorted b's (ties share the last position).
      auto pos = static_cast<std::size_t>(std::upper_bound(bs.begin(), bs.end(), b[ref[next]]) - bs.begin());
      for (; pos <= m; pos += pos & (~pos + 1)) {
        ++tree[pos];
      }
      ++next;
    }
    auto pos = static_cast<std::size_t>(std::upper_bound(bs.begin(), bs.end(), qb[q]) - bs.begin());
    std::size_t count = 0;
    for (; pos > 0; pos -= pos & (~pos + 1)) {
      count += tree[pos];
    }
    out[q] = count;
  }
  return out;
}

namespace {

double cvm_statistic(const std::vector<std::size_t>& empirical, std::size_t n, const std::vector<std::size_t>& model,
                     std::size_t m) {
  double s = 0.0;
  for (std::size_t i = 0; i < empirical.size(); ++i) {
    const double d = static_cast<double>(empirical[i]) / static_cast<double>(n) -
                     static_cast<double>(model[i]) / static_cast<double>(m);
    s += d * d;
  }
  return s;
}

} // namespace

GoodnessOfFit copula_goodness_of_fit(const std::vector<double>& u, const std::vector<double>& v,
                                     const CopulaFit& fit, int bootstrap, std::size_t reference_size,
                                     std::uint64_t seed) {
  if (bootstrap < 1 || reference_size < 100) {
    throw InputError(fmt::format("copula goodness of fit: bootstrap >= 1 and reference_size >= 100 required, "
                                 "got {} and {}",
                                 bootstrap, reference_size));
  }
  const std::size_t n = u.size();
  const std::size_t m = reference_size;
  GoodnessOfFit g;
  g.bootstrap = bootstrap;
  g.reference_size = m;
  const bool is_t = fit.params.family == CopulaFamily::student_t;
  // Stream 0: reference sample for the data's fit; streams 1..B: samples; B+1..2B: their references.
  {
    std::vector<double> ra;
    std::vector<double> rb;
    simulate_latent(fit.params, m, seed, 0, ra, rb);
    const auto emp = dominance_counts(u, v, u, v);
    const auto xq = quantiles_cached(u, fit.params);
    const auto yq = quantiles_cached(v, fit.params);
    g.statistic = cvm_statistic(emp, n, dominance_counts(ra, rb, xq, yq), m);
  }
  // Bootstrap samples have no ties: pseudo-observations are r/(n+1), so each latent
  // quantile table is computed once per candidate nu.
  const auto& grid = t_nu_grid();
  std::vector<std::vector<double>> table;
  if (is_t) {
    table.resize(grid.size(), std::vector<double>(n + 1));
    tbb::parallel_for(std::size_t{0}, grid.size(), [&](std::size_t g_idx) {
      for (std::size_t r = 1; r <= n; ++r) {
        table[g_idx][r] = student_t_quantile(static_cast<double>(r) / static_cast<double>(n + 1), grid[g_idx]);
      }
    });
  } else {
    table.assign(1, std::vector<double>(n + 1));
    for (std::size_t r = 1; r <= n; ++r) {
      table[0][r] = normal_quantile(static_cast<double>(r) / static_cast<double>(n + 1));
    }
  }
  std::vector<double> stats(static_cast<std::size_t>(bootstrap));
  tbb::parallel_for(0, bootstrap, [&](int b) {
    std::vector<double> z1;
    std::vector<double> z2;
    simulate_latent(fit.params, n, seed, static_cast<std::uint64_t>(b) + 1, z1, z2);
    const double tau_b = kendall_tau(z1, z2);
    CopulaParams pb = fit.params;
    pb.rho = clamp_rho(rho_from_tau(tau_b));
    const auto r1 = ranks_of(z1);
    const auto r2 = ranks_of(z2);
    std::size_t chosen = 0;
    if (is_t) {
      double best = -std::numeric_limits<double>::infinity();
      for (std::size_t gi = 0; gi < grid.size(); ++gi) {
        const TCopulaTerms terms(pb.rho, grid[gi]);
        double ll = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
          ll += terms(table[gi][r1[i]], table[gi][r2[i]]);
        }
        if (ll > best) {
          best = ll;
          chosen = gi;
        }
      }
      pb.nu = grid[chosen];
    }
    std::vector<double> ua(n);
    std::vector<double> ub(n);
    std::vector<double> xq(n);
    std::vector<double> yq(n);
    for (std::size_t i = 0; i < n; ++i) {
      ua[i] = static_cast<double>(r1[i]);
      ub[i] = static_cast<double>(r2[i]);
      xq[i] = table[chosen][r1[i]];
      yq[i] = table[chosen][r2[i]];
    }
    const auto emp = dominance_counts(ua, ub, ua, ub);
    std::vector<double> ra;
    std::vector<double> rb;
    simulate_latent(pb, m, seed, static_cast<std::uint64_t>(bootstrap) + 1 + static_cast<std::uint64_t>(b), ra, rb);
    stats[static_cast<std::size_t>(b)] = cvm_statistic(emp, n, dominance_counts(ra, rb, xq, yq), m);
  });
  std::size_t at_least = 0;
  for (const double s : stats) {
    at_least += s >= g.statistic ? 1 : 0;
  }
  g.p_value = (1.0 + static_cast<double>(at_least)) / (static_cast<double>(bootstrap) + 1.0);
  return g;
}

std::vector<ComboProbability> combo_probabilities(const std::vector<double>& home, const std::vector<double>& away,
                                                  const CopulaParams& c,
                                                  const std::vector<std::pair<double, double>>& lines,
                                                  std::size_t draws, std::uint64_t seed) {
  if (home.size() != away.size() || home.empty()) {
    throw InputError("copula combos: need paired home and away scores");
  }
  const std::size_t n = home.size();
  std::vector<double> hs(home);
  std::vector<double> as(away);
  std::sort(hs.begin(), hs.end());
  std::sort(as.begin(), as.end());
  // Inverse of the empirical distribution function: smallest score with F_n >= u.
  auto inverse = [n](const std::vector<double>& sorted, double u) {
    auto k = static_cast<std::size_t>(std::ceil(u * static_cast<double>(n)));
    k = std::clamp<std::size_t>(k, 1, n);
    return sorted[k - 1];
  };
  std::vector<double> z1;
  std::vector<double> z2;
  simulate_latent(c, draws, seed, 0x636f6d626f, z1, z2);
  Rng indep(seed, 0x696e646570);
  std::vector<double> sim_h(draws);
  std::vector<double> sim_a(draws);
  std::vector<double> ind_h(draws);
  std::vector<double> ind_a(draws);
  for (std::size_t i = 0; i < draws; ++i) {
    sim_h[i] = inverse(hs, latent_cdf(c, z1[i]));
    sim_a[i] = inverse(as, latent_cdf(c, z2[i]));
    ind_h[i] = inverse(hs, indep.uniform_open());
    ind_a[i] = inverse(as, indep.uniform_open());
  }
  std::vector<ComboProbability> out;
  for (const auto& [spread, total] : lines) {
    ComboProbability p;
    p.spread = spread;
    p.total = total;
    // Through p, not the bindings: clang 14 cannot capture a structured binding (fuzz build).
    auto hit = [&](double h, double a) { return (h - a > p.spread && h + a > p.total) ? 1.0 : 0.0; };
    for (std::size_t i = 0; i < draws; ++i) {
      p.copula += hit(sim_h[i], sim_a[i]);
      p.independent += hit(ind_h[i], ind_a[i]);
    }
    p.copula /= static_cast<double>(draws);
    p.independent /= static_cast<double>(draws);
    for (std::size_t i = 0; i < n; ++i) {
      p.empirical += hit(home[i], away[i]);
    }
    p.empirical /= static_cast<double>(n);
    out.push_back(p);
  }
  return out;
}

} // namespace nfl::analytics::eval
