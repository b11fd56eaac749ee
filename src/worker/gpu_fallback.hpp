#pragma once
// GPU tasks on machines without a GPU (docs/gpu.md):
// - CPU fallback: a GPU task with `allow_cpu_fallback: true` that has waited longer
//   than GPU_FALLBACK_WAIT_SECONDS in a GPU queue no live machine serves is rerouted
//   to cpu:parallel by a CPU worker, which then runs it with the CPU kernel.
// - GPU memory admission: a claimed GPU task whose min_gpu_memory exceeds the
//   device fails with a clear message (or waits while the memory is busy) instead of
//   crashing the worker.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/probe.hpp"
#include "store/task_store.hpp"

namespace nfl {

inline constexpr std::string_view k_fallback_queue = "cpu:parallel";

// The task's top-level `allow_cpu_fallback` (default false; kept in Task::extra by
// the model). Throws InputError when present but not a boolean.
bool allows_cpu_fallback(const Task& task);

// One pass: for each GPU queue that no live machine serves, reroutes its pending
// tasks that allow the fallback and were enqueued at least `wait_ms` before `now_ms`
// to cpu:parallel. Returns the ids rerouted. Tasks with an invalid
// allow_cpu_fallback are left alone (and logged).
std::vector<std::string> reroute_waiting_gpu_tasks(TaskStore& store, Millis now_ms, Millis wait_ms);

// The worker's periodic step. Active only on a worker that serves cpu:parallel and
// no GPU queue, with a positive wait; runs a pass at most every wait/4 (1 s to 60 s).
class GpuFallback {
public:
  GpuFallback(std::vector<std::string> served_queues, std::chrono::milliseconds wait);
  bool active() const { return m_active; }
  // Called from the supervisor loop; StoreUnavailable propagates, anything else
  // (e.g. a backend without reroute) is logged once per kind and skipped.
  void tick(TaskStore& store);

private:
  bool m_active = false;
  std::chrono::milliseconds m_wait;
  std::chrono::milliseconds m_interval;
  std::chrono::steady_clock::time_point m_next{};
  std::string m_last_error;
};

// ---- GPU memory at claim time

struct GpuAdmission {
  enum class Verdict { ok, too_large, busy } verdict = Verdict::ok;
  std::string message;
};

// Pure decision over the GPUs seen now: too_large when min_gpu_memory exceeds every
// GPU's total (or there is none), busy when it fits a GPU's total but not its free memory.
GpuAdmission check_gpu_memory(const Task& task, const std::vector<GpuInfo>& gpus);

// GPUs with their free memory now: NVML when present (no CUDA context needed), else
// the CUDA runtime's device 0, else none.
std::vector<GpuInfo> current_gpus();

// For the worker, before running a claimed task from a GPU queue that states
// min_gpu_memory: throws TaskFailure (not retryable) when it can never fit here,
// WaitingForInput (handed back, retried later) while the memory is in use.
void admit_gpu_task(const Task& task, const std::function<std::vector<GpuInfo>()>& gpus = current_gpus);

} // namespace nfl
