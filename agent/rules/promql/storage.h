#pragma once
// A simple in-memory Queryable: used by the promtool-format test runner, by rule groups to
// overlay freshly recorded series, and by tests.

#include <map>

#include "agent/rules/promql/value.h"

namespace vigil::promql {

/// Series kept in memory, appended in time order. Not thread-safe: one owner at a time.
class MemoryStorage final : public Queryable {
 public:
  /// Appends a sample (stale markers included). Samples older than the series' newest one
  /// are inserted in order; an equal timestamp replaces the value.
  void append(const Labels& labels, TimestampMs t, double v);

  std::vector<Series> select(const std::vector<Matcher>& matchers, TimestampMs minT,
                             TimestampMs maxT) const override;

  /// Number of series.
  size_t size() const { return series_.size(); }

 private:
  std::map<Labels, std::vector<Point>> series_;
};

/// Presents the union of two Queryables (a series present in both is merged by time).
class UnionQueryable final : public Queryable {
 public:
  UnionQueryable(const Queryable& a, const Queryable& b) : a_(a), b_(b) {}
  std::vector<Series> select(const std::vector<Matcher>& matchers, TimestampMs minT,
                             TimestampMs maxT) const override;
  /// `a`'s session, with `b`'s series interned into it and merged in label order.
  std::unique_ptr<SelectSession> openSession() const override;

 private:
  const Queryable& a_;
  const Queryable& b_;
};

}  // namespace vigil::promql
