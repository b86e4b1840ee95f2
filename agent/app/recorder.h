#pragma once
// Turns probe results into series. Each check of a target (one http URL, the memory probe) has a
// CheckRecorder holding refs to its series, so recording a result is a few array writes under
// one store lock, not a label-set lookup per sample. Destroying a recorder (a target removed by a
// reload) releases its series: they get staleness markers and disappear from /metrics.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/config.h"
#include "agent/core/probe.h"
#include "agent/series/instruments.h"
#include "agent/series/series_store.h"

namespace vigil {

/// Counters shared by every check: vigil_probes_total{probe,result}. Not thread-safe.
class ProbeCounters {
 public:
  /// Creates the HTTP outcome counters at zero, written at `now`.
  ProbeCounters(series::SeriesStore& store, TimestampMs now);
  void count(std::string_view probe, FailureReason reason, TimestampMs t);
  double value(std::string_view probe, FailureReason reason) const;

 private:
  series::SeriesStore& store_;
  std::map<std::pair<std::string, FailureReason>, series::StoreCounter> counters_;
};

/// The bounds of vigil_http_request_duration_seconds (blackbox/Prometheus defaults, which
/// cover loopback sub-millisecond probes to 10 s timeouts).
const std::vector<double>& httpDurationBuckets();

/// Records the results of one check. Not thread-safe: owned by the probe loop.
class CheckRecorder {
 public:
  /// `probe` is "http" or "memory"; `url` empty for non-HTTP checks.
  CheckRecorder(series::SeriesStore& store, ProbeCounters& counters, const config::Target& target,
                std::string probe, std::string url);
  ~CheckRecorder();
  CheckRecorder(const CheckRecorder&) = delete;
  CheckRecorder& operator=(const CheckRecorder&) = delete;

  /// Writes the result's samples, probe_success, probe_duration_seconds and the derived
  /// counters and histogram, all at `t`.
  void record(const ProbeResult& r, TimestampMs t);

  /// The label set every series of this check carries (target, pool, url, target labels).
  const Labels& baseLabels() const { return base_; }

 private:
  series::SeriesRef refFor(size_t index, const ProbeSample& s);

  series::SeriesStore& store_;
  ProbeCounters& counters_;
  std::string probe_;
  Labels base_;
  series::SeriesRef success_ = series::kNoSeries;
  series::SeriesRef duration_ = series::kNoSeries;
  // Cached refs by sample position; a probe emits the same samples in the same order each time,
  // so the cache hits unless the shape changes (then the entry is replaced).
  struct Cached {
    std::string name;
    Labels labels;
    series::SeriesRef ref = series::kNoSeries;
  };
  std::vector<Cached> cache_;
  std::map<std::string, series::StoreCounter> responses_;  // by code, HTTP only
  std::unique_ptr<series::StoreHistogram> latency_;         // HTTP only
  std::vector<std::pair<series::SeriesRef, double>> batch_;
};

}  // namespace vigil
