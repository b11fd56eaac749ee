#include "analytics/gpu/device.hpp"

#include <fmt/format.h>

namespace nfl::analytics::gpu {

#if NFL_HAVE_CUDA
CudaStatus cuda_runtime_status(); // season_kernel.cu
#endif

CudaStatus cuda_status() {
#if NFL_HAVE_CUDA
  CudaStatus s;
  try {
    s = cuda_runtime_status();
  } catch (const std::exception& e) {
    s.built = true;
    s.reason = e.what();
  }
  s.build_info = NFL_CUDA_BUILD_INFO;
  return s;
#else
  CudaStatus s;
  s.built = false;
  s.build_info = "not built (NFL_CUDA=OFF or no nvcc at build time)";
  s.reason = "this build has no CUDA kernels";
  return s;
#endif
}

std::string device_label(const CudaStatus& status) {
  return status.available ? "cuda:" + status.device_name : std::string("cpu");
}

std::string describe(const CudaStatus& status) {
  if (!status.built) {
    return fmt::format("{}; GPU tasks run on the CPU kernels", status.build_info);
  }
  if (!status.available) {
    return fmt::format("built ({}); no device: {}; GPU tasks run on the CPU kernels", status.build_info,
                       status.reason);
  }
  return fmt::format("built ({}); device {}, {:.1f} GiB ({:.1f} GiB free)", status.build_info, status.device_name,
                     status.total_gib, status.free_gib);
}

} // namespace nfl::analytics::gpu
