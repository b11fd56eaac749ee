// `nfl-compute init [--season YYYY] [--week N]` (and the seed's `--init`): submits the
// standard pipeline of docs/pipeline.md in one add(). Ids are derived from the
// arguments, so running it again finds the same tasks (already exists) instead of
// queueing duplicates; a new season/week reuses finished work through the cache.
#include <fmt/format.h>

#include "cli/context.hpp"
#include "cli/submit.hpp"
#include "util/error.hpp"

namespace nfl::cli {

namespace {

struct Stage {
  const char* type;
  std::vector<const char*> depends_on; // the stages whose artifacts it reads
};

// docs/pipeline.md: each task lists every task whose artifacts it reads.
const std::vector<Stage>& pipeline_stages() {
  static const std::vector<Stage> k_stages = {
      {"ingestion", {}},
      {"feature_engineering", {"ingestion"}},
      {"elo", {"ingestion"}},
      {"state_space", {"ingestion"}},
      {"calibration", {"ingestion", "elo", "state_space"}},
      {"monte_carlo", {"ingestion", "elo"}},
      {"backtest", {"ingestion", "elo", "state_space"}},
      {"copula", {"ingestion"}},
      {"reporting",
       {"ingestion", "feature_engineering", "elo", "state_space", "calibration", "monte_carlo", "backtest", "copula"}},
  };
  return k_stages;
}

} // namespace

std::vector<Task> standard_pipeline(std::optional<int> season, std::optional<int> week, Millis now_ms) {
  std::string suffix = season ? fmt::format("{}", *season) : "latest";
  if (week) {
    suffix += fmt::format("_w{:02}", *week);
  }
  auto id_of = [&suffix](std::string_view type) { return fmt::format("{}_{}", type, suffix); };
  std::vector<Task> tasks;
  for (const auto& stage : pipeline_stages()) {
    Task t;
    t.task_type = stage.type;
    t.id = id_of(stage.type);
    t.name = fmt::format("{} ({})", stage.type, suffix);
    for (const char* d : stage.depends_on) {
      t.depends_on.push_back(id_of(d));
    }
    if (t.task_type == "monte_carlo") {
      if (season) {
        t.config["season"] = *season;
      }
      if (week) {
        t.config["week"] = *week;
      }
    }
    normalise(t, now_ms);
    check_task_config(t);
    tasks.push_back(std::move(t));
  }
  return tasks;
}

void add_init_command(CLI::App& app, Context& ctx) {
  struct Options {
    std::optional<int> season;
    std::optional<int> week;
  };
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("init", "Submit the standard analytics pipeline (docs/pipeline.md)");
  sub->add_option("--season", o->season, "Season to simulate (default: the latest in the data)")
      ->check(CLI::Range(1920, 2100));
  sub->add_option("--week", o->week, "Week to simulate from (default: the next unplayed)")->check(CLI::Range(1, 22));
  sub->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      ctx.config();
      auto tasks = standard_pipeline(o->season, o->week, system_clock()->now_ms());
      return add_and_print(ctx, tasks);
    };
  });
}

} // namespace nfl::cli
