#include "agent/rules/promql/engine.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "agent/rules/promql/parser.h"

namespace vigil::promql {
namespace {

/// Thrown inside the evaluator only; converted to an Error by evalInstant.
struct EvalFailure {
  std::string message;
};

[[noreturn]] void fail(std::string msg) { throw EvalFailure{std::move(msg)}; }

// Go's math.Max/Min: NaN wins, and the sign of zero is respected.
double goMax(double x, double y) {
  if (std::isinf(x) && x > 0) return x;
  if (std::isinf(y) && y > 0) return y;
  if (std::isnan(x) || std::isnan(y)) return NAN;
  if (x == 0 && x == y) return std::signbit(x) ? y : x;
  return x > y ? x : y;
}
double goMin(double x, double y) {
  if (std::isinf(x) && x < 0) return x;
  if (std::isinf(y) && y < 0) return y;
  if (std::isnan(x) || std::isnan(y)) return NAN;
  if (x == 0 && x == y) return std::signbit(x) ? x : y;
  return x < y ? x : y;
}

// Neumaier-compensated summation, as Prometheus' kahanSumInc.
void kahanInc(double inc, double& sum, double& c) {
  double t = sum + inc;
  if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}

Labels dropName(Labels l) {
  set(l, kMetricNameLabel, "");
  return l;
}

/// The identity of a series for vector matching: on(labels) keeps only those labels,
/// ignoring(labels) drops them and the metric name.
std::string signature(const Labels& l, bool on, const std::vector<std::string>& names) {
  std::string key;
  for (const auto& lab : l) {
    bool listed = std::find(names.begin(), names.end(), lab.name) != names.end();
    if (on ? !listed : (listed || lab.name == kMetricNameLabel)) continue;
    key += lab.name;
    key += '\xff';
    key += lab.value;
    key += '\xff';
  }
  return key;
}

/// Prometheus' labels.Labels.String(): {__name__="x", a="b"}.
std::string promLabels(const Labels& l) {
  std::string out = "{";
  for (size_t i = 0; i < l.size(); ++i) {
    if (i) out += ", ";
    out += l[i].name + "=\"" + escapeLabelValue(l[i].value) + "\"";
  }
  return out + "}";
}

std::string labelsKey(const Labels& l) { return signature(l, false, {}) + "\xfe" + std::string(get(l, kMetricNameLabel)); }

struct BinResult {
  double v;
  bool keep;
};

BinResult elemBinop(Op op, double l, double r) {
  switch (op) {
    case Op::kAdd: return {l + r, true};
    case Op::kSub: return {l - r, true};
    case Op::kMul: return {l * r, true};
    case Op::kDiv: return {l / r, true};
    case Op::kPow: return {std::pow(l, r), true};
    case Op::kMod: return {std::fmod(l, r), true};
    case Op::kEql: return {l, l == r};
    case Op::kNeq: return {l, l != r};
    case Op::kGtr: return {l, l > r};
    case Op::kLss: return {l, l < r};
    case Op::kGte: return {l, l >= r};
    case Op::kLte: return {l, l <= r};
    default: fail(fmt::format("operator \"{}\" not allowed for scalar operations", toString(op)));
  }
}

bool dropsName(Op op) {
  return op == Op::kAdd || op == Op::kSub || op == Op::kMul || op == Op::kDiv || op == Op::kMod ||
         op == Op::kPow;
}

// Go's container/heap over samples, so that topk/bottomk pick the same elements on ties.
struct SampleHeap {
  std::vector<Sample> h;
  bool reverse = false;
  bool less(size_t i, size_t j) const {
    double a = h[i].v, b = h[j].v;
    if (std::isnan(a) && !std::isnan(b)) return true;
    return reverse ? a > b : a < b;
  }
  void up(size_t j) {
    while (j > 0) {
      size_t i = (j - 1) / 2;
      if (i == j || !less(j, i)) break;
      std::swap(h[i], h[j]);
      j = i;
    }
  }
  void down(size_t i0, size_t n) {
    size_t i = i0;
    for (;;) {
      size_t j1 = 2 * i + 1;
      if (j1 >= n) break;
      size_t j = j1;
      if (size_t j2 = j1 + 1; j2 < n && less(j2, j1)) j = j2;
      if (!less(j, i)) break;
      std::swap(h[i], h[j]);
      i = j;
    }
  }
  void push(Sample s) {
    h.push_back(std::move(s));
    up(h.size() - 1);
  }
  void pop() {
    size_t n = h.size() - 1;
    std::swap(h[0], h[n]);
    down(0, n);
    h.pop_back();
  }
};

double quantileOf(double q, std::vector<double> values) {
  if (values.empty()) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(a) && !std::isnan(b)) return true;
    return a < b;
  });
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

