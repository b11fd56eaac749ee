#pragma once
// The season kernel's device-neutral interface: regular-season game outcomes for a
// range of simulation indices, drawn from the simulator's Philox streams (season
// index -> counter {lo, hi, game/4, 0}), so a (seed, season index) gives the same
// outcomes on the CPU and on a CUDA device. Standings and tie-breakers then run on
// the host (analytics/season/simulator.cpp).
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace nfl::analytics::gpu {

struct DrawGame {
  std::uint8_t home = 0;
  std::uint8_t away = 0;
  double p_away = 0.5; // u < p_away: away win
  double p_home = 0.5; // u >= p_home: home win; in between: tie
};

// The CUDA device cannot be used (none, no driver, not built, out of memory).
class GpuUnavailable : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// out[(s - first) * games.size() + k] = -1 away win, 0 tie, +1 home win.
void draw_outcomes_cpu(std::uint64_t seed, const std::vector<DrawGame>& games, std::int64_t first, std::int64_t count,
                       std::int8_t* out);

// Holds the games and a device buffer for up to `max_batch` seasons. Throws
// GpuUnavailable when there is no device (or the build has no CUDA).
class CudaSeasonDrawer {
public:
  CudaSeasonDrawer(std::uint64_t seed, const std::vector<DrawGame>& games, std::int64_t max_batch);
  ~CudaSeasonDrawer();
  CudaSeasonDrawer(const CudaSeasonDrawer&) = delete;
  CudaSeasonDrawer& operator=(const CudaSeasonDrawer&) = delete;

  // Same layout as draw_outcomes_cpu; count <= max_batch.
  void draw(std::int64_t first, std::int64_t count, std::int8_t* out);

  struct State;

private:
  std::unique_ptr<State> m_state;
};

} // namespace nfl::analytics::gpu
