#pragma once
// Hybrid logical clock (Kulkarni et al., 2014): a wall-clock reading plus a counter.
// Every change a machine makes gets a stamp greater than every stamp it has seen, so
// "newest change wins" respects causality even when machines' clocks disagree by
// minutes: a machine whose clock lags simply carries the larger stamp forward.
#include <compare>
#include <cstdint>
#include <memory>
#include <string>

#include "util/clock.hpp"

namespace nfl::sync {

struct Hlc {
  Millis wall_ms = 0;
  std::uint32_t counter = 0;

  auto operator<=>(const Hlc&) const = default;
  bool is_zero() const { return wall_ms == 0 && counter == 0; }
  std::string to_string() const; // "1700000000000.3"
};

class HybridClock {
public:
  explicit HybridClock(std::shared_ptr<Clock> clock, Hlc last = {}) : m_clock(std::move(clock)), m_last(last) {}

  // A stamp for a local event, greater than every stamp issued or observed before.
  Hlc tick();
  // Folds in a stamp read from another machine.
  void observe(const Hlc& remote);
  const Hlc& last() const { return m_last; }

private:
  std::shared_ptr<Clock> m_clock;
  Hlc m_last;
};

} // namespace nfl::sync