struct Bucket {
  double upper;
  double count;
};

double bucketQuantile(double q, std::vector<Bucket> buckets) {
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  std::sort(buckets.begin(), buckets.end(),
            [](const Bucket& a, const Bucket& b) { return a.upper < b.upper; });
  if (!(std::isinf(buckets.back().upper) && buckets.back().upper > 0)) return NAN;
  // Coalesce buckets with the same bound (e.g. "1" and "1.0").
  std::vector<Bucket> bs;
  for (const auto& b : buckets) {
    if (!bs.empty() && bs.back().upper == b.upper) {
      bs.back().count += b.count;
    } else {
      bs.push_back(b);
    }
  }
  // Scrapes are not atomic, so counts may be non-monotonic; Prometheus evens them out.
  double max = bs[0].count;
  for (size_t i = 1; i < bs.size(); ++i) {
    if (bs[i].count > max) {
      max = bs[i].count;
    } else if (bs[i].count < max) {
      bs[i].count = max;
    }
  }
  if (bs.size() < 2) return NAN;
  double observations = bs.back().count;
  if (observations == 0) return NAN;
  double rank = q * observations;
  size_t b = 0;
  {
    // sort.Search over the first n-1 buckets.
    size_t lo = 0, hi = bs.size() - 1;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (!(bs[mid].count >= rank)) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    b = lo;
  }
  if (b == bs.size() - 1) return bs[bs.size() - 2].upper;
  if (b == 0 && bs[0].upper <= 0) return bs[0].upper;
  double start = 0;
  double end = bs[b].upper;
  double count = bs[b].count;
  if (b > 0) {
    start = bs[b - 1].upper;
    count -= bs[b - 1].count;
    rank -= bs[b - 1].count;
  }
  return start + (end - start) * (rank / count);
}

struct Regression {
  double slope;
  double intercept;
};

Regression linearRegression(const std::vector<Point>& pts, TimestampMs interceptTime) {
  double n = 0, sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
  double initY = pts[0].v;
  bool constY = true;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (constY && i > 0 && pts[i].v != initY) constY = false;
    n += 1.0;
    double x = static_cast<double>(pts[i].t - interceptTime) / 1e3;
    kahanInc(x, sumX, cX);
    kahanInc(pts[i].v, sumY, cY);
    kahanInc(x * pts[i].v, sumXY, cXY);
    kahanInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (std::isinf(initY)) return {NAN, NAN};
    return {0, initY};
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  double covXY = sumXY - sumX * sumY / n;
  double varX = sumX2 - sumX * sumX / n;
  double slope = covXY / varX;
  return {slope, sumY / n - slope * sumX / n};
}

class Evaluator {
 public:
  Evaluator(TimestampMs ts, const Queryable& q, const EvalOptions& o) : ts_(ts), q_(q), o_(o) {}

