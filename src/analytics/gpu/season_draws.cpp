#include "analytics/gpu/season_draws.hpp"

#include "analytics/gpu/thresholds.hpp"

namespace nfl::analytics::gpu {

void draw_outcomes_cpu(std::uint64_t seed, const std::vector<DrawGame>& games, std::int64_t first, std::int64_t count,
                       std::int8_t* out) {
  const std::vector<GameThresholds> thresholds = to_thresholds(games);
  const season::Philox4x32 rng(seed);
  const std::size_t n = games.size();
  for (std::int64_t s = 0; s < count; ++s) {
    const std::int64_t index = first + s;
    const auto lo = static_cast<std::uint32_t>(index);
    const auto hi = static_cast<std::uint32_t>(static_cast<std::uint64_t>(index) >> 32);
    std::int8_t* row = out + static_cast<std::size_t>(s) * n;
    for (std::size_t k = 0; k < n; k += 4) {
      const auto block = rng({lo, hi, static_cast<std::uint32_t>(k / 4), 0});
      for (std::size_t j = 0; j < 4 && k + j < n; ++j) {
        row[k + j] = outcome_from_word(thresholds[k + j], block[j]);
      }
    }
  }
}

#if !NFL_HAVE_CUDA
// The CPU-only build: the drawer exists so callers need no #if, and says why it cannot run.
struct CudaSeasonDrawer::State {};

CudaSeasonDrawer::CudaSeasonDrawer(std::uint64_t, const std::vector<DrawGame>&, std::int64_t) {
  throw GpuUnavailable("this build has no CUDA kernels (NFL_CUDA=OFF or no nvcc at build time)");
}

CudaSeasonDrawer::~CudaSeasonDrawer() = default;

void CudaSeasonDrawer::draw(std::int64_t, std::int64_t, std::int8_t*) {
  throw GpuUnavailable("this build has no CUDA kernels");
}
#endif

} // namespace nfl::analytics::gpu
