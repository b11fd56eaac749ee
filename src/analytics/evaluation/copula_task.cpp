// The copula task: Gaussian and Student-t copulas of (home score, away score) by era,
// with goodness of fit and implied spread/total probabilities.
#include <cmath>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "analytics/data/data_common.hpp"
#include "analytics/evaluation/common.hpp"
#include "analytics/evaluation/copula.hpp"
#include "analytics/evaluation/task_support.hpp"
#include "analytics/evaluation/tasks.hpp"
#include "util/error.hpp"

namespace nfl::analytics::eval {

namespace {

constexpr const char* k_type = "copula";

struct Era {
  int from = 0;
  int to = 9999;
  std::string label() const { return to >= 9999 ? fmt::format("{}+", from) : fmt::format("{}-{}", from, to); }
};

struct CopulaConfig {
  std::vector<Era> eras = {{1999, 2009}, {2010, 2019}, {2020, 9999}};
  int bootstrap = 200;
  int reference_size = 20000;
  int draws = 100000;
  std::uint64_t seed = 1;
  std::vector<std::pair<double, double>> lines;
};

CopulaConfig parse_config(const Json& config) {
  check_config_keys(config, k_type, {"eras", "bootstrap", "reference_size", "draws", "seed", "lines"});
  CopulaConfig c;
  c.bootstrap = config_int(config, k_type, "bootstrap", 200, 1, 100000);
  c.reference_size = config_int(config, k_type, "reference_size", 20000, 1000, 10000000);
  c.draws = config_int(config, k_type, "draws", 100000, 1000, 100000000);
  c.seed = static_cast<std::uint64_t>(config_int(config, k_type, "seed", 1, 0, 2147483647));
  for (const double s : {-3.5, 2.5, 6.5}) {
    for (const double t : {40.5, 44.5, 48.5}) {
      c.lines.emplace_back(s, t);
    }
  }
  if (!config.is_object()) {
    return c;
  }
  if (auto it = config.find("eras"); it != config.end() && !it->is_null()) {
    const auto bad = [&] {
      return InputError(fmt::format("copula config: 'eras' must be a non-empty list of [from, to] seasons (to may be "
                                    "null for open-ended), got {}",
                                    it->dump()));
    };
    if (!it->is_array() || it->empty()) {
      throw bad();
    }
    c.eras.clear();
    for (const auto& e : *it) {
      if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer() ||
          !(e[1].is_number_integer() || e[1].is_null())) {
        throw bad();
      }
      Era era{e[0].get<int>(), e[1].is_null() ? 9999 : e[1].get<int>()};
      if (era.from > era.to) {
        throw bad();
      }
      c.eras.push_back(era);
    }
  }
  if (auto it = config.find("lines"); it != config.end() && !it->is_null()) {
    if (!it->is_array() || it->empty()) {
      throw InputError("copula config: 'lines' must be a non-empty list of [spread, total] pairs");
    }
    c.lines.clear();
    for (const auto& l : *it) {
      if (!l.is_array() || l.size() != 2 || !l[0].is_number() || !l[1].is_number()) {
        throw InputError(fmt::format("copula config: 'lines' entry {} is not a [spread, total] pair", l.dump()));
      }
      c.lines.emplace_back(l[0].get<double>(), l[1].get<double>());
    }
  }
  return c;
}

Json fit_json(const CopulaFit& f, const GoodnessOfFit& g, std::size_t n) {
  const int k = f.params.family == CopulaFamily::gaussian ? 1 : 2;
  Json j = {{"rho", f.params.rho},
            {"log_likelihood", f.log_likelihood},
            {"aic", 2.0 * k - 2.0 * f.log_likelihood},
            {"gof", {{"cramer_von_mises", g.statistic}, {"p_value", g.p_value}, {"bootstrap", g.bootstrap},
                     {"reference_size", g.reference_size}}}};
  if (f.params.family == CopulaFamily::student_t) {
    j["nu"] = f.params.nu;
    Json profile = Json::array();
    for (const auto& [nu, ll] : f.profile) {
      profile.push_back({nu, ll});
    }
    j["profile"] = profile;
  }
  (void)n;
  return j;
}

Json run(TaskContext& ctx) {
  const auto c = parse_config(ctx.task.config);
  const auto games = data::games_from_ingestion(ctx, k_type);
  Json eras = Json::array();
  Json summary = Json::array();
  std::size_t done = 0;
  for (const auto& era : c.eras) {
    std::vector<double> home;
    std::vector<double> away;
    for (const auto& g : games) {
      if (g.played() && g.season >= era.from && g.season <= era.to) {
        home.push_back(*g.home_score);
        away.push_back(*g.away_score);
      }
    }
    Json e = {{"era", era.label()}, {"from", era.from}, {"to", era.to >= 9999 ? Json() : Json(era.to)},
              {"n", home.size()}};
    if (home.size() < 30) {
      e["skipped"] = "fewer than 30 played games";
      eras.push_back(e);
      continue;
    }
    const auto u = pseudo_observations(home);
    const auto v = pseudo_observations(away);
    const double tau = kendall_tau(home, away);
    // Scores are discrete and tie heavily, while samples from a fitted copula never
    // tie: the test compares the continuous extension (score + U(0,1), seeded; Denuit &
    // Lambert 2005) so that ties alone do not reject every continuous copula.
    std::vector<double> home_j(home);
    std::vector<double> away_j(away);
    Rng jitter(c.seed, 0x6a6974746572ULL);
    for (std::size_t i = 0; i < home.size(); ++i) {
      home_j[i] += jitter.uniform();
      away_j[i] += jitter.uniform();
    }
    const auto u_gof = pseudo_observations(home_j);
    const auto v_gof = pseudo_observations(away_j);
    e["kendall_tau"] = tau;
    e["mean_home"] = std::accumulate(home.begin(), home.end(), 0.0) / static_cast<double>(home.size());
    e["mean_away"] = std::accumulate(away.begin(), away.end(), 0.0) / static_cast<double>(away.size());
    Json fits = Json::object();
    std::map<std::string, std::vector<ComboProbability>> combos;
    for (const auto family : {CopulaFamily::gaussian, CopulaFamily::student_t}) {
      throw_if_stopped(ctx);
      const std::string name = family == CopulaFamily::gaussian ? "gaussian" : "student_t";
      const auto fit = fit_copula(u, v, tau, family);
      const auto gof = copula_goodness_of_fit(u_gof, v_gof, fit, c.bootstrap,
                                              static_cast<std::size_t>(c.reference_size), c.seed);
      fits[name] = fit_json(fit, gof, home.size());
      combos[name] = combo_probabilities(home, away, fit.params, c.lines, static_cast<std::size_t>(c.draws), c.seed);
    }
    e["fits"] = fits;
    e["preferred"] = fits["student_t"]["aic"].get<double>() < fits["gaussian"]["aic"].get<double>() ? "student_t"
                                                                                                     : "gaussian";
    Json combo_json = Json::array();
    for (std::size_t i = 0; i < c.lines.size(); ++i) {
      const auto& g = combos["gaussian"][i];
      combo_json.push_back({{"spread", g.spread},
                            {"total", g.total},
                            {"event", fmt::format("home - away > {} and home + away > {}", g.spread, g.total)},
                            {"gaussian", g.copula},
                            {"student_t", combos["student_t"][i].copula},
                            {"independent", g.independent},
                            {"empirical", g.empirical}});
    }
    e["cover_and_over"] = combo_json;
    summary.push_back({{"era", era.label()},
                       {"n", home.size()},
                       {"kendall_tau", tau},
                       {"rho", fits["gaussian"]["rho"]},
                       {"nu", fits["student_t"]["nu"]},
                       {"gof_p_gaussian", fits["gaussian"]["gof"]["p_value"]},
                       {"gof_p_student_t", fits["student_t"]["gof"]["p_value"]}});
    eras.push_back(e);
    ++done;
    ctx.report_progress(100.0 * static_cast<double>(done) / static_cast<double>(c.eras.size()), era.label());
  }
  Json doc = {{"config",
               {{"bootstrap", c.bootstrap},
                {"reference_size", c.reference_size},
                {"draws", c.draws},
                {"seed", c.seed}}},
              {"marginals", "empirical (scores as played); pseudo-observations = average rank / (n + 1)"},
              {"eras", eras}};
  Json result = {{"eras", summary}};
  result["artifacts"] = write_artifacts(ctx, {{"copula.json", doc.dump(1) + "\n"}});
  return result;
}

} // namespace

TaskType copula_task() {
  TaskType t;
  t.name = k_type;
  t.description = "Gaussian and Student-t copulas of home/away scores by era: Kendall's tau, fits, parametric-bootstrap "
                  "goodness of fit, P(cover and over)";
  t.validate_config = [](const Json& config) { parse_config(config); };
  t.run = run;
  return t;
}

} // namespace nfl::analytics::eval