  Value eval(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kNumber: return Scalar{ts_, e.number};
      case ExprKind::kString: return String{ts_, e.str};
      case ExprKind::kParen: return eval(*e.args[0]);
      case ExprKind::kVectorSelector: return selectVector(e, false);
      case ExprKind::kMatrixSelector: return selectMatrix(e);
      case ExprKind::kUnary: {
        Value v = eval(*e.args[0]);
        if (e.op != Op::kSub) return v;
        if (auto* s = std::get_if<Scalar>(&v)) {
          s->v = -s->v;
          return v;
        }
        auto& vec = std::get<Vector>(v);
        for (auto& s : vec) {
          s.labels = dropName(std::move(s.labels));
          s.v = -s.v;
        }
        return v;
      }
      case ExprKind::kBinary: return binary(e);
      case ExprKind::kCall: return call(e);
      case ExprKind::kAggregate: return aggregate(e);
    }
    fail("unknown expression");
  }

 private:
  double scalarArg(const Expr& e) {
    Value v = eval(e);
    return std::get<Scalar>(v).v;
  }
  Vector vectorArg(const Expr& e) { return std::get<Vector>(eval(e)); }

  std::vector<Series> selectSorted(const Expr& sel, TimestampMs minT, TimestampMs maxT) {
    auto series = q_.select(sel.matchers, minT, maxT);
    std::sort(series.begin(), series.end(),
              [](const Series& a, const Series& b) { return a.labels < b.labels; });
    return series;
  }

  Vector selectVector(const Expr& sel, bool keepTimestamps) {
    TimestampMs ref = ts_ - sel.offsetMs;
    TimestampMs minT = ref - o_.lookbackMs;
    Vector out;
    for (auto& s : selectSorted(sel, minT, ref)) {
      // The newest sample at or before ref, if within the lookback window (both ends count,
      // as in 2.42).
      const Point* last = nullptr;
      for (const auto& p : s.points) {
        if (p.t <= ref && p.t >= minT) last = &p;
      }
      if (!last || isStaleNaN(last->v)) continue;
      out.push_back(Sample{std::move(s.labels), keepTimestamps ? last->t : ts_, last->v});
    }
    return out;
  }

  Matrix selectMatrix(const Expr& m) {
    const Expr& sel = *m.args[0];
    TimestampMs end = ts_ - sel.offsetMs;
    TimestampMs start = end - m.rangeMs;
    Matrix out;
    for (auto& s : selectSorted(sel, start, end)) {
      Series r{std::move(s.labels), {}};
      for (const auto& p : s.points) {
        if (p.t >= start && p.t <= end && !isStaleNaN(p.v)) r.points.push_back(p);
      }
      if (!r.points.empty()) out.push_back(std::move(r));
    }
    return out;
  }

  static void checkUnique(const Vector& v) {
    std::unordered_set<std::string> seen;
    for (const auto& s : v) {
      if (!seen.insert(labelsKey(s.labels)).second) {
        fail("vector cannot contain metrics with the same labelset");
      }
    }
  }

  Value binary(const Expr& e) {
    Value lv = eval(*e.args[0]);
    Value rv = eval(*e.args[1]);
    auto* ls = std::get_if<Scalar>(&lv);
    auto* rs = std::get_if<Scalar>(&rv);
    if (ls && rs) {
      auto r = elemBinop(e.op, ls->v, rs->v);
      if (isComparison(e.op)) r.v = r.keep ? 1 : 0;
      return Scalar{ts_, r.v};
    }
    Vector out;
    if (ls || rs) {
      bool swap = ls != nullptr;
      double scalar = swap ? ls->v : rs->v;
      Vector& vec = std::get<Vector>(swap ? rv : lv);
      for (auto& s : vec) {
        double l = s.v, r = scalar;
        if (swap) std::swap(l, r);
        auto res = elemBinop(e.op, l, r);
        // A comparison keeps the vector element's value, even when the vector is on the right.
        if (isComparison(e.op) && swap) res.v = r;
        if (e.returnBool) {
          res.v = res.keep ? 1 : 0;
          res.keep = true;
        }
        if (!res.keep) continue;
        Labels labels = std::move(s.labels);
        if (dropsName(e.op) || e.returnBool) labels = dropName(std::move(labels));
        out.push_back(Sample{std::move(labels), ts_, res.v});
      }
      checkUnique(out);
      return out;
    }
    Vector& lhs = std::get<Vector>(lv);
    Vector& rhs = std::get<Vector>(rv);
    const auto& m = e.matching;
    switch (e.op) {
      case Op::kAnd: {
        std::unordered_set<std::string> right;
        for (const auto& s : rhs) right.insert(signature(s.labels, m.on, m.labels));
        for (auto& s : lhs) {
          if (right.count(signature(s.labels, m.on, m.labels))) out.push_back(std::move(s));
        }
        return out;
      }
      case Op::kOr: {
        std::unordered_set<std::string> left;
        for (auto& s : lhs) {
          left.insert(signature(s.labels, m.on, m.labels));
          out.push_back(std::move(s));
        }
        for (auto& s : rhs) {
          if (!left.count(signature(s.labels, m.on, m.labels))) out.push_back(std::move(s));
        }
        return out;
      }
      case Op::kUnless: {
        std::unordered_set<std::string> right;
        for (const auto& s : rhs) right.insert(signature(s.labels, m.on, m.labels));
        for (auto& s : lhs) {
          if (!right.count(signature(s.labels, m.on, m.labels))) out.push_back(std::move(s));
        }
        return out;
      }
      default: break;
    }
    out = vectorBinop(e, lhs, rhs);
    checkUnique(out);
    return out;
  }

  Vector vectorBinop(const Expr& e, Vector& lhsIn, Vector& rhsIn) {
    const auto& m = e.matching;
    Vector out;
    if (lhsIn.empty() || rhsIn.empty()) return out;
    Vector* lhs = &lhsIn;
    Vector* rhs = &rhsIn;
    // The "one" side is always rhs below.
    if (m.card == Cardinality::kOneToMany) std::swap(lhs, rhs);
    std::unordered_map<std::string, const Sample*> right;
    for (const auto& s : *rhs) {
      std::string sig = signature(s.labels, m.on, m.labels);
      auto [it, inserted] = right.emplace(sig, &s);
      if (!inserted) {
        std::string side = m.card == Cardinality::kOneToMany ? "left" : "right";
        fail(fmt::format(
            "found duplicate series for the match group {} on the {} hand-side of the "
            "operation: [{}, {}];many-to-many matching not allowed: matching labels must be "
            "unique on one side",
            promLabels(oneSideLabels(s.labels, m)), side, promLabels(s.labels),
            promLabels(it->second->labels)));
      }
    }
    std::unordered_set<std::string> matched;   // one-to-one: signatures already used
    std::unordered_set<std::string> inserted;  // many-to-one: result label sets
    for (const auto& ls : *lhs) {
      std::string sig = signature(ls.labels, m.on, m.labels);
      auto it = right.find(sig);
      if (it == right.end()) continue;
      const Sample& rs = *it->second;
      double vl = ls.v, vr = rs.v;
      if (m.card == Cardinality::kOneToMany) std::swap(vl, vr);
      auto res = elemBinop(e.op, vl, vr);
      if (e.returnBool) {
        res.v = res.keep ? 1 : 0;
      } else if (!res.keep) {
        continue;
      }
      Labels metric = resultMetric(ls.labels, rs.labels, e.op, m);
      if (e.returnBool) metric = dropName(std::move(metric));
      if (m.card == Cardinality::kOneToOne) {
        if (!matched.insert(sig).second) {
          fail("multiple matches for labels: many-to-one matching must be explicit "
               "(group_left/group_right)");
        }
      } else if (!inserted.insert(labelsKey(metric)).second) {
        fail("multiple matches for labels: grouping labels must ensure unique matches");
      }
      out.push_back(Sample{std::move(metric), ts_, res.v});
    }
    return out;
  }

  static Labels oneSideLabels(const Labels& l, const VectorMatching& m) {
    Labels out;
    for (const auto& lab : l) {
      bool listed = std::find(m.labels.begin(), m.labels.end(), lab.name) != m.labels.end();
      if (m.on ? listed : (!listed && lab.name != kMetricNameLabel)) out.push_back(lab);
    }
    return out;
  }

  static Labels resultMetric(const Labels& lhs, const Labels& rhs, Op op,
                             const VectorMatching& m) {
    Labels out = lhs;
    if (dropsName(op)) set(out, kMetricNameLabel, "");
    if (m.card == Cardinality::kOneToOne) {
      if (m.on) {
        std::erase_if(out, [&](const Label& l) {
          return std::find(m.labels.begin(), m.labels.end(), l.name) == m.labels.end();
        });
      } else {
        std::erase_if(out, [&](const Label& l) {
          return std::find(m.labels.begin(), m.labels.end(), l.name) != m.labels.end();
        });
      }
    }
    // group_x(extra) labels are copied from the "one" side (or removed when absent there).
    for (const auto& name : m.include) set(out, name, get(rhs, name));
    return out;
  }

  Value aggregate(const Expr& e) {
    double param = 0;
    if (e.args.size() == 2) param = scalarArg(*e.args[0]);
    Vector vec = vectorArg(*e.args.back());
    int64_t k = 0;
    if (e.op == Op::kTopk || e.op == Op::kBottomk) {
      if (std::isnan(param) || param > 9.2e18 || param < -9.2e18) {
        fail(fmt::format("Scalar value {} overflows int64", formatFloat(param)));
      }
      k = static_cast<int64_t>(param);
      if (k < 1) return Vector{};
    }
    struct Group {
      Labels labels;
      double value = 0;
      double mean = 0;
      double groupCount = 0;
      SampleHeap heap;
      std::vector<double> values;
    };
    std::unordered_map<std::string, size_t> index;
    std::vector<Group> groups;
    for (auto& s : vec) {
      Labels gl;
      if (e.without) {
        for (const auto& l : s.labels) {
          if (l.name == kMetricNameLabel) continue;
          if (std::find(e.grouping.begin(), e.grouping.end(), l.name) != e.grouping.end()) continue;
          gl.push_back(l);
        }
      } else {
        for (const auto& l : s.labels) {
          if (std::find(e.grouping.begin(), e.grouping.end(), l.name) != e.grouping.end()) {
            gl.push_back(l);
          }
        }
      }
      std::string key = labelsKey(gl);
      auto it = index.find(key);
      if (it == index.end()) {
        index.emplace(key, groups.size());
        Group g;
        g.labels = std::move(gl);
        g.value = s.v;
        g.mean = s.v;
        g.groupCount = 1;
        switch (e.op) {
          case Op::kStddev:
          case Op::kStdvar: g.value = 0; break;
          case Op::kTopk: g.heap.h.push_back(s); break;
          case Op::kBottomk:
            g.heap.reverse = true;
            g.heap.h.push_back(s);
            break;
          case Op::kQuantile: g.values.push_back(s.v); break;
          case Op::kGroup: g.value = 1; break;
          default: break;
        }
        groups.push_back(std::move(g));
        continue;
      }
      Group& g = groups[it->second];
      switch (e.op) {
        case Op::kSum: g.value += s.v; break;
        case Op::kAvg:
          g.groupCount++;
          if (std::isinf(g.mean)) {
            if (std::isinf(s.v) && (g.mean > 0) == (s.v > 0)) break;
            if (!std::isinf(s.v) && !std::isnan(s.v)) break;
          }
          g.mean += s.v / g.groupCount - g.mean / g.groupCount;
          break;
        case Op::kGroup: break;
        case Op::kMax:
          if (g.value < s.v || std::isnan(g.value)) g.value = s.v;
          break;
        case Op::kMin:
          if (g.value > s.v || std::isnan(g.value)) g.value = s.v;
          break;
        case Op::kCount: g.groupCount++; break;
        case Op::kStddev:
        case Op::kStdvar: {
          g.groupCount++;
          double delta = s.v - g.mean;
          g.mean += delta / g.groupCount;
          g.value += delta * (s.v - g.mean);
          break;
        }
        case Op::kTopk:
        case Op::kBottomk: {
          auto& h = g.heap;
          bool better = e.op == Op::kTopk ? h.h[0].v < s.v : h.h[0].v > s.v;
          if (static_cast<int64_t>(h.h.size()) < k || better || std::isnan(h.h[0].v)) {
            if (static_cast<int64_t>(h.h.size()) == k) {
              if (k == 1) {
                h.h[0] = s;
                break;
              }
              h.pop();
            }
            h.push(s);
          }
          break;
        }
        case Op::kQuantile: g.values.push_back(s.v); break;
        default: break;
      }
    }
    Vector out;
    for (auto& g : groups) {
      switch (e.op) {
        case Op::kAvg: g.value = g.mean; break;
        case Op::kCount: g.value = g.groupCount; break;
        case Op::kStdvar: g.value = g.value / g.groupCount; break;
        case Op::kStddev: g.value = std::sqrt(g.value / g.groupCount); break;
        case Op::kTopk:
        case Op::kBottomk: {
          // The heap has the weakest element on top: emit strongest first.
          auto& h = g.heap;
          std::vector<Sample> sorted = h.h;
          SampleHeap cmp{sorted, h.reverse};
          std::vector<size_t> idx(sorted.size());
          for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
          std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return cmp.less(b, a); });
          for (size_t i : idx) out.push_back(Sample{sorted[i].labels, ts_, sorted[i].v});
          continue;
        }
        case Op::kQuantile: g.value = quantileOf(param, g.values); break;
        default: break;
      }
      out.push_back(Sample{std::move(g.labels), ts_, g.value});
    }
    return out;
  }

  Value call(const Expr& e) {
    const std::string& f = e.str;
    if (f == "time") return Scalar{ts_, static_cast<double>(ts_) / 1000.0};
    if (f == "vector") return Vector{Sample{{}, ts_, scalarArg(*e.args[0])}};
    if (f == "scalar") {
      Vector v = vectorArg(*e.args[0]);
      return Scalar{ts_, v.size() == 1 ? v[0].v : NAN};
    }
    if (f == "timestamp") {
      const Expr* arg = e.args[0].get();
      while (arg->kind == ExprKind::kParen) arg = arg->args[0].get();
      Vector v = arg->kind == ExprKind::kVectorSelector ? selectVector(*arg, true)
                                                        : vectorArg(*arg);
      Vector out;
      for (auto& s : v) {
        out.push_back(Sample{dropName(std::move(s.labels)), ts_, static_cast<double>(s.t) / 1000.0});
      }
      checkUnique(out);
      return out;
    }
    if (f == "absent" || f == "absent_over_time") {
      Value v = eval(*e.args[0]);
      bool empty = f == "absent" ? std::get<Vector>(v).empty() : std::get<Matrix>(v).empty();
      if (!empty) return Vector{};
      return Vector{Sample{absentLabels(*e.args[0]), ts_, 1}};
    }
    if (f == "histogram_quantile") {
      double q = scalarArg(*e.args[0]);
      Vector in = vectorArg(*e.args[1]);
      std::unordered_map<std::string, size_t> index;
      std::vector<std::pair<Labels, std::vector<Bucket>>> groups;
      for (auto& s : in) {
        auto ub = parseGoFloat(get(s.labels, "le"));
        if (!ub) continue;
        Labels l = s.labels;
        set(l, "le", "");
        set(l, kMetricNameLabel, "");
        std::string key = labelsKey(l);
        auto it = index.find(key);
        if (it == index.end()) {
          it = index.emplace(key, groups.size()).first;
          groups.push_back({std::move(l), {}});
        }
        groups[it->second].second.push_back(Bucket{*ub, s.v});
      }
      Vector out;
      for (auto& [l, bs] : groups) out.push_back(Sample{l, ts_, bucketQuantile(q, bs)});
      return out;
    }
    const FunctionSig* sig = findFunction(f);
    if (!sig) fail("unknown function " + f);
    // Range-vector functions: one output element per input series with enough samples.
    int matrixArg = -1;
    for (size_t i = 0; i < sig->args.size(); ++i) {
      if (sig->args[i] == ValueType::kMatrix) matrixArg = static_cast<int>(i);
    }
    if (matrixArg >= 0) {
      double param = 0;
      if (e.args.size() == 2) param = scalarArg(*e.args[matrixArg == 0 ? 1 : 0]);
      const Expr& ms = *e.args[matrixArg];
      Matrix mat = std::get<Matrix>(eval(ms));
      Vector out;
      for (auto& s : mat) {
        auto v = rangeFunction(f, s.points, param, ms);
        if (!v) continue;
        Labels l = f == "last_over_time" ? std::move(s.labels) : dropName(std::move(s.labels));
        out.push_back(Sample{std::move(l), ts_, *v});
      }
      checkUnique(out);
      return out;
    }
    // Instant-vector math functions.
    Vector v = vectorArg(*e.args[0]);
    double a1 = 0, a2 = 0;
    if (e.args.size() > 1) a1 = scalarArg(*e.args[1]);
    if (e.args.size() > 2) a2 = scalarArg(*e.args[2]);
    if (f == "clamp" && a2 < a1) return Vector{};
    Vector out;
    for (auto& s : v) {
      double x = s.v;
      double r = x;
      if (f == "abs") r = std::fabs(x);
      else if (f == "ceil") r = std::ceil(x);
      else if (f == "floor") r = std::floor(x);
      else if (f == "exp") r = std::exp(x);
      else if (f == "ln") r = std::log(x);
      else if (f == "log2") r = std::log2(x);
      else if (f == "log10") r = std::log10(x);
      else if (f == "sqrt") r = std::sqrt(x);
      else if (f == "sgn") r = x > 0 ? 1 : (x < 0 ? -1 : x);
      else if (f == "clamp") r = goMax(a1, goMin(a2, x));
      else if (f == "clamp_min") r = goMax(x, a1);
      else if (f == "clamp_max") r = goMin(x, a1);
      else if (f == "round") {
        double toNearest = e.args.size() > 1 ? a1 : 1;
        double inv = 1.0 / toNearest;
        r = std::floor(x * inv + 0.5) / inv;
      } else {
        fail("unsupported function " + f);
      }
      out.push_back(Sample{dropName(std::move(s.labels)), ts_, r});
    }
    checkUnique(out);
    return out;
  }

  std::optional<double> rangeFunction(const std::string& f, const std::vector<Point>& pts,
                                      double param, const Expr& ms) {
    size_t n = pts.size();
    if (f == "rate" || f == "increase" || f == "delta") {
      return extrapolatedRate(pts, ms, f != "delta", f == "rate");
    }
    if (f == "irate" || f == "idelta") {
      if (n < 2) return std::nullopt;
      const Point& last = pts[n - 1];
      const Point& prev = pts[n - 2];
      bool isRate = f == "irate";
      double r = (isRate && last.v < prev.v) ? last.v : last.v - prev.v;
      int64_t interval = last.t - prev.t;
      if (interval == 0) return std::nullopt;
      if (isRate) r /= static_cast<double>(interval) / 1000.0;
      return r;
    }
    if (f == "deriv") {
      if (n < 2) return std::nullopt;
      return linearRegression(pts, pts[0].t).slope;
    }
    if (f == "predict_linear") {
      if (n < 2) return std::nullopt;
      auto r = linearRegression(pts, ts_);
      return r.slope * param + r.intercept;
    }
    if (f == "changes" || f == "resets") {
      double count = 0;
      double prev = pts[0].v;
      for (size_t i = 1; i < n; ++i) {
        double cur = pts[i].v;
        if (f == "changes") {
          if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) count++;
        } else if (cur < prev) {
          count++;
        }
        prev = cur;
      }
      return count;
    }
    if (f == "avg_over_time") {
      double mean = 0, count = 0, c = 0;
      for (const auto& p : pts) {
        count++;
        if (std::isinf(mean)) {
          if (std::isinf(p.v) && (mean > 0) == (p.v > 0)) continue;
          if (!std::isinf(p.v) && !std::isnan(p.v)) continue;
        }
        kahanInc(p.v / count - mean / count, mean, c);
      }
      if (std::isinf(mean)) return mean;
      return mean + c;
    }
    if (f == "sum_over_time") {
      double sum = 0, c = 0;
      for (const auto& p : pts) kahanInc(p.v, sum, c);
      if (std::isinf(sum)) return sum;
      return sum + c;
    }
    if (f == "min_over_time" || f == "max_over_time") {
      double r = pts[0].v;
      for (const auto& p : pts) {
        if (f == "max_over_time" ? (p.v > r || std::isnan(r)) : (p.v < r || std::isnan(r))) {
          r = p.v;
        }
      }
      return r;
    }
    if (f == "count_over_time") return static_cast<double>(n);
    if (f == "present_over_time") return 1.0;
    if (f == "last_over_time") return pts[n - 1].v;
    if (f == "quantile_over_time") {
      std::vector<double> vals;
      for (const auto& p : pts) vals.push_back(p.v);
      return quantileOf(param, vals);
    }
    if (f == "stddev_over_time" || f == "stdvar_over_time") {
      double count = 0, mean = 0, cMean = 0, aux = 0, cAux = 0;
      for (const auto& p : pts) {
        count++;
        double delta = p.v - (mean + cMean);
        kahanInc(delta / count, mean, cMean);
        kahanInc(delta * (p.v - (mean + cMean)), aux, cAux);
      }
      double var = (aux + cAux) / count;
      return f == "stddev_over_time" ? std::sqrt(var) : var;
    }
    fail("unsupported function " + f);
  }

  std::optional<double> extrapolatedRate(const std::vector<Point>& pts, const Expr& ms,
                                         bool isCounter, bool isRate) {
    const Expr& sel = *ms.args[0];
    TimestampMs rangeStart = ts_ - (ms.rangeMs + sel.offsetMs);
    TimestampMs rangeEnd = ts_ - sel.offsetMs;
    size_t n = pts.size();
    if (n < 2) return std::nullopt;
    double result = pts[n - 1].v - pts[0].v;
    if (isCounter) {
      double last = 0;
      for (const auto& p : pts) {
        if (p.v < last) result += last;
        last = p.v;
      }
    }
    double durationToStart = static_cast<double>(pts[0].t - rangeStart) / 1000;
    double durationToEnd = static_cast<double>(rangeEnd - pts[n - 1].t) / 1000;
    double sampledInterval = static_cast<double>(pts[n - 1].t - pts[0].t) / 1000;
    double avgBetween = sampledInterval / static_cast<double>(n - 1);
    if (isCounter && result > 0 && pts[0].v >= 0) {
      // A counter cannot go below zero: don't extrapolate past the point where it would be 0.
      double durationToZero = sampledInterval * (pts[0].v / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    // Extrapolate to the window edges only when the series plausibly continues there
    // (within 1.1 average intervals); otherwise by half an interval.
    double threshold = avgBetween * 1.1;
    double extrapolateTo = sampledInterval;
    extrapolateTo += durationToStart < threshold ? durationToStart : avgBetween / 2;
    extrapolateTo += durationToEnd < threshold ? durationToEnd : avgBetween / 2;
    double factor = extrapolateTo / sampledInterval;
    if (isRate) factor /= static_cast<double>(ms.rangeMs) / 1000.0;
    return result * factor;
  }

  static Labels absentLabels(const Expr& arg) {
    const Expr* sel = nullptr;
    if (arg.kind == ExprKind::kVectorSelector) sel = &arg;
    if (arg.kind == ExprKind::kMatrixSelector) sel = arg.args[0].get();
    Labels out;
    if (!sel) return out;
    std::vector<std::string> drop;
    for (const auto& m : sel->matchers) {
      if (m.name() == kMetricNameLabel) continue;
      if (m.type() == MatchType::kEqual && get(out, m.name()).empty()) {
        set(out, m.name(), m.value());
      } else {
        drop.push_back(m.name());
      }
    }
    for (const auto& d : drop) set(out, d, "");
    return out;
  }

  TimestampMs ts_;
  const Queryable& q_;
  const EvalOptions& o_;
};

}  // namespace

