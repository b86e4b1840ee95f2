#pragma once
// The last outcome of one check (an HTTP URL or the memory probe of a target), as the API and
// the status page show it.

#include <string>

#include "agent/core/clock.h"
#include "agent/core/failure_reason.h"
#include "agent/core/labels.h"

namespace vigil {

struct CheckStatus {
  std::string target;
  std::string probe;  ///< "http" | "memory"
  std::string url;    ///< empty for memory
  Labels labels;      ///< the check's base labels (target, pool, url, target labels)
  Duration interval{0};
  Duration timeout{0};
  TimestampMs lastRun = 0;  ///< 0: never
  double lastDurationSeconds = 0;
  FailureReason lastReason = FailureReason::kNone;
  std::string lastError;
};

}  // namespace vigil
