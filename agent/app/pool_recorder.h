#pragma once
// Turns a pool's load-balancer probe results into series (SPEC §3's pool series). Unlike a
// target's checks, the set of series changes from one probe to the next — a member's lb_state
// label moves from UP to MAINT, a server appears in or leaves the backend — so the recorder keeps
// the series of the last successful probe and releases (staleness marker) each one the next
// result no longer has.
//
// A failed fetch of the stats page writes probe_success{probe="lb"} 0 and leaves the pool's LB
// series as they were, so a blip (an HAProxy reload) neither reports zeros nor resolves a firing
// RedundancyLost. Once the stats have been unreadable for kLbStaleAfter the series get staleness
// markers: neither /metrics nor the rules keep showing a view that old.

#include <map>
#include <set>
#include <string>
#include <utility>

#include "agent/app/recorder.h"
#include "agent/config/config.h"
#include "agent/core/probe.h"
#include "agent/series/series_store.h"

namespace vigil {

/// Prometheus' lookback delta: how long the rules would keep using the last sample anyway.
inline constexpr Duration kLbStaleAfter{5 * 60 * 1000};

/// Records the results of one pool's load-balancer probe. Not thread-safe: owned by the probe
/// loop.
class PoolRecorder {
 public:
  /// `memberLabels`: each member target's `labels:`, added to its per-member series (SPEC §3:
  /// every per-target series carries the target's labels).
  PoolRecorder(series::SeriesStore& store, ProbeCounters& counters, std::string pool);
  ~PoolRecorder();
  PoolRecorder(const PoolRecorder&) = delete;
  PoolRecorder& operator=(const PoolRecorder&) = delete;

  /// The config-derived facts; applied from the next record() or recordConfig() on.
  void configure(int members, int minInRotation, std::map<std::string, Labels> memberLabels);

  /// Writes vigil_pool_members and vigil_pool_min_in_rotation at `t` (every pool tick, also for
  /// pools without a load balancer).
  void recordConfig(TimestampMs t);

  /// Writes probe_success{probe="lb"}, probe_duration_seconds, counts the probe, and on success
  /// the result's samples (lbSamples()); logs once per change the servers no target maps to,
  /// the members the backend lacks, and the start and end of a failing stats fetch.
  void record(const ProbeResult& r, TimestampMs t);

  const std::string& pool() const { return pool_; }

 private:
  void releaseAll(TimestampMs t);
  Labels labelsFor(const ProbeSample& s) const;

  series::SeriesStore& store_;
  ProbeCounters& counters_;
  std::string pool_;
  int members_ = 0;
  int minInRotation_ = 0;
  std::map<std::string, Labels> memberLabels_;
  series::SeriesRef success_ = series::kNoSeries;
  series::SeriesRef duration_ = series::kNoSeries;
  series::SeriesRef membersRef_ = series::kNoSeries;
  series::SeriesRef minRef_ = series::kNoSeries;
  std::map<Labels, series::SeriesRef> live_;  // the series of the last successful probe
  TimestampMs lastSuccess_ = 0;
  bool failing_ = false;
  std::set<std::string> unknown_;  // "server (STATE)" of servers no target maps to
  std::set<std::string> absent_;   // members the backend does not have
  std::vector<std::pair<series::SeriesRef, double>> batch_;
};

}  // namespace vigil
