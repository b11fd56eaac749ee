// CUDA side of the season Monte Carlo and of the device query (docs/gpu.md).
// Compiled only when NFL_CUDA finds nvcc; analytics/gpu/*.cpp hold the CPU-only
// stand-ins. One thread draws one simulated season.
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "analytics/gpu/device.hpp"
#include "analytics/gpu/season_draws.hpp"
#include "analytics/gpu/thresholds.hpp"
#include "analytics/season/philox.hpp"

namespace nfl::analytics::gpu {

namespace {

constexpr int k_block = 128;

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError(); // clear a sticky-free error so later calls can still work
    throw GpuUnavailable(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
  }
}

// The games live in shared memory: every thread of a block reads all of them.
__global__ void draw_kernel(std::uint64_t seed, const GameThresholds* games, int n, std::int64_t first,
                            std::int64_t count, std::int8_t* out) {
  extern __shared__ GameThresholds shared_games[];
  for (int k = static_cast<int>(threadIdx.x); k < n; k += blockDim.x) {
    shared_games[k] = games[k];
  }
  __syncthreads();
  const std::int64_t s = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (s >= count) {
    return;
  }
  const std::int64_t index = first + s;
  const auto lo = static_cast<std::uint32_t>(index);
  const auto hi = static_cast<std::uint32_t>(static_cast<std::uint64_t>(index) >> 32);
  const season::Philox4x32 rng(seed);
  std::int8_t* row = out + s * n;
  for (int k = 0; k < n; k += 4) {
    const auto block = rng({lo, hi, static_cast<std::uint32_t>(k / 4), 0});
    for (int j = 0; j < 4 && k + j < n; ++j) {
      row[k + j] = outcome_from_word(shared_games[k + j], block[j]);
    }
  }
}

} // namespace

struct CudaSeasonDrawer::State {
  std::uint64_t seed = 0;
  int games = 0;
  std::int64_t max_batch = 0;
  GameThresholds* d_games = nullptr;
  std::int8_t* d_out = nullptr;

  ~State() {
    cudaFree(d_games);
    cudaFree(d_out);
  }
};

CudaSeasonDrawer::CudaSeasonDrawer(std::uint64_t seed, const std::vector<DrawGame>& games, std::int64_t max_batch)
    : m_state(std::make_unique<State>()) {
  int devices = 0;
  check(cudaGetDeviceCount(&devices), "device query");
  if (devices == 0) {
    throw GpuUnavailable("no CUDA device");
  }
  m_state->seed = seed;
  m_state->games = static_cast<int>(games.size());
  m_state->max_batch = max_batch;
  const std::vector<GameThresholds> thresholds = to_thresholds(games);
  const std::size_t game_bytes = std::max<std::size_t>(1, thresholds.size()) * sizeof(GameThresholds);
  check(cudaMalloc(reinterpret_cast<void**>(&m_state->d_games), game_bytes), "allocating the games");
  if (!thresholds.empty()) {
    check(cudaMemcpy(m_state->d_games, thresholds.data(), thresholds.size() * sizeof(GameThresholds),
                     cudaMemcpyHostToDevice),
          "copying the games");
  }
  const std::size_t out_bytes = std::max<std::size_t>(1, static_cast<std::size_t>(max_batch) * games.size());
  check(cudaMalloc(reinterpret_cast<void**>(&m_state->d_out), out_bytes), "allocating the outcome buffer");
}

CudaSeasonDrawer::~CudaSeasonDrawer() = default;

void CudaSeasonDrawer::draw(std::int64_t first, std::int64_t count, std::int8_t* out) {
  if (count > m_state->max_batch) {
    throw GpuUnavailable("season batch larger than the device buffer");
  }
  if (count <= 0 || m_state->games == 0) {
    return;
  }
  const auto blocks = static_cast<unsigned>((count + k_block - 1) / k_block);
  const std::size_t shared = static_cast<std::size_t>(m_state->games) * sizeof(GameThresholds);
  draw_kernel<<<blocks, k_block, shared>>>(m_state->seed, m_state->d_games, m_state->games, first, count,
                                           m_state->d_out);
  check(cudaGetLastError(), "launching the season kernel");
  check(cudaMemcpy(out, m_state->d_out, static_cast<std::size_t>(count) * static_cast<std::size_t>(m_state->games),
                   cudaMemcpyDeviceToHost),
        "copying the outcomes back");
}

CudaStatus cuda_runtime_status() {
  CudaStatus s;
  s.built = true;
  int devices = 0;
  const cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess) {
    cudaGetLastError();
    s.reason = std::string("CUDA runtime: ") + cudaGetErrorString(e);
    return s;
  }
  if (devices == 0) {
    s.reason = "CUDA runtime: no device";
    return s;
  }
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, 0) != cudaSuccess) {
    cudaGetLastError();
    s.reason = "CUDA runtime: device 0 did not answer";
    return s;
  }
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
    cudaGetLastError();
    s.reason = "CUDA runtime: cannot read device memory";
    return s;
  }
  s.available = true;
  s.device_name = props.name;
  s.total_gib = static_cast<double>(total_bytes) / (1024.0 * 1024.0 * 1024.0);
  s.free_gib = static_cast<double>(free_bytes) / (1024.0 * 1024.0 * 1024.0);
  return s;
}

} // namespace nfl::analytics::gpu
