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

constexpr int64_t kLookbackMs = 5 * 60 * 1000;
// Samples are trimmed against the newest one, which may be ahead of the evaluation time by up
// to a probe interval; this margin keeps a window's oldest sample through that.
constexpr int64_t kMarginMs = 60 * 1000;

// `back` is how far before the evaluation time the enclosing expressions already look (offsets
// and ranges of ancestors); a range selector's offset sits on its vector selector.
void visit(const promql::Expr& e, int64_t back, bool inRange, HistoryNeeded& out) {
  back += e.offsetMs + e.rangeMs;
  if (e.kind == promql::ExprKind::kMatrixSelector) inRange = true;
  if (e.kind == promql::ExprKind::kVectorSelector) {
    // An instant selector without offset reads the latest sample, which is always kept.
    const int64_t need = inRange ? back : (back > 0 ? back + kLookbackMs : 0);
    if (need > 0) {
      const Duration d{need + kMarginMs};
      std::string name;
      for (const auto& m : e.matchers) {
        if (m.name() == kMetricNameLabel && m.type() == promql::MatchType::kEqual) name = m.value();
      }
      if (name.empty()) {
        out.fallback = std::max(out.fallback, d);
      } else {
        auto& slot = out.byName[name];
        slot = std::max(slot, d);
      }
    }
  }
  for (const auto& c : e.args) {
    if (c) visit(*c, back, inRange, out);
  }
}

}  // namespace

Duration HistoryNeeded::longest() const {
  Duration d = fallback;
  for (const auto& [name, v] : byName) d = std::max(d, v);
  return d;
}

HistoryNeeded historyNeeded(const std::vector<const promql::Expr*>& exprs) {
  HistoryNeeded out;
  for (const promql::Expr* e : exprs) {
    if (e != nullptr) visit(*e, 0, false, out);
  }
  return out;
}

}  // namespace vigil
