#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
// a counter-based generator. Every simulated season draws from its own counter range,
// so results depend on the seed and the simulation index only, never on which thread
// ran it (and a GPU kernel can reproduce the same streams).
#include <array>
#include <cstdint>

// The same source runs in the CUDA season kernel (src/analytics/gpu), so a (seed,
// counter) gives the same numbers on either device.
#if defined(__CUDACC__)
#define NFL_HOST_DEVICE __host__ __device__
#else
#define NFL_HOST_DEVICE
#endif

namespace nfl::analytics::season {

class Philox4x32 {
public:
  using Block = std::array<std::uint32_t, 4>;

  NFL_HOST_DEVICE explicit Philox4x32(std::uint64_t seed)
      : m_key{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)} {}

  NFL_HOST_DEVICE Block operator()(Block ctr) const {
    std::array<std::uint32_t, 2> key = m_key;
    for (int round = 0; round < 10; ++round) {
      if (round > 0) {
        key[0] += k_w0;
        key[1] += k_w1;
      }
      const std::uint64_t p0 = std::uint64_t{k_m0} * ctr[0];
      const std::uint64_t p1 = std::uint64_t{k_m1} * ctr[2];
      ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
             static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    }
    return ctr;
  }

  // Uniform in (0, 1), never exactly 0 or 1.
  NFL_HOST_DEVICE static double to_unit(std::uint32_t x) { return (static_cast<double>(x) + 0.5) * (1.0 / 4294967296.0); }

private:
  static constexpr std::uint32_t k_m0 = 0xD2511F53;
  static constexpr std::uint32_t k_m1 = 0xCD9E8D57;
  static constexpr std::uint32_t k_w0 = 0x9E3779B9;
  static constexpr std::uint32_t k_w1 = 0xBB67AE85;
  std::array<std::uint32_t, 2> m_key;
};

} // namespace nfl::analytics::season