Result<Value> evalInstant(const Expr& expr, TimestampMs ts, const Queryable& storage,
                          const EvalOptions& options) {
  try {
    Evaluator ev(ts, storage, options);
    return ev.eval(expr);
  } catch (const EvalFailure& f) {
    return Error{f.message, "", 0, 0};
  } catch (const std::exception& ex) {
    // e.g. bad_alloc or a bad_variant_access from a type the parser should have rejected.
    return Error{std::string("internal evaluation error: ") + ex.what(), "", 0, 0};
  }
}

Result<Value> evalInstant(std::string_view expr, TimestampMs ts, const Queryable& storage,
                          const EvalOptions& options) {
  auto parsed = parseExpr(expr);
  if (!parsed) return parsed.error();
  return evalInstant(**parsed, ts, storage, options);
}

std::string formatFloatG(double v, int prec) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", prec, v);
  return buf;
}

std::string formatFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  // Shortest round-trip digits, then Go's %v layout: exponent form when exp < -4 || exp >= 6.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits += c;
  }
  std::string out;
  if (exp < -4 || exp >= 6) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += exp < 0 ? "e-" : "e+";
    int ae = std::abs(exp);
    if (ae < 10) out += "0";
    out += std::to_string(ae);
  } else if (exp < 0) {
    out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
    out = digits + std::string(static_cast<size_t>(exp) + 1 - digits.size(), '0');
  } else {
    out = digits.substr(0, static_cast<size_t>(exp) + 1) + "." +
          digits.substr(static_cast<size_t>(exp) + 1);
  }
  return neg ? "-" + out : out;
}

std::optional<double> parseGoFloat(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string str(s);
  std::string l;
  for (char c : str) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view body = l;
  bool neg = false;
  if (body[0] == '+' || body[0] == '-') {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == "inf" || body == "infinity") return neg ? -INFINITY : INFINITY;
  if (body == "nan") return NAN;
  for (char c : body) {
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == '+' ||
          c == '-' || c == 'x' || c == 'p')) {
      return std::nullopt;
    }
  }
  char* end = nullptr;
  double v = std::strtod(str.c_str(), &end);
  if (end != str.c_str() + str.size()) return std::nullopt;
  return v;
}

}  // namespace vigil::promql
