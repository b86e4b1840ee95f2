#include "agent/rules/promql/storage.h"

#include <algorithm>

namespace vigil::promql {

void MemoryStorage::append(const Labels& labels, TimestampMs t, double v) {
  auto& pts = series_[labels];
  if (pts.empty() || pts.back().t < t) {
    pts.push_back(Point{t, v});
    return;
  }
  auto it = std::lower_bound(pts.begin(), pts.end(), t,
                             [](const Point& p, TimestampMs ts) { return p.t < ts; });
  if (it != pts.end() && it->t == t) {
    it->v = v;
  } else {
    pts.insert(it, Point{t, v});
  }
}

std::vector<Series> MemoryStorage::select(const std::vector<Matcher>& matchers, TimestampMs minT,
                                          TimestampMs maxT) const {
  std::vector<Series> out;
  for (const auto& [labels, pts] : series_) {
    if (!matchesAll(matchers, labels)) continue;
    auto lo = std::lower_bound(pts.begin(), pts.end(), minT,
                               [](const Point& p, TimestampMs ts) { return p.t < ts; });
    auto hi = std::upper_bound(pts.begin(), pts.end(), maxT,
                               [](TimestampMs ts, const Point& p) { return ts < p.t; });
    if (lo >= hi) continue;
    out.push_back(Series{labels, std::vector<Point>(lo, hi)});
  }
  return out;
}

std::vector<Series> UnionQueryable::select(const std::vector<Matcher>& matchers, TimestampMs minT,
                                           TimestampMs maxT) const {
  auto out = a_.select(matchers, minT, maxT);
  auto extra = b_.select(matchers, minT, maxT);
  if (extra.empty()) return out;
  // Index by labels so that merging stays O(n log n) when a rule records many series.
  std::map<Labels, size_t> index;
  for (size_t i = 0; i < out.size(); ++i) index.emplace(out[i].labels, i);
  for (auto& s : extra) {
    auto it = index.find(s.labels);
    if (it == index.end()) {
      index.emplace(s.labels, out.size());
      out.push_back(std::move(s));
      continue;
    }
    auto& pts = out[it->second].points;
    for (const auto& p : s.points) {
      auto pos = std::lower_bound(pts.begin(), pts.end(), p.t,
                                  [](const Point& q, TimestampMs ts) { return q.t < ts; });
      if (pos != pts.end() && pos->t == p.t) {
        pos->v = p.v;
      } else {
        pts.insert(pos, p);
      }
    }
  }
  return out;
}

namespace {

class UnionSession final : public SelectSession {
 public:
  UnionSession(std::unique_ptr<SelectSession> a, const Queryable& b)
      : a_(std::move(a)), b_(b), copies_(b) {}
  std::string_view str(SymbolId id) const override { return a_->str(id); }
  bool find(std::string_view s, SymbolId* id) const override { return a_->find(s, id); }

  void select(const std::vector<Matcher>& matchers, TimestampMs minT, TimestampMs maxT,
              SymbolSpace& symbols, std::vector<SeriesIds>& out) override {
    const size_t start = out.size();
    a_->select(matchers, minT, maxT, symbols, out);
    auto extra = b_.select(matchers, minT, maxT);
    for (auto& s : extra) {
      SeriesIds e = copies_.keep(std::move(s), symbols);
      auto pos = std::lower_bound(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(), e,
                                  [&](const SeriesIds& x, const SeriesIds& y) {
                                    return compareLabels(x.labels, y.labels, symbols) < 0;
                                  });
      if (pos == out.end() || compareLabels(pos->labels, e.labels, symbols) != 0) {
        out.insert(pos, e);
        continue;
      }
      // In both: merge by time, the in-memory sample winning on equal timestamps.
      auto& pts = merged_.emplace_back();
      pts.reserve(pos->points.size() + e.points.size());
      for (size_t i = 0; i < pos->points.size(); ++i) pts.push_back(pos->points[i]);
      for (size_t i = 0; i < e.points.size(); ++i) {
        const Point& p = e.points[i];
        auto at = std::lower_bound(pts.begin(), pts.end(), p.t,
                                   [](const Point& q, TimestampMs ts) { return q.t < ts; });
        if (at != pts.end() && at->t == p.t) {
          at->v = p.v;
        } else {
          pts.insert(at, p);
        }
      }
      pos->points = PointsView{pts.data(), pts.size(), nullptr, 0};
      pos->newestStale = std::max(pos->newestStale, e.newestStale);
    }
  }

 private:
  std::unique_ptr<SelectSession> a_;
  const Queryable& b_;
  CopyingSession copies_;
  std::deque<std::vector<Point>> merged_;
};

}  // namespace

std::unique_ptr<SelectSession> UnionQueryable::openSession() const {
  return std::make_unique<UnionSession>(a_.openSession(), b_);
}

}  // namespace vigil::promql
