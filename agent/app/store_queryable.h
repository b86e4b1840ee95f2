#pragma once
// The rule engine reads the agent's own series store through promql::Queryable.

#include "agent/rules/promql/ast.h"
#include "agent/rules/promql/value.h"
#include "agent/series/series_store.h"

namespace vigil {

/// Thread-safe (the store's read lock is held for each select()).
class StoreQueryable final : public promql::Queryable {
 public:
  explicit StoreQueryable(const series::SeriesStore& store) : store_(store) {}
  std::vector<promql::Series> select(const std::vector<promql::Matcher>& matchers,
                                     TimestampMs minT, TimestampMs maxT) const override;

 private:
  const series::SeriesStore& store_;
};

/// The longest time back any of `exprs` reads (range + offset), plus Prometheus' 5m lookback:
/// how much history the store must keep for these rules.
Duration historyNeeded(const std::vector<const promql::Expr*>& exprs);

}  // namespace vigil
