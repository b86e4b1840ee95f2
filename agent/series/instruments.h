#pragma once
// Counters and histograms whose values live in the SeriesStore, so rules can rate() them and
// /metrics exports them like any other series. Each instrument holds its series refs and
// releases them (staleness marker) when destroyed, e.g. when a target is removed.

#include <string>
#include <string_view>
#include <vector>

#include "agent/core/labels.h"
#include "agent/series/series_store.h"

namespace vigil::series {

/// A cumulative counter for one label set. Not thread-safe: one owner thread.
class StoreCounter {
 public:
  StoreCounter() = default;
  StoreCounter(SeriesStore& store, std::string_view name, Labels labels);
  ~StoreCounter();
  StoreCounter(StoreCounter&& o) noexcept;
  StoreCounter& operator=(StoreCounter&& o) noexcept;
  StoreCounter(const StoreCounter&) = delete;
  StoreCounter& operator=(const StoreCounter&) = delete;

  /// Adds `v` and writes the new total at `t`.
  void inc(TimestampMs t, double v = 1);
  /// Writes the current total at `t` without changing it.
  void touch(TimestampMs t);
  double value() const { return value_; }

 private:
  SeriesStore* store_ = nullptr;
  SeriesRef ref_ = kNoSeries;
  double value_ = 0;
};

/// A cumulative histogram (Prometheus' classic buckets) for one label set.
class StoreHistogram {
 public:
  StoreHistogram() = default;
  /// `bounds` ascending, without +Inf (added automatically).
  StoreHistogram(SeriesStore& store, std::string_view name, Labels labels,
                 std::vector<double> bounds);
  ~StoreHistogram();
  StoreHistogram(StoreHistogram&& o) noexcept;
  StoreHistogram& operator=(StoreHistogram&& o) noexcept;
  StoreHistogram(const StoreHistogram&) = delete;
  StoreHistogram& operator=(const StoreHistogram&) = delete;

  /// Records one observation and writes every bucket, _sum and _count at `t`.
  void observe(TimestampMs t, double v);
  uint64_t count() const { return count_; }

 private:
  void releaseAll();
  SeriesStore* store_ = nullptr;
  std::vector<double> bounds_;
  std::vector<SeriesRef> bucketRefs_;  // one per bound, then +Inf
  std::vector<uint64_t> bucketCounts_;
  SeriesRef sumRef_ = kNoSeries;
  SeriesRef countRef_ = kNoSeries;
  double sum_ = 0;
  uint64_t count_ = 0;
  std::vector<std::pair<SeriesRef, double>> scratch_;
};

/// Prometheus' float formatting for `le` labels ("0.005", "1", "+Inf").
std::string formatBound(double v);

}  // namespace vigil::series
