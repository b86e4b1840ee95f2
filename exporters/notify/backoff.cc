#include "exporters/notify/backoff.h"

#include <algorithm>
#include <cmath>

namespace vigil::notify {

Duration BackoffPolicy::delay(int attempts, double u) const {
  const double cap = static_cast<double>(max.count());
  double step = static_cast<double>(initial.count());
  for (int i = 1; i < attempts && step < cap; ++i) step *= multiplier;
  step = std::min(step, cap);
  u = std::clamp(u, 0.0, 1.0);
  const double d = step / 2 + u * (step / 2);
  return Duration{static_cast<int64_t>(std::min(d, cap))};
}

}  // namespace vigil::notify
