#pragma once
// The agent's own process and build figures (process_*, vigil_build_info), written into the
// series store like every other series, so they are scraped and usable in rules.

#include <string>

#include "agent/series/series_store.h"

namespace vigil::metrics {

/// Describes every family vigil exports (type and help), once at startup.
void describeAll(series::SeriesStore& store);

/// Not thread-safe: one owner (the probe loop refreshes it once a second).
class SelfMetrics {
 public:
  SelfMetrics(series::SeriesStore& store, const std::string& version,
              const std::string& revision, const std::string& buildDate);
  ~SelfMetrics();
  SelfMetrics(const SelfMetrics&) = delete;
  SelfMetrics& operator=(const SelfMetrics&) = delete;

  /// Reads /proc/self and writes the process_* series at `now`.
  void update(TimestampMs now);

 private:
  series::SeriesStore& store_;
  series::SeriesRef buildInfo_, cpu_, rss_, vsize_, start_, openFds_, maxFds_, seriesCount_,
      seriesBytes_;
  double startTimeSeconds_ = 0;
};

}  // namespace vigil::metrics
