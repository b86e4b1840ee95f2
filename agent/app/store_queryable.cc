#include "agent/app/store_queryable.h"

#include <algorithm>
#include <cstddef>
#include <type_traits>

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

// The evaluator reads the store's samples in place as promql::Point: same layout.
static_assert(sizeof(promql::Point) == sizeof(series::Sample));
static_assert(std::is_standard_layout_v<promql::Point> &&
              std::is_standard_layout_v<series::Sample>);
static_assert(offsetof(promql::Point, t) == offsetof(series::Sample, t) &&
              offsetof(promql::Point, v) == offsetof(series::Sample, v));

const promql::Point* asPoints(std::span<const series::Sample> s) {
  return reinterpret_cast<const promql::Point*>(s.data());
}

// A matcher resolved against the store's symbols once per selection.
struct Resolved {
  const promql::Matcher* m;
  promql::SymbolId name = promql::kNoSymbol;  // kNoSymbol: no series has this label
  promql::SymbolId value = promql::kNoSymbol;  // for = and !=: the value's id, if any
  bool matchesAbsent = false;
  std::unordered_map<promql::SymbolId, bool> regexCache;
};

class StoreSession final : public promql::SelectSession {
 public:
  explicit StoreSession(const series::SeriesStore& store) : lock_(store.readLock()) {}
  std::string_view str(promql::SymbolId id) const override { return lock_.str(id); }
  bool find(std::string_view s, promql::SymbolId* id) const override {
    return lock_.find(s, id);
  }

  void select(const std::vector<promql::Matcher>& matchers, TimestampMs /*minT*/,
              TimestampMs /*maxT*/, promql::SymbolSpace& symbols,
              std::vector<promql::SeriesIds>& out) override {
    std::vector<Resolved> rs;
    rs.reserve(matchers.size());
    promql::SymbolId nameId = promql::kNoSymbol;
    bool byName = false;
    for (const auto& m : matchers) {
      Resolved r{&m};
      r.matchesAbsent = m.matches("");
      if (!lock_.find(m.name(), &r.name)) r.name = promql::kNoSymbol;
      if (m.type() == promql::MatchType::kEqual || m.type() == promql::MatchType::kNotEqual) {
        if (!lock_.find(m.value(), &r.value)) r.value = promql::kNoSymbol;
      }
      if (r.name == promql::kNoSymbol && !r.matchesAbsent) return;  // nothing can match
      if (m.name() == kMetricNameLabel && m.type() == promql::MatchType::kEqual) {
        if (r.value == promql::kNoSymbol) return;
        nameId = r.value;
        byName = true;
        continue;  // every series of the name's index has it
      }
      rs.push_back(std::move(r));
    }
    const size_t start = out.size();
    auto visit = [&](const series::SeriesStore::SeriesView& v) {
      for (auto& r : rs) {
        promql::SymbolId value = promql::kNoSymbol;
        if (r.name != promql::kNoSymbol) {
          for (const auto& [n, val] : v.labelIds) {
            if (n == r.name) {
              value = val;
              break;
            }
          }
        }
        bool ok;
        if (value == promql::kNoSymbol) {
          ok = r.matchesAbsent;
        } else {
          switch (r.m->type()) {
            case promql::MatchType::kEqual: ok = value == r.value; break;
            case promql::MatchType::kNotEqual: ok = value != r.value; break;
            default: {
              auto [it, fresh] = r.regexCache.try_emplace(value, false);
              if (fresh) it->second = r.m->matches(lock_.str(value));
              ok = it->second;
            }
          }
        }
        if (!ok) return;
      }
      // The whole ring: the evaluator finds the window itself (it reads these samples anyway,
      // and touching them here would fetch them from memory twice).
      const promql::Point* a = asPoints(v.head);
      size_t na = v.head.size();
      const promql::Point* b = asPoints(v.tail);
      size_t nb = v.tail.size();
      if (na == 0) {
        std::swap(a, b);
        std::swap(na, nb);
      }
      if (na == 0) return;
      static_assert(sizeof(promql::LabelIds) == sizeof(series::SeriesStore::LabelPair));
      out.push_back(promql::SeriesIds{
          std::span<const promql::LabelIds>(
              reinterpret_cast<const promql::LabelIds*>(v.labelIds.data()), v.labelIds.size()),
          promql::PointsView{a, na, b, nb}, v.newestStale});
    };
    if (byName) {
      lock_.forEachNamedSorted(nameId, visit);
      return;
    }
    lock_.forEachSeries(visit);
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
              [&](const promql::SeriesIds& x, const promql::SeriesIds& y) {
                return promql::compareLabels(x.labels, y.labels, symbols) < 0;
              });
  }

 private:
  series::SeriesStore::ReadLock lock_;
};

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

std::unique_ptr<promql::SelectSession> StoreQueryable::openSession() const {
  return std::make_unique<StoreSession>(store_);
}

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
