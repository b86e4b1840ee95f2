#pragma once
// The rule engine reads the agent's own series store through promql::Queryable.

#include <string>
#include <unordered_map>

#include "agent/rules/promql/ast.h"
#include "agent/rules/promql/value.h"
#include "agent/series/series_store.h"

namespace vigil {

/// Thread-safe: the store's read lock is held for each select(), and for the whole of a session
/// (one evaluation: probe-loop writers wait for it, so evaluations must stay short).
class StoreQueryable final : public promql::Queryable {
 public:
  explicit StoreQueryable(const series::SeriesStore& store) : store_(store) {}
  std::vector<promql::Series> select(const std::vector<promql::Matcher>& matchers,
                                     TimestampMs minT, TimestampMs maxT) const override;
  /// Holds the store's read lock for the session: labels come out as the store's own symbol
  /// ids and samples are read in place from the ring buffers, in label order per metric name.
  std::unique_ptr<promql::SelectSession> openSession() const override;

 private:
  const series::SeriesStore& store_;
};

/// How much history the store must keep for `exprs`: per metric name (selectors with an
/// equality matcher on the name), and a fallback for selectors that match names by regex.
/// A name only read at the evaluation time needs none: the store always keeps the latest sample.
struct HistoryNeeded {
  Duration fallback{0};
  std::unordered_map<std::string, Duration> byName;
  /// The longest of them all.
  Duration longest() const;
};
HistoryNeeded historyNeeded(const std::vector<const promql::Expr*>& exprs);

}  // namespace vigil
