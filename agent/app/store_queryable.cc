#include "agent/app/store_queryable.h"

#include <algorithm>

#include "agent/rules/promql/ast.h"

namespace vigil {

std::vector<promql::Series> StoreQueryable::select(const std::vector<promql::Matcher>& matchers,
                                                   TimestampMs minT, TimestampMs maxT) const {
  // An equality matcher on the metric name narrows the scan to that name's series.
  std::string_view name;
  for (const auto& m : matchers) {
    if (m.name() == kMetricNameLabel && m.type() == promql::MatchType::kEqual) name = m.value();
  }
  std::vector<promql::Series> out;
  store_.visitSeries(name, [&](const series::SeriesStore::SeriesView& v) {
    for (const auto& m : matchers) {
      if (!m.matches(v.label(m.name()))) return;
    }
    promql::Series s;
    v.forEachSample([&](const series::Sample& p) {
      if (p.t >= minT && p.t <= maxT) s.points.push_back(promql::Point{p.t, p.v});
    });
    if (s.points.empty()) return;
    s.labels = v.labels();
    out.push_back(std::move(s));
  });
  return out;
}

namespace {

// How far back from the evaluation time an expression reads: its own range and offset on top
// of the farthest any operand reads (a matrix selector's offset sits on its vector selector).
int64_t reach(const promql::Expr& e) {
  int64_t deepest = 0;
  for (const auto& c : e.args) {
    if (c) deepest = std::max(deepest, reach(*c));
  }
  return e.offsetMs + e.rangeMs + deepest;
}

}  // namespace

Duration historyNeeded(const std::vector<const promql::Expr*>& exprs) {
  constexpr int64_t kLookbackMs = 5 * 60 * 1000;
  int64_t longest = 0;
  for (const promql::Expr* e : exprs) {
    if (e != nullptr) longest = std::max(longest, reach(*e));
  }
  return Duration{longest + kLookbackMs};
}

}  // namespace vigil
