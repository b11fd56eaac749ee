#include "analytics/season/monte_carlo.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "analytics/data/data_common.hpp"
#include "analytics/data/elo.hpp"
#include "analytics/gpu/device.hpp"
#include "analytics/gpu/season_draws.hpp"
#include "analytics/season/simulator.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace nfl::analytics::season {

namespace {

constexpr const char* k_type = "monte_carlo";

struct McConfig {
  std::optional<int> season;
  std::optional<int> week;
  int simulations = 10000;
  int seed = 1;
  int threads = 0;
  std::string rating_source = "elo";
  std::optional<double> sigma;
  bool ties = true;
  std::string device = "auto";
};

McConfig parse_config(const Json& config) {
  using namespace analytics::data;
  check_config_keys(config, k_type,
             {"season", "week", "simulations", "seed", "threads", "rating_source", "sigma", "ties", "device"});
  McConfig c;
  const Json j = config.is_null() ? Json::object() : config;
  if (j.contains("season")) {
    c.season = config_int(j, k_type, "season", 0, k_first_season, 2100);
  }
  if (j.contains("week")) {
    c.week = config_int(j, k_type, "week", 1, 1, 30);
  }
  c.simulations = config_int(j, k_type, "simulations", c.simulations, 1, 10'000'000);
  c.seed = config_int(j, k_type, "seed", c.seed, 0, 2'147'483'647);
  c.threads = config_int(j, k_type, "threads", c.threads, 0, 256);
  c.rating_source = config_string(j, k_type, "rating_source", c.rating_source);
  if (c.rating_source != "elo" && c.rating_source != "market") {
    throw InputError(fmt::format("{} config: rating_source: '{}' is not accepted; expected 'elo' or 'market'", k_type,
                                 c.rating_source));
  }
  if (j.contains("sigma")) {
    c.sigma = config_double(j, k_type, "sigma", 13.5, 1.0, 50.0);
  }
  c.ties = config_bool(j, k_type, "ties", c.ties);
  c.device = config_string(j, k_type, "device", c.device);
  if (c.device != "auto" && c.device != "cpu") {
    throw InputError(fmt::format("{} config: device: '{}' is not accepted; expected 'auto' (the CUDA kernel when the "
                                 "task requires_gpu and a device is present) or 'cpu'",
                                 k_type, c.device));
  }
  return c;
}

const Task* dependency_of_type(const TaskContext& ctx, const std::string& type) {
  for (const auto& [id, task] : ctx.dependencies) {
    if (task.task_type == type) {
      return &task;
    }
  }
  return nullptr;
}

std::string odds_csv(const SimulationResult& r) {
  std::string out = "team,conference,division,current_wins,expected_wins,p_playoffs,p_division,p_first_seed,"
                    "p_conference,p_super_bowl\n";
  for (const auto& t : r.teams) {
    out += fmt::format("{},{},{},{},{:.4f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f}\n", t.team, t.division.substr(0, 3),
                       t.division, t.current_wins, t.expected_wins, t.p_playoffs, t.p_division, t.p_first_seed,
                       t.p_conference, t.p_super_bowl);
  }
  return out;
}

Json run(TaskContext& ctx) {
  const McConfig c = parse_config(ctx.task.config);
  ctx.report_progress(1, "reading games");
  const std::vector<Game> games = analytics::data::games_from_ingestion(ctx, k_type);

  int season = 0;
  for (const auto& g : games) {
    season = std::max(season, g.game_type == "REG" ? g.season : 0);
  }
  season = c.season.value_or(season);
  SimulationModel model;
  model.schedule = schedule_for_season(games, season);
  int last_week = 0;
  int next_unplayed = 0;
  for (const auto* list : {&model.schedule.regular, &model.schedule.playoffs}) {
    for (const auto& g : *list) {
      last_week = std::max(last_week, g.week);
      if (!g.played() && (next_unplayed == 0 || g.week < next_unplayed)) {
        next_unplayed = g.week;
      }
    }
  }
  model.start_week = c.week.value_or(next_unplayed > 0 ? next_unplayed : last_week + 1);
  // Without a week, simulate from "now": every played game counts, also those of the
  // week in progress.
  model.keep_all_played = !c.week.has_value();
  if (model.start_week > last_week + 1) {
    throw InputError(fmt::format("{} config: week: {} is after the {} season's last week ({})", k_type,
                                 model.start_week, season, last_week));
  }
  model.sigma = c.sigma ? *c.sigma : estimate_sigma(games, season, model.start_week);
  model.ties = c.ties;
  model.mean_total = estimate_mean_total(games, season, model.start_week);

  if (c.rating_source == "market") {
    model.ratings = market_ratings(model.schedule);
    model.use_spread_lines = true;
  } else {
    const Task* elo = dependency_of_type(ctx, "elo");
    if (elo == nullptr) {
      throw TaskFailure(fmt::format("{}: rating_source 'elo' needs a completed elo task in depends_on "
                                    "(or set rating_source to 'market')",
                                    k_type),
                        false);
    }
    const auto path = ctx.input_dir(elo->id) / "elo_ratings.csv";
    if (!std::filesystem::exists(path)) {
      throw WaitingForInput("elo_ratings.csv of " + elo->id + " not here yet");
    }
    const analytics::data::EloParams ep = analytics::data::elo_params_from_config(elo->config);
    EloParameters p;
    p.home_advantage = ep.home_advantage;
    p.revert = ep.revert;
    p.mean = ep.mean;
    p.points_per_elo = 1.0 / ep.points_per_spread;
    model.ratings = elo_ratings_from_csv(read_file(path), model.schedule.league, model.start_week, p);
  }

  SimulationOptions options;
  options.simulations = c.simulations;
  options.seed = static_cast<std::uint64_t>(c.seed);
  options.threads = c.threads;
  const auto report = [&](double percent, const std::string& m) { ctx.report_progress(2 + 0.97 * percent, m); };
  // The CUDA kernel for GPU tasks when this machine has a device; the CPU kernel
  // otherwise (a CPU machine running a rerouted GPU task, or a CPU-only build). Both
  // draw the same streams, so the result does not depend on which ran it.
  std::string device = "cpu";
  std::string device_note;
  SimulationResult r;
  bool done = false;
  if (c.device == "auto" && ctx.task.requires_gpu) {
    const gpu::CudaStatus cuda = gpu::cuda_status();
    if (cuda.available) {
      options.kernel = SimKernel::cuda;
      try {
        r = simulate_season(model, options, ctx.stop, report);
        device = gpu::device_label(cuda);
        done = true;
      } catch (const gpu::GpuUnavailable& e) {
        device_note = std::string("CUDA kernel failed, ran on the CPU: ") + e.what();
      }
    } else {
      device_note = "no CUDA device: " + cuda.reason;
    }
  }
  if (!done) {
    options.kernel = SimKernel::cpu;
    r = simulate_season(model, options, ctx.stop, report);
  }

  Json result;
  result["season"] = season;
  result["week"] = model.start_week;
  result["kept_all_played"] = model.keep_all_played;
  result["simulations"] = r.simulations;
  result["seed"] = c.seed;
  result["threads"] = r.threads;
  result["rating_source"] = c.rating_source;
  result["sigma"] = model.sigma;
  result["ties"] = c.ties;
  result["simulated_games"] = r.simulated_games;
  result["device"] = device;
  if (!device_note.empty()) {
    result["device_note"] = device_note;
  }
  result["seconds"] = r.seconds;
  result["seasons_per_second"] = r.seasons_per_second;
  Json teams = Json::array();
  for (const auto& t : r.teams) {
    teams.push_back({{"team", t.team},
                     {"division", t.division},
                     {"expected_wins", t.expected_wins},
                     {"p_playoffs", t.p_playoffs},
                     {"p_division", t.p_division},
                     {"p_first_seed", t.p_first_seed},
                     {"p_conference", t.p_conference},
                     {"p_super_bowl", t.p_super_bowl}});
  }
  result["teams"] = teams;
  result["artifacts"] = write_artifacts(ctx, {{"playoff_odds.csv", odds_csv(r)}});
  return result;
}

} // namespace

TaskType monte_carlo_task() {
  TaskType t;
  t.name = k_type;
  t.description = "Season simulation: playoff odds from a week of a season (Elo or market spreads), NFL tie-breakers";
  t.validate_config = [](const Json& config) { parse_config(config); };
  t.run = run;
  return t;
}

} // namespace nfl::analytics::season
