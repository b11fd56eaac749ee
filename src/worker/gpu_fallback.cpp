#include "worker/gpu_fallback.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "analytics/gpu/device.hpp"
#include "tasks/registry.hpp"
#include "util/error.hpp"

namespace nfl {

namespace {

bool is_gpu_queue(std::string_view queue) { return queue.starts_with("gpu:"); }

} // namespace

bool allows_cpu_fallback(const Task& task) {
  if (!task.extra.is_object() || !task.extra.contains("allow_cpu_fallback")) {
    return false;
  }
  const Json& v = task.extra["allow_cpu_fallback"];
  if (!v.is_boolean()) {
    throw InputError(fmt::format("task '{}': field 'allow_cpu_fallback': {}; expected true or false", task.id,
                                 v.dump()));
  }
  return v.get<bool>();
}

std::vector<std::string> reroute_waiting_gpu_tasks(TaskStore& store, Millis now_ms, Millis wait_ms) {
  std::vector<std::string> rerouted;
  const auto machines = store.machines();
  for (const std::string_view queue : {std::string_view("gpu:high"), std::string_view("gpu:standard")}) {
    const bool served = std::any_of(machines.begin(), machines.end(), [&](const MachineInfo& m) {
      return m.live && std::find(m.queues.begin(), m.queues.end(), queue) != m.queues.end();
    });
    if (served) {
      continue;
    }
    TaskFilter filter;
    filter.status = TaskStatus::pending;
    filter.queue = std::string(queue);
    filter.limit = 1000;
    for (const Task& t : store.list(filter)) {
      bool allowed = false;
      try {
        allowed = allows_cpu_fallback(t);
      } catch (const InputError& e) {
        spdlog::warn("gpu_fallback skipped: {}", e.what());
        continue;
      }
      const Millis waited = now_ms - t.enqueued_at_ms;
      if (!allowed || waited < wait_ms) {
        continue;
      }
      if (store.reroute(t.id, std::string(k_fallback_queue))) {
        spdlog::info("gpu_fallback task={} type={} from={} to={} waited_s={:.0f}: no live machine serves {}", t.id,
                     t.task_type, queue, k_fallback_queue, static_cast<double>(waited) / 1000.0, queue);
        rerouted.push_back(t.id);
      }
    }
  }
  return rerouted;
}

GpuFallback::GpuFallback(std::vector<std::string> served_queues, std::chrono::milliseconds wait)
    : m_wait(wait),
      m_interval(std::clamp<std::chrono::milliseconds>(wait / 4, std::chrono::seconds(1), std::chrono::seconds(60))) {
  const bool serves_target =
      std::find(served_queues.begin(), served_queues.end(), k_fallback_queue) != served_queues.end();
  const bool serves_gpu = std::any_of(served_queues.begin(), served_queues.end(), is_gpu_queue);
  m_active = wait.count() > 0 && serves_target && !serves_gpu;
}

void GpuFallback::tick(TaskStore& store) {
  if (!m_active) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now < m_next) {
    return;
  }
  m_next = now + m_interval;
  try {
    reroute_waiting_gpu_tasks(store, SystemClock().now_ms(), m_wait.count());
    m_last_error.clear();
  } catch (const StoreUnavailable&) {
    throw;
  } catch (const std::exception& e) {
    if (m_last_error != e.what()) {
      m_last_error = e.what();
      spdlog::warn("gpu_fallback pass failed: {}", e.what());
    }
  }
}

GpuAdmission check_gpu_memory(const Task& task, const std::vector<GpuInfo>& gpus) {
  GpuAdmission a;
  const double need = task.min_gpu_memory;
  if (need <= 0.0) {
    return a;
  }
  const GpuInfo* largest = nullptr;
  const GpuInfo* fits_free = nullptr;
  for (const auto& g : gpus) {
    if (largest == nullptr || g.memory_total_gib > largest->memory_total_gib) {
      largest = &g;
    }
    if (fits_free == nullptr && g.memory_total_gib >= need && g.memory_free_gib >= need) {
      fits_free = &g;
    }
  }
  if (largest == nullptr) {
    a.verdict = GpuAdmission::Verdict::too_large;
    a.message = fmt::format("min_gpu_memory: the task needs {:.1f} GiB of GPU memory; this machine has no GPU", need);
  } else if (largest->memory_total_gib < need) {
    a.verdict = GpuAdmission::Verdict::too_large;
    a.message = fmt::format("min_gpu_memory: the task needs {:.1f} GiB of GPU memory; the largest GPU here ({}) has "
                            "{:.1f} GiB",
                            need, largest->name, largest->memory_total_gib);
  } else if (fits_free == nullptr) {
    a.verdict = GpuAdmission::Verdict::busy;
    a.message = fmt::format("GPU memory in use: the task needs {:.1f} GiB free; {} has {:.1f} of {:.1f} GiB free",
                            need, largest->name, largest->memory_free_gib, largest->memory_total_gib);
  }
  return a;
}

std::vector<GpuInfo> current_gpus() {
  if (auto nvml = make_system_probe()->nvml_gpus()) {
    return *nvml;
  }
  const auto cuda = analytics::gpu::cuda_status();
  if (cuda.available) {
    return {GpuInfo{cuda.device_name, cuda.total_gib, cuda.free_gib, "cuda"}};
  }
  return {};
}

void admit_gpu_task(const Task& task, const std::function<std::vector<GpuInfo>()>& gpus) {
  if (!is_gpu_queue(task.queue) || task.min_gpu_memory <= 0.0) {
    return;
  }
  const GpuAdmission a = check_gpu_memory(task, gpus());
  switch (a.verdict) {
  case GpuAdmission::Verdict::ok: return;
  case GpuAdmission::Verdict::too_large: throw TaskFailure(a.message, false);
  case GpuAdmission::Verdict::busy: throw WaitingForInput(a.message);
  }
}

} // namespace nfl
