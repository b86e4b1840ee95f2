#pragma once
// Time as every part of vigil sees it: an injected Clock, so that scheduling, rule `for:`,
// notification timing and retries run in virtual time in tests.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace vigil {

/// Milliseconds since the Unix epoch: the unit of every sample timestamp (as in Prometheus).
using TimestampMs = int64_t;

/// Durations in configuration and scheduling have millisecond resolution, like Prometheus'.
using Duration = std::chrono::milliseconds;

/// RFC 3339 in UTC with milliseconds ("2026-11-25T16:00:00.123Z"); Go's zero time
/// "0001-01-01T00:00:00Z" for t <= 0, which is how Prometheus' API says "never".
std::string formatRfc3339(TimestampMs t);

/// The source of "now". Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Wall-clock time in ms since the epoch.
  virtual TimestampMs nowMs() const = 0;
};

/// The real wall clock.
class SystemClock final : public Clock {
 public:
  TimestampMs nowMs() const override;
  /// One shared instance; the clock has no state.
  static SystemClock& instance();
};

/// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimestampMs start = 1'700'000'000'000) : now_(start) {}
  TimestampMs nowMs() const override { return now_.load(std::memory_order_acquire); }
  void set(TimestampMs t) { now_.store(t, std::memory_order_release); }
  void advance(Duration d) { now_.fetch_add(d.count(), std::memory_order_acq_rel); }

 private:
  std::atomic<TimestampMs> now_;
};

}  // namespace vigil
