#pragma once
// Game outcomes decided on the raw 32-bit Philox word instead of a double uniform:
// u = (x + 0.5) / 2^32 is exact in double, so "u < p" equals "x < t" for the integer
// threshold t computed here once per game. Both kernels use it, which makes the CPU
// and CUDA outcomes identical by construction and keeps doubles out of the GPU loop
// (consumer cards run FP64 at 1/64 rate).
#include <cstdint>
#include <vector>

#include "analytics/gpu/season_draws.hpp"
#include "analytics/season/philox.hpp"

namespace nfl::analytics::gpu {

struct GameThresholds {
  std::uint64_t away_below = 0; // x < away_below: away win
  std::uint64_t home_from = 0;  // x >= home_from: home win; in between: tie
};

// Smallest x in [0, 2^32] with to_unit(x) >= p (2^32: no word reaches p).
inline std::uint64_t first_word_at_least(double p) {
  std::uint64_t lo = 0;
  std::uint64_t hi = std::uint64_t{1} << 32;
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (season::Philox4x32::to_unit(static_cast<std::uint32_t>(mid)) >= p) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

inline std::vector<GameThresholds> to_thresholds(const std::vector<DrawGame>& games) {
  std::vector<GameThresholds> out;
  out.reserve(games.size());
  for (const auto& g : games) {
    out.push_back({first_word_at_least(g.p_away), first_word_at_least(g.p_home)});
  }
  return out;
}

NFL_HOST_DEVICE inline std::int8_t outcome_from_word(const GameThresholds& g, std::uint32_t x) {
  return x < g.away_below ? std::int8_t{-1} : (x >= g.home_from ? std::int8_t{1} : std::int8_t{0});
}

} // namespace nfl::analytics::gpu
