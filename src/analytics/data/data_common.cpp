#include "analytics/data/data_common.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "util/error.hpp"

namespace nfl::analytics::data {

std::vector<Game> games_from_ingestion(const TaskContext& ctx, const std::string& type) {
  std::vector<std::string> ids;
  for (const auto& [id, task] : ctx.dependencies) {
    if (task.task_type == "ingestion") {
      ids.push_back(id);
    }
  }
  if (ids.empty()) {
    throw TaskFailure(type + ": needs a completed ingestion task in depends_on (it reads its games.sqlite)", false);
  }
  if (ids.size() > 1) {
    throw TaskFailure(fmt::format("{}: depends on {} ingestion tasks ({}); expected exactly one", type, ids.size(),
                                  fmt::join(ids, ", ")),
                      false);
  }
  auto path = ctx.input_dir(ids.front()) / "games.sqlite";
  if (!std::filesystem::exists(path)) {
    throw WaitingForInput("games.sqlite of " + ids.front() + " not here yet");
  }
  return read_games_db(path);
}

std::string franchise(const std::string& team) {
  if (team == "SD") {
    return "LAC";
  }
  if (team == "STL") {
    return "LA";
  }
  if (team == "OAK") {
    return "LV";
  }
  return team;
}

double implied_probability(double american) {
  return american < 0 ? -american / (-american + 100.0) : 100.0 / (american + 100.0);
}

std::optional<double> market_home_probability(const Game& g) {
  if (!g.home_moneyline || !g.away_moneyline) {
    return std::nullopt;
  }
  double h = implied_probability(*g.home_moneyline);
  double a = implied_probability(*g.away_moneyline);
  return h / (h + a);
}

double home_outcome(const Game& g) {
  int r = g.result();
  return r > 0 ? 1.0 : (r < 0 ? 0.0 : 0.5);
}

void ProbabilityScore::add(double p, double outcome) {
  double q = std::clamp(p, 1e-15, 1.0 - 1e-15);
  brier_sum += (p - outcome) * (p - outcome);
  log_loss_sum += -(outcome * std::log(q) + (1.0 - outcome) * std::log(1.0 - q));
  ++n;
}

Json ProbabilityScore::to_json() const {
  if (n == 0) {
    return {{"n", 0}, {"brier", nullptr}, {"log_loss", nullptr}};
  }
  return {{"n", n}, {"brier", brier_sum / static_cast<double>(n)}, {"log_loss", log_loss_sum / static_cast<double>(n)}};
}

std::string fmt_num(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : fmt::format("{}", v);
}

std::string fmt_opt(const std::optional<double>& v) {
  return v ? fmt_num(*v) : std::string();
}

void throw_if_stopped(const TaskContext& ctx) {
  if (ctx.stop.stop_requested()) {
    throw TaskStopped();
  }
}

} // namespace nfl::analytics::data
