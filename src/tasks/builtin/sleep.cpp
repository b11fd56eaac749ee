#include <chrono>
#include <condition_variable>
#include <mutex>

#include <fmt/format.h>

#include "tasks/builtin/builtin.hpp"
#include "util/error.hpp"

namespace nfl::builtin {
namespace {

constexpr double k_max_seconds = 7 * 24 * 3600.0;

void validate(const Json& config) {
  if (!config.is_object()) {
    throw InputError("config: expected a JSON object");
  }
  auto it = config.find("seconds");
  if (it == config.end()) {
    throw InputError("config.seconds: missing; expected a number of seconds between 0 and 604800");
  }
  if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > k_max_seconds) {
    throw InputError("config.seconds: '" + it->dump() + "'; expected a number of seconds between 0 and 604800");
  }
}

Json run(TaskContext& ctx) {
  validate(ctx.task.config);
  const double seconds = ctx.task.config["seconds"].get<double>();
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(seconds));
  // Progress about every 1 %, but not more often than every 100 ms nor less than every 5 s.
  auto step = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(std::clamp(seconds / 100.0, 0.1, 5.0)));
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= end) {
      break;
    }
    double done = std::chrono::duration<double>(now - start).count();
    ctx.report_progress(seconds > 0 ? 100.0 * done / seconds : 100.0, fmt::format("slept {:.1f} of {:.1f} s", done, seconds));
    // Waits on the stop token itself: returns at once on cancel, timeout or shutdown.
    if (cv.wait_until(lock, ctx.stop, std::min(end, now + step), [] { return false; }); ctx.stop.stop_requested()) {
      throw TaskStopped();
    }
  }
  ctx.report_progress(100.0, "done");
  return Json{{"slept_seconds", seconds}};
}

} // namespace

TaskType sleep_task_type() {
  TaskType t;
  t.name = "sleep";
  t.description = "Waits config.seconds, reporting progress; honours stop at once (demos, tests).";
  t.validate_config = validate;
  t.run = run;
  return t;
}

} // namespace nfl::builtin
