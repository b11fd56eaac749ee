// `nfl-compute worker` (and the seed's plain `nfl-compute`): runs the Worker on the
// queues this machine serves.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/context.hpp"
#include "store/store_factory.hpp"
#include "util/error.hpp"
#include "worker/logging.hpp"
#include "worker/task_catalog.hpp"
#include "worker/worker.hpp"

namespace nfl::cli {

void add_worker_command(CLI::App& app, Context& ctx) {
  struct Options {
    std::vector<std::string> queues;
    std::optional<int> concurrency;
    bool burst = false;
    std::optional<double> grace_s;
  };
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("worker", "Claim and run tasks from this machine's queues (the default action)");
  sub->add_option("--queues", o->queues, "Only these queues, in this order (comma-separated)")->delimiter(',');
  sub->add_option("--concurrency", o->concurrency, "Tasks at once (default MAX_CONCURRENT_TASKS)")
      ->check(CLI::Range(1, 1024));
  sub->add_flag("--burst", o->burst, "Exit 0 once no claimable work is left");
  sub->add_option("--grace", o->grace_s, "Seconds running tasks may finish after SIGTERM/SIGINT (default 30)")
      ->check(CLI::Range(0.0, 86400.0));
  sub->callback([o, &ctx] {
    ctx.action = [o, &ctx] {
      const Config config = ctx.config();
      const auto& id = ctx.identity();
      std::vector<std::string> queues = id.queues;
      if (!o->queues.empty()) {
        queues.clear();
        for (const auto& q : split_list(o->queues)) {
          if (!is_known_queue(q)) {
            throw InputError(fmt::format("--queues: '{}' is not a queue; expected some of gpu:high, gpu:standard, "
                                         "cpu:parallel, cpu:sequential, data:pipeline, analysis:standard",
                                         q));
          }
          if (std::find(queues.begin(), queues.end(), q) == queues.end()) {
            queues.push_back(q);
          }
        }
      }
      setup_logging(config, id.machine_id);
      if (ctx.globals.verbose) {
        spdlog::set_level(spdlog::level::debug);
      }
      for (const auto& q : queues) {
        if (std::find(id.queues.begin(), id.queues.end(), q) == id.queues.end()) {
          spdlog::warn("serving {} although this machine's profile {} does not (--queues asked for it)", q,
                       id.profile);
        }
      }
      MachineInfo machine;
      machine.machine_id = id.machine_id;
      machine.profile = id.profile;
      machine.queues = queues;
      machine.hardware = hardware_to_json(id.hardware);
      auto options = worker_options_from(config, machine);
      options.queues = queues;
      if (o->concurrency) {
        options.concurrency = *o->concurrency;
      }
      options.burst = o->burst;
      if (o->grace_s) {
        options.grace = std::chrono::milliseconds(static_cast<std::int64_t>(*o->grace_s * 1000.0));
      }
      Worker worker([config] { return open_store(config); }, config, options, default_task_registry());
      SignalGuard signals(worker);
      return worker.run();
    };
  });
}

} // namespace nfl::cli
