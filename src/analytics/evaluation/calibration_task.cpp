// The calibration task: Platt scaling and isotonic regression of each probability
// source (elo, state_space, market) with repeated k-fold cross-validation.
#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "analytics/evaluation/calibration.hpp"
#include "analytics/evaluation/common.hpp"
#include "analytics/evaluation/task_support.hpp"
#include "analytics/evaluation/tasks.hpp"
#include "analytics/data/data_common.hpp"
#include "util/error.hpp"

namespace nfl::analytics::eval {

namespace {

constexpr const char* k_type = "calibration";
const std::vector<std::string> k_sources = {"elo", "state_space", "market"};

struct CalibrationConfig {
  int folds = 5;
  int repeats = 3;
  int bins = 10;
  std::uint64_t seed = 1;
  std::vector<std::string> sources; // empty: every available source
  SeasonWindow window;
};

CalibrationConfig parse_config(const Json& config) {
  check_config_keys(config, k_type, {"folds", "repeats", "bins", "seed", "sources", "min_season", "max_season"});
  CalibrationConfig c;
  c.folds = config_int(config, k_type, "folds", 5, 2, 100);
  c.repeats = config_int(config, k_type, "repeats", 3, 1, 100);
  c.bins = config_int(config, k_type, "bins", 10, 2, 100);
  c.seed = static_cast<std::uint64_t>(config_int(config, k_type, "seed", 1, 0, 2147483647));
  c.window = season_window(config, k_type);
  if (config.is_object() && config.contains("sources") && !config["sources"].is_null()) {
    const auto& s = config["sources"];
    if (!s.is_array() || s.empty()) {
      throw InputError("calibration config: 'sources' must be a non-empty list of elo/state_space/market");
    }
    for (const auto& v : s) {
      if (!v.is_string() || std::find(k_sources.begin(), k_sources.end(), v.get<std::string>()) == k_sources.end()) {
        throw InputError(fmt::format("calibration config: 'sources' entry {} is not one of elo/state_space/market",
                                     v.dump()));
      }
      c.sources.push_back(v.get<std::string>());
    }
  }
  return c;
}

Json curve_json(const std::vector<ReliabilityBin>& curve) {
  Json out = Json::array();
  for (const auto& b : curve) {
    out.push_back({{"bin", b.bin},
                   {"lower", b.lower},
                   {"upper", b.upper},
                   {"count", b.count},
                   {"mean_predicted", b.mean_predicted},
                   {"observed", b.observed}});
  }
  return out;
}

Json mean_sd(const std::vector<double>& v) {
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double ss = 0.0;
  for (const double x : v) {
    ss += (x - mean) * (x - mean);
  }
  return {{"mean", mean}, {"sd", v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0}};
}

Json calibrate_source(const std::vector<double>& p, const std::vector<int>& y, const CalibrationConfig& c,
                      const TaskContext& ctx) {
  Json out;
  out["n"] = p.size();
  out["raw"] = {{"brier", brier_score(p, y)},
                {"log_loss", log_loss(p, y)},
                {"ece", expected_calibration_error(p, y, c.bins)},
                {"curve", curve_json(reliability_curve(p, y, c.bins))}};
  const auto platt = fit_platt(p, y);
  IsotonicModel iso;
  iso.fit(p, std::vector<double>(y.begin(), y.end()));
  for (const auto method : {CalibrationMethod::platt, CalibrationMethod::isotonic}) {
    std::vector<double> brier;
    std::vector<double> loss;
    std::vector<double> ece;
    std::vector<double> pooled_p;
    std::vector<int> pooled_y;
    for (int r = 0; r < c.repeats; ++r) {
      throw_if_stopped(ctx);
      const auto fold = kfold_assignment(p.size(), c.folds, c.seed, r);
      const auto oof = out_of_fold(p, y, fold, c.folds, method);
      brier.push_back(brier_score(oof, y));
      loss.push_back(log_loss(oof, y));
      ece.push_back(expected_calibration_error(oof, y, c.bins));
      pooled_p.insert(pooled_p.end(), oof.begin(), oof.end());
      pooled_y.insert(pooled_y.end(), y.begin(), y.end());
    }
    Json m = {{"cv", {{"brier", mean_sd(brier)}, {"log_loss", mean_sd(loss)}, {"ece", mean_sd(ece)}}},
              {"curve", curve_json(reliability_curve(pooled_p, pooled_y, c.bins))}};
    if (method == CalibrationMethod::platt) {
      m["a"] = platt.a;
      m["b"] = platt.b;
      out["platt"] = m;
    } else {
      m["thresholds_x"] = iso.thresholds_x();
      m["thresholds_y"] = iso.thresholds_y();
      out["isotonic"] = m;
    }
  }
  return out;
}

Json run(TaskContext& ctx) {
  const auto c = parse_config(ctx.task.config);
  auto games = data::games_from_ingestion(ctx, k_type);
  sort_chronologically(games);
  std::map<std::string, std::map<std::string, double>> by_source;
  const bool explicit_sources = !c.sources.empty();
  const auto wanted = explicit_sources ? c.sources : k_sources;
  for (const auto& source : wanted) {
    if (source == "market") {
      auto& m = by_source["market"];
      for (const auto& g : games) {
        if (auto p = market_probability(g)) {
          m[g.game_id] = *p;
        }
      }
      continue;
    }
    const auto dir = explicit_sources ? std::optional(required_input(ctx, source, k_type))
                                      : optional_input(ctx, source, k_type);
    if (!dir) {
      continue;
    }
    const std::string file = source == "elo" ? "elo_games.csv" : "state_space_games.csv";
    by_source[source] = column_by_game(artifact_file(*dir, file), "p_home");
  }
  ctx.report_progress(10, "inputs read");
  Json sources = Json::object();
  Json summary = Json::object();
  std::size_t done = 0;
  for (const auto& [name, probs] : by_source) {
    std::vector<double> p;
    std::vector<int> y;
    for (const auto& g : games) {
      if (!g.played() || g.result() == 0 || !c.window.contains(g.season)) {
        continue;
      }
      if (auto it = probs.find(g.game_id); it != probs.end()) {
        if (!(it->second >= 0.0 && it->second <= 1.0)) {
          throw TaskFailure(fmt::format("calibration: {} probability for {} is {}, outside [0, 1]", name, g.game_id,
                                        it->second),
                            false);
        }
        p.push_back(it->second);
        y.push_back(g.result() > 0 ? 1 : 0);
      }
    }
    if (p.size() < static_cast<std::size_t>(c.folds) * 2) {
      sources[name] = {{"n", p.size()}, {"skipped", "too few played games with a probability"}};
      continue;
    }
    sources[name] = calibrate_source(p, y, c, ctx);
    summary[name] = {{"n", p.size()},
                     {"brier", sources[name]["raw"]["brier"]},
                     {"brier_platt_cv", sources[name]["platt"]["cv"]["brier"]["mean"]},
                     {"brier_isotonic_cv", sources[name]["isotonic"]["cv"]["brier"]["mean"]},
                     {"ece", sources[name]["raw"]["ece"]}};
    ++done;
    ctx.report_progress(10.0 + 80.0 * static_cast<double>(done) / static_cast<double>(by_source.size()),
                        "calibrated " + name);
  }
  // The same games for every source: the fair model-vs-market comparison.
  Json common = {{"n", 0}, {"sources", Json::object()}};
  if (by_source.size() > 1) {
    std::map<std::string, std::vector<double>> p;
    std::vector<int> y;
    for (const auto& g : games) {
      if (!g.played() || g.result() == 0 || !c.window.contains(g.season)) {
        continue;
      }
      bool all = true;
      for (const auto& [name, probs] : by_source) {
        all = all && probs.contains(g.game_id);
      }
      if (!all) {
        continue;
      }
      for (const auto& [name, probs] : by_source) {
        p[name].push_back(probs.at(g.game_id));
      }
      y.push_back(g.result() > 0 ? 1 : 0);
    }
    common["n"] = y.size();
    if (!y.empty()) {
      for (const auto& [name, values] : p) {
        common["sources"][name] = {{"brier", brier_score(values, y)},
                                   {"log_loss", log_loss(values, y)},
                                   {"ece", expected_calibration_error(values, y, c.bins)}};
      }
    }
  }
  Json doc = {{"config",
               {{"folds", c.folds},
                {"repeats", c.repeats},
                {"bins", c.bins},
                {"seed", c.seed},
                {"min_season", c.window.min_season},
                {"max_season", c.window.max_season}}},
              {"outcome", "home win = 1, away win = 0; tied games left out"},
              {"sources", sources},
              {"common_games", common}};
  Json result = {{"sources", summary}, {"common_games", common}};
  result["artifacts"] = write_artifacts(ctx, {{"calibration.json", doc.dump(1) + "\n"}});
  ctx.report_progress(100, "done");
  return result;
}

} // namespace

TaskType calibration_task() {
  TaskType t;
  t.name = k_type;
  t.description = "Platt scaling and isotonic calibration of Elo, state-space and market probabilities: repeated "
                  "k-fold CV, Brier, log loss, ECE, reliability curves";
  t.validate_config = [](const Json& config) { parse_config(config); };
  t.run = run;
  return t;
}

} // namespace nfl::analytics::eval
