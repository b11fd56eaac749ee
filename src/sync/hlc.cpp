#include "sync/hlc.hpp"

#include <fmt/format.h>

namespace nfl::sync {

std::string Hlc::to_string() const { return fmt::format("{}.{}", wall_ms, counter); }

Hlc HybridClock::tick() {
  Millis physical = m_clock->now_ms();
  if (physical > m_last.wall_ms) {
    m_last = Hlc{physical, 0};
  } else {
    ++m_last.counter;
  }
  return m_last;
}

void HybridClock::observe(const Hlc& remote) {
  if (remote > m_last) {
    m_last = remote;
  }
}

} // namespace nfl::sync
