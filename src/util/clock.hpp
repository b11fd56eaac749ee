#pragma once
// Time as milliseconds since the Unix epoch, behind an interface so that stores and
// tests can move time forward (lease expiry, backoff) without sleeping.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace nfl {

using Millis = std::int64_t;

class Clock {
public:
  virtual ~Clock() = default;
  virtual Millis now_ms() const = 0;
};

class SystemClock final : public Clock {
public:
  Millis now_ms() const override;
};

// A clock that tests move by hand.
class ManualClock final : public Clock {
public:
  explicit ManualClock(Millis start = 1'700'000'000'000) : m_now(start) {}
  Millis now_ms() const override { return m_now.load(); }
  void advance_ms(Millis delta) { m_now += delta; }
  void set_ms(Millis value) { m_now = value; }

private:
  std::atomic<Millis> m_now;
};

std::shared_ptr<Clock> system_clock();

// ISO-8601 UTC with milliseconds, e.g. 2025-12-07T18:00:00.000Z.
std::string format_iso8601(Millis ms);
// Monotonic milliseconds for durations (never jumps with NTP).
Millis monotonic_ms();

} // namespace nfl
