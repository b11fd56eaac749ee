#pragma once
// Device-neutral view of the optional CUDA build (docs/gpu.md): whether the kernels
// were compiled in, and whether the CUDA runtime finds a device on this machine.
// Nothing here needs a driver: a CPU-only build or a machine without one answers
// "not available" with the reason.
#include <string>

namespace nfl::analytics::gpu {

struct CudaStatus {
  bool built = false;         // compiled with NFL_CUDA (nvcc found at build time)
  std::string build_info;     // "CUDA 13.0.88, architectures 80-real 90" or why not built
  bool available = false;     // the runtime found a usable device
  std::string device_name;    // device 0, e.g. "NVIDIA H200"
  double total_gib = 0.0;
  double free_gib = 0.0;
  std::string reason;         // why not available ("no CUDA driver", ...)
};

// Asks the runtime each call (free memory changes); never throws.
CudaStatus cuda_status();

// "cuda:<device name>" when `status` has a device, else "cpu": what task results
// record as `device`.
std::string device_label(const CudaStatus& status);

// One line for `nfl-compute hardware`.
std::string describe(const CudaStatus& status);

} // namespace nfl::analytics::gpu
