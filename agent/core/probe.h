#pragma once
// The probe contract (STYLE rule 2): data in, data out. A probe gets a target's check and a
// deadline, runs asynchronously on the probe loop, and delivers a ProbeResult: samples plus a
// FailureReason. Probes know nothing of the series store, rules or exporters.

#include <functional>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/failure_reason.h"
#include "agent/core/labels.h"

namespace vigil {

/// One figure a probe measured. `name` is a metric name from exporters/metrics/names.h-style
/// constants (e.g. "probe_http_status_code"); `labels` are the extra labels this sample needs
/// beyond the target's own (e.g. {phase="connect"}), sorted.
struct ProbeSample {
  std::string name;
  Labels labels;
  double value = 0;
};

/// What one probe run produced.
struct ProbeResult {
  FailureReason reason = FailureReason::kInternal;
  std::string error;            ///< human-readable reason, empty on success; never secrets
  double durationSeconds = 0;   ///< wall time of the whole probe
  std::vector<ProbeSample> samples;
  /// Lines for `vigil probe`'s human-readable trace (phase timings, figures, fingerprints).
  std::vector<std::string> trace;

  bool success() const { return reason == FailureReason::kNone; }
};

/// Called exactly once per started probe, on the probe loop thread.
using ProbeCompletion = std::function<void(ProbeResult)>;

}  // namespace vigil
