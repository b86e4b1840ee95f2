#pragma once
// When to retry a failed notification: exponential backoff with jitter, capped. A pure function
// of the attempt count and a random draw, so tests check its bounds without waiting.

#include <cstdint>

#include "agent/core/clock.h"

namespace vigil::notify {

struct BackoffPolicy {
  /// The delay after the first failure, before jitter.
  Duration initial{1'000};
  /// No delay exceeds this, jitter included: a receiver that comes back after hours of outage
  /// is retried within `max` of its return.
  Duration max{5 * 60'000};
  double multiplier = 2.0;

  /// The delay after `attempts` failed attempts (>= 1), for a uniform draw `u` in [0, 1).
  /// "Equal jitter": half the exponential step is fixed and half is random, so the delay is in
  /// [step / 2, step] with step = min(max, initial * multiplier^(attempts - 1)). The fixed half
  /// keeps retries from bunching near zero; the random half spreads out receivers that failed
  /// together (a shared outage) so they do not all come back in the same instant.
  Duration delay(int attempts, double u) const;
};

}  // namespace vigil::notify
