#include "agent/rules/promql/engine.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <span>
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

// Inside an evaluation, label sets are spans of interned ids: the storage's own label arrays
// where a series is passed through unchanged, the evaluation's arena where labels change.
// Strings are made only for the final result.
using LSpan = std::span<const LabelIds>;

struct ISample {
  LSpan labels;
  TimestampMs t = 0;
  double v = 0;
};
using IVector = std::vector<ISample>;
struct ISeries {
  LSpan labels;
  PointsView points;
};
using IMatrix = std::vector<ISeries>;
using IValue = std::variant<Scalar, IVector, IMatrix, String>;

uint64_t hashLabels(LSpan l) {
  uint64_t h = 0xcbf29ce484222325ull ^ l.size();
  for (const auto& x : l) {
    h ^= (static_cast<uint64_t>(x.name) << 32) | x.value;
    h *= 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
  }
  return h;
}

/// Label sets (or the parts of them that identify a match group) mapped to an index: an
/// open-addressing table of hashes, the keys' ids kept flat. Ids are unique per string, so
/// equal id sequences are equal label sets.
class KeyIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  explicit KeyIndex(size_t expected = 0) {
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    slots_.assign(cap, kNone);
    entries_.reserve(expected);
  }
  uint32_t find(LSpan key) const {
    const uint64_t h = hashLabels(key);
    for (size_t i = h & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
      const uint32_t e = slots_[i];
      if (e == kNone) return kNone;
      if (entries_[e].hash == h && same(e, key)) return entries_[e].value;
    }
  }
  /// Maps key to value unless it is present; returns the key's value and whether it was new.
  std::pair<uint32_t, bool> insert(LSpan key, uint32_t value) {
    const uint64_t h = hashLabels(key);
    size_t i = h & (slots_.size() - 1);
    for (;; i = (i + 1) & (slots_.size() - 1)) {
      const uint32_t e = slots_[i];
      if (e == kNone) break;
      if (entries_[e].hash == h && same(e, key)) return {entries_[e].value, false};
    }
    slots_[i] = static_cast<uint32_t>(entries_.size());
    entries_.push_back(Entry{h, static_cast<uint32_t>(keys_.size()),
                             static_cast<uint32_t>(key.size()), value});
    keys_.insert(keys_.end(), key.begin(), key.end());
    if (entries_.size() * 2 > slots_.size()) grow();
    return {value, true};
  }

 private:
  struct Entry {
    uint64_t hash;
    uint32_t off, len, value;
  };
  bool same(uint32_t e, LSpan key) const {
    const Entry& en = entries_[e];
    return en.len == key.size() &&
           std::equal(key.begin(), key.end(), keys_.begin() + static_cast<std::ptrdiff_t>(en.off));
  }
  void grow() {
    slots_.assign(slots_.size() * 2, kNone);
    const size_t mask = slots_.size() - 1;
    for (uint32_t e = 0; e < entries_.size(); ++e) {
      size_t i = entries_[e].hash & mask;
      while (slots_[i] != kNone) i = (i + 1) & mask;
      slots_[i] = e;
    }
  }
  std::vector<uint32_t> slots_;
  std::vector<Entry> entries_;
  std::vector<LabelIds> keys_;
};

/// The part of `v` from index lo to hi (exclusive).
PointsView subView(const PointsView& v, size_t lo, size_t hi) {
  PointsView r;
  if (lo < v.na) {
    r.a = v.a + lo;
    r.na = std::min(hi, v.na) - lo;
  }
  const size_t blo = lo > v.na ? lo - v.na : 0;
  const size_t bhi = hi > v.na ? hi - v.na : 0;
  if (bhi > blo) {
    if (r.na == 0) {
      r.a = v.b + blo;
      r.na = bhi - blo;
    } else {
      r.b = v.b + blo;
      r.nb = bhi - blo;
    }
  }
  return r;
}

/// The first index of [p, p+n) whose timestamp is >= t (`after`: > t). Branch-free: where a
/// window starts inside a series is unpredictable, and this runs twice per series.
size_t partitionRun(const Point* p, size_t n, TimestampMs t, bool after) {
  if (n == 0) return 0;
  const TimestampMs bound = after ? t : t - 1;  // before the boundary: p.t <= bound
  const Point* base = p;
  while (n > 1) {
    const size_t half = n / 2;
    base = base[half - 1].t <= bound ? base + half : base;
    n -= half;
  }
  return static_cast<size_t>(base - p) + (base->t <= bound ? 1 : 0);
}

/// The first index whose timestamp is >= t (`after`: > t).
size_t partition(const PointsView& v, TimestampMs t, bool after) {
  const TimestampMs bound = after ? t : t - 1;
  const size_t n = v.size();
  if (n == 0) return 0;
  const TimestampMs newest = v.back().t;
  if (newest <= bound) return n;  // the window ends at or after the newest sample
  const TimestampMs oldest = v[0].t;
  if (oldest > bound) return 0;
  // Probes run on a schedule, so samples are nearly evenly spaced: guess the index from the
  // timestamps and step to the boundary. A window's first sample is usually a cache miss; this
  // touches one or two lines where a binary search touches eight.
  const double frac = static_cast<double>(bound - oldest) / static_cast<double>(newest - oldest);
  size_t i = std::min(n - 1, static_cast<size_t>(frac * static_cast<double>(n - 1)));
  constexpr int kSteps = 4;
  if (v[i].t <= bound) {
    for (int k = 0; k < kSteps; ++k) {
      if (v[i + 1].t > bound) return i + 1;  // i + 1 < n: v[n - 1].t > bound
      ++i;
    }
  } else {
    for (int k = 0; k < kSteps; ++k) {
      if (v[i - 1].t <= bound) return i;  // i > 0: v[0].t <= bound
      --i;
    }
  }
  if (v.nb > 0 && v.b[0].t <= bound) return v.na + partitionRun(v.b, v.nb, t, after);
  return partitionRun(v.a, v.na, t, after);
}

// Series sit in separate heap blocks: evaluation loops fetch a few series ahead so that the
// misses overlap instead of stalling one after another.
void prefetchPoints(const PointsView& v) {
  constexpr size_t kNewest = 40;  // the newest samples are the ones windows read
  constexpr size_t kPerLine = 64 / sizeof(Point);
  const size_t fromB = std::min(v.nb, kNewest);
  for (size_t i = 0; i < fromB; i += kPerLine) __builtin_prefetch(v.b + v.nb - 1 - i);
  const size_t fromA = std::min(v.na, kNewest - fromB);
  for (size_t i = 0; i < fromA; i += kPerLine) __builtin_prefetch(v.a + v.na - 1 - i);
}

constexpr size_t kAhead = 8;  // series

template <typename S>
void prefetchLabels(const std::vector<S>& v, size_t i) {
  if (i < v.size()) __builtin_prefetch(v[i].labels.data());
}

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
  std::vector<ISample> h;
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
  void push(ISample s) {
    h.push_back(s);
    up(h.size() - 1);
  }
  void pop() {
    size_t n = h.size() - 1;
    std::swap(h[0], h[n]);
    down(0, n);
    h.pop_back();
  }
};

/// Prometheus' quantile over `values` (reordered in place): sort order puts NaN first, as Go's
/// sort.Float64Slice does. Only the two ranks the interpolation reads are put in place
/// (nth_element, then the least of the rest): the same two values a full sort would give.
double quantileInPlace(double q, std::span<double> values) {
  if (values.empty()) return NAN;
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  auto less = [](double a, double b) {
    if (std::isnan(a) && !std::isnan(b)) return true;
    return a < b;
  };
  double n = static_cast<double>(values.size());
  double rank = q * (n - 1);
  double lower = std::max(0.0, std::floor(rank));
  double upper = std::min(n - 1, lower + 1);
  double weight = rank - std::floor(rank);
  const size_t lo = static_cast<size_t>(lower), hi = static_cast<size_t>(upper);
  std::nth_element(values.begin(), values.begin() + lo, values.end(), less);
  const double vlo = values[lo];
  const double vhi = hi == lo ? vlo : *std::min_element(values.begin() + lo + 1, values.end(), less);
  return vlo * (1 - weight) + vhi * weight;
}

double quantileOf(double q, std::vector<double> values) { return quantileInPlace(q, values); }

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

// The four sums of a least-squares fit (x, y, xy, x²), each compensated (Neumaier) exactly as
// Prometheus' kahanSumInc adds: the same operations in the same order on each sum, so results
// are bit-identical to Prometheus'. The four sums are independent, so they run as the four
// lanes of one vector (two SSE2 registers on x86-64, NEON on arm64), and kahanSumInc's branch
// is a lane-wise select: which operand is larger flips unpredictably along a series. This
// halves deriv() and predict_linear() over the default pack's 30-minute windows.
struct RegressionSums {
  using V2 = double __attribute__((vector_size(16)));
  using M2 = int64_t __attribute__((vector_size(16)));
  V2 sumA = {0, 0}, cA = {0, 0};  // x, y
  V2 sumB = {0, 0}, cB = {0, 0};  // xy, x²
  double n = 0;
  bool varied = false;  // a value differs from the first one (NaN differs from everything)

  void run(const Point* p, size_t count, TimestampMs interceptTime, double initY) {
    constexpr int64_t kNoSign = 0x7fffffffffffffff;
    const M2 noSign = {kNoSign, kNoSign};
    V2 sa = sumA, ca = cA, sb = sumB, cb = cB;
    bool diff = varied;
    for (size_t i = 0; i < count; ++i) {
      const double y = p[i].v;
      diff |= y != initY;
      const double x = static_cast<double>(p[i].t - interceptTime) / 1e3;
      const V2 incA = {x, y};
      const V2 incB = {x * y, x * x};
      const V2 ta = sa + incA;
      const V2 tb = sb + incB;
      const M2 la = reinterpret_cast<V2>(reinterpret_cast<M2>(sa) & noSign) >=
                    reinterpret_cast<V2>(reinterpret_cast<M2>(incA) & noSign);
      const M2 lb = reinterpret_cast<V2>(reinterpret_cast<M2>(sb) & noSign) >=
                    reinterpret_cast<V2>(reinterpret_cast<M2>(incB) & noSign);
      ca += ((la ? sa : incA) - ta) + (la ? incA : sa);
      cb += ((lb ? sb : incB) - tb) + (lb ? incB : sb);
      sa = ta;
      sb = tb;
    }
    sumA = sa;
    cA = ca;
    sumB = sb;
    cB = cb;
    varied = diff;
    n += static_cast<double>(count);
  }
};

#if defined(__x86_64__) && defined(__GNUC__)
// The same four lanes in one AVX2 register where the CPU has it: a third fewer instructions
// per sample. AVX2 without FMA, so every operation rounds exactly as in the SSE2 loop.
__attribute__((target("avx2"))) void regressionRunAvx2(const Point* p, size_t count,
                                                       TimestampMs interceptTime, double initY,
                                                       double* sums, double* cs, bool* varied) {
  using V4 = double __attribute__((vector_size(32)));
  using M4 = int64_t __attribute__((vector_size(32)));
  constexpr int64_t kNoSign = 0x7fffffffffffffff;
  const M4 noSign = {kNoSign, kNoSign, kNoSign, kNoSign};
  V4 s = {sums[0], sums[1], sums[2], sums[3]};
  V4 c = {cs[0], cs[1], cs[2], cs[3]};
  bool diff = *varied;
  for (size_t i = 0; i < count; ++i) {
    const double y = p[i].v;
    diff |= y != initY;
    const double x = static_cast<double>(p[i].t - interceptTime) / 1e3;
    const V4 inc = {x, y, x * y, x * x};
    const V4 t = s + inc;
    const M4 sumLarger = reinterpret_cast<V4>(reinterpret_cast<M4>(s) & noSign) >=
                         reinterpret_cast<V4>(reinterpret_cast<M4>(inc) & noSign);
    c += ((sumLarger ? s : inc) - t) + (sumLarger ? inc : s);
    s = t;
  }
  for (int k = 0; k < 4; ++k) {
    sums[k] = s[k];
    cs[k] = c[k];
  }
  *varied = diff;
}

bool haveAvx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

Regression linearRegression(const PointsView& pts, TimestampMs interceptTime,
                            bool allowAvx2 = true) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (allowAvx2 && haveAvx2()) {
    const double initY = pts[0].v;
    double sums[4] = {0, 0, 0, 0}, cs[4] = {0, 0, 0, 0};
    bool varied = false;
    regressionRunAvx2(pts.a, pts.na, interceptTime, initY, sums, cs, &varied);
    regressionRunAvx2(pts.b, pts.nb, interceptTime, initY, sums, cs, &varied);
    if (!varied) {
      if (std::isinf(initY)) return {NAN, NAN};
      return {0, initY};
    }
    const double n = static_cast<double>(pts.size());
    const double sumX = sums[0] + cs[0], sumY = sums[1] + cs[1];
    const double sumXY = sums[2] + cs[2], sumX2 = sums[3] + cs[3];
    const double covXY = sumXY - sumX * sumY / n;
    const double varX = sumX2 - sumX * sumX / n;
    const double slope = covXY / varX;
    return {slope, sumY / n - slope * sumX / n};
  }
#endif
  const double initY = pts[0].v;
  RegressionSums s;
  s.run(pts.a, pts.na, interceptTime, initY);
  s.run(pts.b, pts.nb, interceptTime, initY);
  if (!s.varied) {
    if (std::isinf(initY)) return {NAN, NAN};
    return {0, initY};
  }
  const double n = s.n;
  const double sumX = s.sumA[0] + s.cA[0];
  const double sumY = s.sumA[1] + s.cA[1];
  const double sumXY = s.sumB[0] + s.cB[0];
  const double sumX2 = s.sumB[1] + s.cB[1];
  double covXY = sumXY - sumX * sumY / n;
  double varX = sumX2 - sumX * sumX / n;
  double slope = covXY / varX;
  return {slope, sumY / n - slope * sumX / n};
}

enum class RangeFn {
  kRate, kIncrease, kDelta, kIrate, kIdelta, kDeriv, kPredictLinear, kChanges, kResets,
  kAvg, kSum, kMin, kMax, kCount, kPresent, kLast, kQuantile, kStddev, kStdvar, kUnknown
};

RangeFn rangeFn(const std::string& f) {
  static const std::unordered_map<std::string, RangeFn> kByName = {
      {"rate", RangeFn::kRate},
      {"increase", RangeFn::kIncrease},
      {"delta", RangeFn::kDelta},
      {"irate", RangeFn::kIrate},
      {"idelta", RangeFn::kIdelta},
      {"deriv", RangeFn::kDeriv},
      {"predict_linear", RangeFn::kPredictLinear},
      {"changes", RangeFn::kChanges},
      {"resets", RangeFn::kResets},
      {"avg_over_time", RangeFn::kAvg},
      {"sum_over_time", RangeFn::kSum},
      {"min_over_time", RangeFn::kMin},
      {"max_over_time", RangeFn::kMax},
      {"count_over_time", RangeFn::kCount},
      {"present_over_time", RangeFn::kPresent},
      {"last_over_time", RangeFn::kLast},
      {"quantile_over_time", RangeFn::kQuantile},
      {"stddev_over_time", RangeFn::kStddev},
      {"stdvar_over_time", RangeFn::kStdvar},
  };
  auto it = kByName.find(f);
  return it == kByName.end() ? RangeFn::kUnknown : it->second;
}

class Evaluator {
 public:
  Evaluator(TimestampMs ts, SelectSession& session, const EvalOptions& o)
      : ts_(ts), session_(session), syms_(&session), o_(o) {
    nameId_ = syms_.intern(kMetricNameLabel);
    leId_ = syms_.intern("le");
  }

  IValue eval(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kNumber: return Scalar{ts_, e.number};
      case ExprKind::kString: return String{ts_, e.str};
      case ExprKind::kParen: return eval(*e.args[0]);
      case ExprKind::kVectorSelector: return selectVector(e, false);
      case ExprKind::kMatrixSelector: return selectMatrix(e);
      case ExprKind::kUnary: {
        IValue v = eval(*e.args[0]);
        if (e.op != Op::kSub) return v;
        if (auto* s = std::get_if<Scalar>(&v)) {
          s->v = -s->v;
          return v;
        }
        auto& vec = std::get<IVector>(v);
        for (auto& s : vec) {
          s.labels = dropName(s.labels);
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

  /// The result with labels as strings.
  Value toValue(IValue v) const {
    if (auto* s = std::get_if<Scalar>(&v)) return *s;
    if (auto* s = std::get_if<String>(&v)) return std::move(*s);
    if (auto* vec = std::get_if<IVector>(&v)) {
      Vector out;
      out.reserve(vec->size());
      for (const auto& s : *vec) out.push_back(Sample{toLabels(s.labels), s.t, s.v});
      return out;
    }
    Matrix out;
    for (const auto& s : std::get<IMatrix>(v)) {
      Series r{toLabels(s.labels), {}};
      r.points.reserve(s.points.size());
      for (size_t i = 0; i < s.points.size(); ++i) r.points.push_back(s.points[i]);
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  // --- labels as ids ---

  Labels toLabels(LSpan l) const {
    Labels out;
    out.reserve(l.size());
    for (const auto& x : l) {
      out.push_back(Label{std::string(syms_.str(x.name)), std::string(syms_.str(x.value))});
    }
    return out;
  }

  /// Prometheus' labels.Labels.String(): {__name__="x", a="b"}.
  std::string promLabels(LSpan l) const {
    std::string out = "{";
    for (size_t i = 0; i < l.size(); ++i) {
      if (i) out += ", ";
      out += std::string(syms_.str(l[i].name)) + "=\"" +
             escapeLabelValue(syms_.str(l[i].value)) + "\"";
    }
    return out + "}";
  }

  /// Copies a label set into the evaluation's arena.
  LSpan keep(const std::vector<LabelIds>& l) {
    if (l.empty()) return {};
    if (cap_ - used_ < l.size()) {
      cap_ = std::max<size_t>(4096, l.size());
      blocks_.push_back(std::make_unique<LabelIds[]>(cap_));
      used_ = 0;
    }
    LabelIds* p = blocks_.back().get() + used_;
    std::copy(l.begin(), l.end(), p);
    used_ += l.size();
    return LSpan(p, l.size());
  }

  static SymbolId get(LSpan l, SymbolId name) {
    for (const auto& x : l) {
      if (x.name == name) return x.value;
    }
    return kNoSymbol;
  }

  static bool contains(const std::vector<SymbolId>& ids, SymbolId id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
  }

  std::vector<SymbolId> ids(const std::vector<std::string>& names) {
    std::vector<SymbolId> out;
    out.reserve(names.size());
    for (const auto& n : names) out.push_back(syms_.intern(n));
    return out;
  }

  LSpan dropName(LSpan l) {
    for (size_t i = 0; i < l.size(); ++i) {
      if (l[i].name != nameId_) continue;
      if (i == 0) return l.subspan(1);
      if (i == l.size() - 1) return l.first(i);
      tmp_.assign(l.begin(), l.end());
      tmp_.erase(tmp_.begin() + static_cast<std::ptrdiff_t>(i));
      return keep(tmp_);
    }
    return l;
  }

  /// Sets (or with kNoSymbol removes) `name` in `l`, keeping names in string order.
  void setIn(std::vector<LabelIds>& l, SymbolId name, SymbolId value) const {
    for (size_t i = 0; i < l.size(); ++i) {
      if (l[i].name != name) continue;
      if (value == kNoSymbol) {
        l.erase(l.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        l[i].value = value;
      }
      return;
    }
    if (value == kNoSymbol) return;
    const std::string_view ns = syms_.str(name);
    auto pos = std::find_if(l.begin(), l.end(),
                            [&](const LabelIds& x) { return syms_.str(x.name) > ns; });
    l.insert(pos, LabelIds{name, value});
  }

  /// The identity of a series for vector matching, into `buf`: on(labels) keeps only those
  /// labels, ignoring(labels) drops them and the metric name.
  LSpan signature(LSpan l, bool on, const std::vector<SymbolId>& names,
                  std::vector<LabelIds>& buf) const {
    buf.clear();
    for (const auto& x : l) {
      bool listed = contains(names, x.name);
      if (on ? !listed : (listed || x.name == nameId_)) continue;
      buf.push_back(x);
    }
    return buf;
  }

  // --- evaluation ---

  double scalarArg(const Expr& e) { return std::get<Scalar>(eval(e)).v; }
  IVector vectorArg(const Expr& e) { return std::get<IVector>(eval(e)); }

  void selectRaw(const Expr& sel, TimestampMs minT, TimestampMs maxT) {
    selected_.clear();
    session_.select(sel.matchers, minT, maxT, syms_, selected_);
  }

  IVector selectVector(const Expr& sel, bool keepTimestamps) {
    TimestampMs ref = ts_ - sel.offsetMs;
    TimestampMs minT = ref - o_.lookbackMs;
    selectRaw(sel, minT, ref);
    IVector out;
    out.reserve(selected_.size());
    for (size_t k = 0; k < selected_.size(); ++k) {
      if (k + 8 < selected_.size()) {
        const PointsView& ahead = selected_[k + 8].points;
        if (!ahead.empty()) __builtin_prefetch(&ahead.back());
      }
      const SeriesIds& s = selected_[k];
      // The newest sample at or before ref, if within the lookback window (both ends count,
      // as in 2.42).
      const Point* last = nullptr;
      for (size_t i = s.points.size(); i-- > 0;) {
        const Point& p = s.points[i];
        if (p.t > ref) continue;
        if (p.t >= minT) last = &p;
        break;
      }
      if (!last || isStaleNaN(last->v)) continue;
      out.push_back(ISample{s.labels, keepTimestamps ? last->t : ts_, last->v});
    }
    return out;
  }

  /// Calls fn(labels, points) for each series of a range selector with samples in its window
  /// (staleness markers left out).
  template <typename F>
  void forEachInRange(const Expr& m, F&& fn) {
    const Expr& sel = *m.args[0];
    TimestampMs end = ts_ - sel.offsetMs;
    TimestampMs start = end - m.rangeMs;
    selectRaw(sel, start, end);
    const size_t n = selected_.size();
    for (size_t k = 0; k < n; ++k) {
      if (k + kAhead < n) {
        prefetchPoints(selected_[k + kAhead].points);
        prefetchLabels(selected_, k + kAhead);
      }
      const PointsView& pts = selected_[k].points;
      const size_t lo = partition(pts, start, false);
      const size_t hi = partition(pts, end, true);
      if (lo >= hi) continue;
      bool stale = false;
      if (selected_[k].newestStale >= start) {
        for (size_t i = lo; i < hi && !stale; ++i) stale = isStaleNaN(pts[i].v);
      }
      if (!stale) {
        fn(selected_[k].labels, subView(pts, lo, hi));
        continue;
      }
      auto& kept = points_.emplace_back();
      for (size_t i = lo; i < hi; ++i) {
        if (!isStaleNaN(pts[i].v)) kept.push_back(pts[i]);
      }
      if (!kept.empty()) {
        fn(selected_[k].labels, PointsView{kept.data(), kept.size(), nullptr, 0});
      }
    }
  }

  IMatrix selectMatrix(const Expr& m) {
    IMatrix out;
    forEachInRange(m, [&](LSpan labels, const PointsView& pts) {
      out.push_back(ISeries{labels, pts});
    });
    return out;
  }

  /// True for a range selector with an equality matcher on the metric name.
  static bool namedSelector(const Expr& ms) {
    if (ms.kind != ExprKind::kMatrixSelector) return false;
    for (const auto& m : ms.args[0]->matchers) {
      if (m.name() == kMetricNameLabel && m.type() == MatchType::kEqual) return true;
    }
    return false;
  }

  static void checkUnique(const IVector& v) {
    if (v.size() < 2) return;
    KeyIndex seen(v.size());
    for (uint32_t i = 0; i < v.size(); ++i) {
      if (!seen.insert(v[i].labels, i).second) {
        fail("vector cannot contain metrics with the same labelset");
      }
    }
  }

  IValue binary(const Expr& e) {
    fuseRangeCalls(e);
    IValue lv = eval(*e.args[0]);
    IValue rv = eval(*e.args[1]);
    auto* ls = std::get_if<Scalar>(&lv);
    auto* rs = std::get_if<Scalar>(&rv);
    if (ls && rs) {
      auto r = elemBinop(e.op, ls->v, rs->v);
      if (isComparison(e.op)) r.v = r.keep ? 1 : 0;
      return Scalar{ts_, r.v};
    }
    IVector out;
    if (ls || rs) {
      bool swap = ls != nullptr;
      double scalar = swap ? ls->v : rs->v;
      IVector& vec = std::get<IVector>(swap ? rv : lv);
      out.reserve(vec.size());
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
        LSpan labels = s.labels;
        if (dropsName(e.op) || e.returnBool) labels = dropName(labels);
        out.push_back(ISample{labels, ts_, res.v});
      }
      checkUnique(out);
      return out;
    }
    IVector& lhs = std::get<IVector>(lv);
    IVector& rhs = std::get<IVector>(rv);
    const auto& m = e.matching;
    const std::vector<SymbolId> names = ids(m.labels);
    std::vector<LabelIds> buf;
    switch (e.op) {
      case Op::kAnd: {
        if (rhs.empty()) return out;
        KeyIndex right(rhs.size());
        for (const auto& s : rhs) right.insert(signature(s.labels, m.on, names, buf), 0);
        for (auto& s : lhs) {
          if (right.find(signature(s.labels, m.on, names, buf)) != KeyIndex::kNone) {
            out.push_back(s);
          }
        }
        return out;
      }
      case Op::kOr: {
        KeyIndex left(lhs.size());
        out.reserve(lhs.size() + rhs.size());
        for (auto& s : lhs) {
          left.insert(signature(s.labels, m.on, names, buf), 0);
          out.push_back(s);
        }
        for (auto& s : rhs) {
          if (left.find(signature(s.labels, m.on, names, buf)) == KeyIndex::kNone) {
            out.push_back(s);
          }
        }
        return out;
      }
      case Op::kUnless: {
        KeyIndex right(rhs.size());
        for (const auto& s : rhs) right.insert(signature(s.labels, m.on, names, buf), 0);
        for (auto& s : lhs) {
          if (right.find(signature(s.labels, m.on, names, buf)) == KeyIndex::kNone) {
            out.push_back(s);
          }
        }
        return out;
      }
      default: break;
    }
    out = vectorBinop(e, lhs, rhs, names);
    checkUnique(out);
    return out;
  }

  LSpan oneSideLabels(LSpan l, const VectorMatching& m, const std::vector<SymbolId>& names) {
    tmp_.clear();
    for (const auto& x : l) {
      bool listed = contains(names, x.name);
      if (m.on ? listed : (!listed && x.name != nameId_)) tmp_.push_back(x);
    }
    return keep(tmp_);
  }

  LSpan resultMetric(LSpan lhs, LSpan rhs, Op op, const VectorMatching& m,
                     const std::vector<SymbolId>& names, const std::vector<SymbolId>& include) {
    tmp_.assign(lhs.begin(), lhs.end());
    if (dropsName(op)) setIn(tmp_, nameId_, kNoSymbol);
    if (m.card == Cardinality::kOneToOne) {
      if (m.on) {
        std::erase_if(tmp_, [&](const LabelIds& l) { return !contains(names, l.name); });
      } else {
        std::erase_if(tmp_, [&](const LabelIds& l) { return contains(names, l.name); });
      }
    }
    // group_x(extra) labels are copied from the "one" side (or removed when absent there).
    for (SymbolId name : include) setIn(tmp_, name, get(rhs, name));
    return keep(tmp_);
  }

  IVector vectorBinop(const Expr& e, IVector& lhsIn, IVector& rhsIn,
                      const std::vector<SymbolId>& names) {
    const auto& m = e.matching;
    IVector out;
    if (lhsIn.empty() || rhsIn.empty()) return out;
    IVector* lhs = &lhsIn;
    IVector* rhs = &rhsIn;
    // The "one" side is always rhs below.
    if (m.card == Cardinality::kOneToMany) std::swap(lhs, rhs);
    const std::vector<SymbolId> include = ids(m.include);
    std::vector<LabelIds> buf;
    KeyIndex right(rhs->size());
    // Label sets live in the series' own blocks, scattered: fetch a few ahead.
    for (uint32_t i = 0; i < rhs->size(); ++i) {
      prefetchLabels(*rhs, i + kAhead);
      const ISample& s = (*rhs)[i];
      auto [first, inserted] = right.insert(signature(s.labels, m.on, names, buf), i);
      if (!inserted) {
        std::string side = m.card == Cardinality::kOneToMany ? "left" : "right";
        fail(fmt::format(
            "found duplicate series for the match group {} on the {} hand-side of the "
            "operation: [{}, {}];many-to-many matching not allowed: matching labels must be "
            "unique on one side",
            promLabels(oneSideLabels(s.labels, m, names)), side, promLabels(s.labels),
            promLabels((*rhs)[first].labels)));
      }
    }
    KeyIndex matched(lhs->size());   // one-to-one: signatures already used
    KeyIndex inserted(lhs->size());  // many-to-one: result label sets
    out.reserve(lhs->size());
    for (size_t k = 0; k < lhs->size(); ++k) {
      prefetchLabels(*lhs, k + kAhead);
      const ISample& ls = (*lhs)[k];
      LSpan sig = signature(ls.labels, m.on, names, buf);
      uint32_t idx = right.find(sig);
      if (idx == KeyIndex::kNone) continue;
      const ISample& rs = (*rhs)[idx];
      double vl = ls.v, vr = rs.v;
      if (m.card == Cardinality::kOneToMany) std::swap(vl, vr);
      auto res = elemBinop(e.op, vl, vr);
      if (e.returnBool) {
        res.v = res.keep ? 1 : 0;
      } else if (!res.keep) {
        continue;
      }
      LSpan metric = resultMetric(ls.labels, rs.labels, e.op, m, names, include);
      if (e.returnBool) metric = dropName(metric);
      if (m.card == Cardinality::kOneToOne) {
        if (!matched.insert(sig, 0).second) {
          fail("multiple matches for labels: many-to-one matching must be explicit "
               "(group_left/group_right)");
        }
      } else if (!inserted.insert(metric, 0).second) {
        fail("multiple matches for labels: grouping labels must ensure unique matches");
      }
      out.push_back(ISample{metric, ts_, res.v});
    }
    return out;
  }

  IValue aggregate(const Expr& e) {
    double param = 0;
    if (e.args.size() == 2) param = scalarArg(*e.args[0]);
    IVector vec = vectorArg(*e.args.back());
    int64_t k = 0;
    if (e.op == Op::kTopk || e.op == Op::kBottomk) {
      if (std::isnan(param) || param > 9.2e18 || param < -9.2e18) {
        fail(fmt::format("Scalar value {} overflows int64", formatFloat(param)));
      }
      k = static_cast<int64_t>(param);
      if (k < 1) return IVector{};
    }
    struct Group {
      LSpan labels;
      double value = 0;
      double mean = 0;
      double groupCount = 0;
      SampleHeap heap;
      std::vector<double> values;
    };
    const std::vector<SymbolId> grouping = ids(e.grouping);
    KeyIndex index;
    std::vector<Group> groups;
    std::vector<LabelIds>& gl = tmp_;
    for (size_t at = 0; at < vec.size(); ++at) {
      prefetchLabels(vec, at + 8);
      const ISample& s = vec[at];
      gl.clear();
      if (e.without) {
        for (const auto& l : s.labels) {
          if (l.name == nameId_ || contains(grouping, l.name)) continue;
          gl.push_back(l);
        }
      } else {
        for (const auto& l : s.labels) {
          if (contains(grouping, l.name)) gl.push_back(l);
        }
      }
      auto [gi, fresh] = index.insert(gl, static_cast<uint32_t>(groups.size()));
      if (fresh) {
        Group g;
        g.labels = keep(gl);
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
      Group& g = groups[gi];
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
    IVector out;
    out.reserve(groups.size());
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
          std::vector<size_t> idx(h.h.size());
          for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
          std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return h.less(b, a); });
          for (size_t i : idx) out.push_back(ISample{h.h[i].labels, ts_, h.h[i].v});
          continue;
        }
        case Op::kQuantile: g.value = quantileOf(param, g.values); break;
        default: break;
      }
      out.push_back(ISample{g.labels, ts_, g.value});
    }
    return out;
  }

  /// The range-function call under parentheses and unary minus, with a matrix selector for
  /// its range argument and a literal for any other; nullptr if `e` is not one.
  static const Expr* rangeCallUnder(const Expr& e, const Expr** selector, double* param) {
    const Expr* x = &e;
    while (x->kind == ExprKind::kParen || (x->kind == ExprKind::kUnary && x->op == Op::kSub)) {
      x = x->args[0].get();
    }
    if (x->kind != ExprKind::kCall || rangeFn(x->str) == RangeFn::kUnknown) return nullptr;
    const Expr* sel = nullptr;
    *param = 0;
    for (const auto& a : x->args) {
      if (a->kind == ExprKind::kMatrixSelector) {
        sel = a.get();
      } else if (a->kind == ExprKind::kNumber) {
        *param = a->number;
      } else {
        return nullptr;
      }
    }
    *selector = sel;
    return sel != nullptr ? x : nullptr;
  }

  /// predict_linear(m[30m], 0) / -deriv(m[30m]): both operands of a binary operation apply a
  /// range function to the same selection. Select once and compute both per series while its
  /// samples are in cache, instead of streaming every window from memory twice; call() then
  /// takes the results. Each function computes exactly what it would alone.
  void fuseRangeCalls(const Expr& e) {
    const Expr *ls = nullptr, *rs = nullptr;
    double lp = 0, rp = 0;
    const Expr* l = rangeCallUnder(*e.args[0], &ls, &lp);
    const Expr* r = rangeCallUnder(*e.args[1], &rs, &rp);
    if (l == nullptr || r == nullptr || l == r || toString(*ls) != toString(*rs)) return;
    const RangeFn lf = rangeFn(l->str), rf = rangeFn(r->str);
    IVector lout, rout;
    lout.reserve(selected_.capacity());
    rout.reserve(selected_.capacity());
    forEachInRange(*ls, [&](LSpan labels, const PointsView& pts) {
      if (auto v = rangeFunction(lf, pts, lp, *ls)) {
        lout.push_back(ISample{lf == RangeFn::kLast ? labels : dropName(labels), ts_, *v});
      }
      if (auto v = rangeFunction(rf, pts, rp, *rs)) {
        rout.push_back(ISample{rf == RangeFn::kLast ? labels : dropName(labels), ts_, *v});
      }
    });
    fused_[l] = std::move(lout);
    fused_[r] = std::move(rout);
  }

  IValue call(const Expr& e) {
    const std::string& f = e.str;
    if (f == "time") return Scalar{ts_, static_cast<double>(ts_) / 1000.0};
    if (f == "vector") return IVector{ISample{{}, ts_, scalarArg(*e.args[0])}};
    if (f == "scalar") {
      IVector v = vectorArg(*e.args[0]);
      return Scalar{ts_, v.size() == 1 ? v[0].v : NAN};
    }
    if (f == "timestamp") {
      const Expr* arg = e.args[0].get();
      while (arg->kind == ExprKind::kParen) arg = arg->args[0].get();
      IVector v = arg->kind == ExprKind::kVectorSelector ? selectVector(*arg, true)
                                                         : vectorArg(*arg);
      IVector out;
      out.reserve(v.size());
      for (auto& s : v) {
        out.push_back(ISample{dropName(s.labels), ts_, static_cast<double>(s.t) / 1000.0});
      }
      checkUnique(out);
      return out;
    }
    if (f == "absent" || f == "absent_over_time") {
      IValue v = eval(*e.args[0]);
      bool empty = f == "absent" ? std::get<IVector>(v).empty() : std::get<IMatrix>(v).empty();
      if (!empty) return IVector{};
      return IVector{ISample{absentLabels(*e.args[0]), ts_, 1}};
    }
    if (f == "histogram_quantile") {
      double q = scalarArg(*e.args[0]);
      IVector in = vectorArg(*e.args[1]);
      KeyIndex index;
      std::vector<std::pair<LSpan, std::vector<Bucket>>> groups;
      std::unordered_map<SymbolId, std::optional<double>> bounds;
      for (size_t k = 0; k < in.size(); ++k) {
        prefetchLabels(in, k + 8);
        const ISample& s = in[k];
        const SymbolId le = get(s.labels, leId_);
        if (le == kNoSymbol) continue;
        auto [b, fresh] = bounds.try_emplace(le);
        if (fresh) b->second = parseGoFloat(syms_.str(le));
        if (!b->second) continue;
        tmp_.clear();
        for (const auto& l : s.labels) {
          if (l.name != leId_ && l.name != nameId_) tmp_.push_back(l);
        }
        auto [gi, created] = index.insert(tmp_, static_cast<uint32_t>(groups.size()));
        if (created) groups.push_back({keep(tmp_), {}});
        groups[gi].second.push_back(Bucket{*b->second, s.v});
      }
      IVector out;
      out.reserve(groups.size());
      for (auto& [l, bs] : groups) out.push_back(ISample{l, ts_, bucketQuantile(q, std::move(bs))});
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
      const RangeFn fn = rangeFn(f);
      if (fn == RangeFn::kUnknown) fail("unsupported function " + f);
      IVector out;
      auto apply = [&](LSpan labels, const PointsView& pts) {
        auto v = rangeFunction(fn, pts, param, ms);
        if (!v) return;
        out.push_back(ISample{fn == RangeFn::kLast ? labels : dropName(labels), ts_, *v});
      };
      if (auto done = fused_.find(&e); done != fused_.end()) {
        out = std::move(done->second);
        fused_.erase(done);
      } else if (ms.kind == ExprKind::kMatrixSelector) {
        // Selection and function in one pass: each series' samples are read once, while hot.
        out.reserve(selected_.capacity());
        forEachInRange(ms, apply);
      } else {
        const IMatrix mat = std::get<IMatrix>(eval(ms));
        for (const auto& s : mat) apply(s.labels, s.points);
      }
      // Distinct series of one metric name stay distinct without it.
      if (!namedSelector(ms)) checkUnique(out);
      return out;
    }
    // Instant-vector math functions.
    IVector v = vectorArg(*e.args[0]);
    double a1 = 0, a2 = 0;
    if (e.args.size() > 1) a1 = scalarArg(*e.args[1]);
    if (e.args.size() > 2) a2 = scalarArg(*e.args[2]);
    if (f == "clamp" && a2 < a1) return IVector{};
    IVector out;
    out.reserve(v.size());
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
      out.push_back(ISample{dropName(s.labels), ts_, r});
    }
    checkUnique(out);
    return out;
  }

  std::optional<double> rangeFunction(RangeFn f, const PointsView& pts, double param,
                                      const Expr& ms) {
    size_t n = pts.size();
    switch (f) {
      case RangeFn::kRate:
      case RangeFn::kIncrease:
      case RangeFn::kDelta:
        return extrapolatedRate(pts, ms, f != RangeFn::kDelta, f == RangeFn::kRate);
      case RangeFn::kIrate:
      case RangeFn::kIdelta: {
        if (n < 2) return std::nullopt;
        const Point& last = pts[n - 1];
        const Point& prev = pts[n - 2];
        bool isRate = f == RangeFn::kIrate;
        double r = (isRate && last.v < prev.v) ? last.v : last.v - prev.v;
        int64_t interval = last.t - prev.t;
        if (interval == 0) return std::nullopt;
        if (isRate) r /= static_cast<double>(interval) / 1000.0;
        return r;
      }
      case RangeFn::kDeriv:
        if (n < 2) return std::nullopt;
        return linearRegression(pts, pts[0].t).slope;
      case RangeFn::kPredictLinear: {
        if (n < 2) return std::nullopt;
        auto r = linearRegression(pts, ts_);
        return r.slope * param + r.intercept;
      }
      case RangeFn::kChanges:
      case RangeFn::kResets: {
        double count = 0;
        double prev = pts[0].v;
        for (size_t i = 1; i < n; ++i) {
          double cur = pts[i].v;
          if (f == RangeFn::kChanges) {
            if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) count++;
          } else if (cur < prev) {
            count++;
          }
          prev = cur;
        }
        return count;
      }
      case RangeFn::kAvg: {
        double mean = 0, count = 0, c = 0;
        for (size_t i = 0; i < n; ++i) {
          const Point& p = pts[i];
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
      case RangeFn::kSum: {
        double sum = 0, c = 0;
        for (size_t i = 0; i < n; ++i) kahanInc(pts[i].v, sum, c);
        if (std::isinf(sum)) return sum;
        return sum + c;
      }
      case RangeFn::kMin:
      case RangeFn::kMax: {
        double r = pts[0].v;
        for (size_t i = 0; i < n; ++i) {
          double v = pts[i].v;
          if (f == RangeFn::kMax ? (v > r || std::isnan(r)) : (v < r || std::isnan(r))) r = v;
        }
        return r;
      }
      case RangeFn::kCount: return static_cast<double>(n);
      case RangeFn::kPresent: return 1.0;
      case RangeFn::kLast: return pts[n - 1].v;
      case RangeFn::kQuantile: {
        scratch_.clear();
        for (size_t i = 0; i < pts.na; ++i) scratch_.push_back(pts.a[i].v);
        for (size_t i = 0; i < pts.nb; ++i) scratch_.push_back(pts.b[i].v);
        return quantileInPlace(param, scratch_);
      }
      case RangeFn::kStddev:
      case RangeFn::kStdvar: {
        double count = 0, mean = 0, cMean = 0, aux = 0, cAux = 0;
        for (size_t i = 0; i < n; ++i) {
          const double v = pts[i].v;
          count++;
          double delta = v - (mean + cMean);
          kahanInc(delta / count, mean, cMean);
          kahanInc(delta * (v - (mean + cMean)), aux, cAux);
        }
        double var = (aux + cAux) / count;
        return f == RangeFn::kStddev ? std::sqrt(var) : var;
      }
      case RangeFn::kUnknown: break;
    }
    fail("unsupported function");
  }

  std::optional<double> extrapolatedRate(const PointsView& pts, const Expr& ms, bool isCounter,
                                         bool isRate) {
    const Expr& sel = *ms.args[0];
    TimestampMs rangeStart = ts_ - (ms.rangeMs + sel.offsetMs);
    TimestampMs rangeEnd = ts_ - sel.offsetMs;
    size_t n = pts.size();
    if (n < 2) return std::nullopt;
    const Point& first = pts[0];
    const Point& lastP = pts[n - 1];
    double result = lastP.v - first.v;
    if (isCounter) {
      double last = 0;
      for (size_t i = 0; i < n; ++i) {
        const double v = pts[i].v;
        if (v < last) result += last;
        last = v;
      }
    }
    double durationToStart = static_cast<double>(first.t - rangeStart) / 1000;
    double durationToEnd = static_cast<double>(rangeEnd - lastP.t) / 1000;
    double sampledInterval = static_cast<double>(lastP.t - first.t) / 1000;
    double avgBetween = sampledInterval / static_cast<double>(n - 1);
    if (isCounter && result > 0 && first.v >= 0) {
      // A counter cannot go below zero: don't extrapolate past the point where it would be 0.
      double durationToZero = sampledInterval * (first.v / result);
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

  LSpan absentLabels(const Expr& arg) {
    const Expr* sel = nullptr;
    if (arg.kind == ExprKind::kVectorSelector) sel = &arg;
    if (arg.kind == ExprKind::kMatrixSelector) sel = arg.args[0].get();
    if (!sel) return {};
    Labels out;
    std::vector<std::string> drop;
    for (const auto& m : sel->matchers) {
      if (m.name() == kMetricNameLabel) continue;
      if (m.type() == MatchType::kEqual && vigil::get(out, m.name()).empty()) {
        vigil::set(out, m.name(), m.value());
      } else {
        drop.push_back(m.name());
      }
    }
    for (const auto& d : drop) vigil::set(out, d, "");
    tmp_.clear();
    for (const auto& l : out) tmp_.push_back(LabelIds{syms_.intern(l.name), syms_.intern(l.value)});
    return keep(tmp_);
  }

  TimestampMs ts_;
  SelectSession& session_;
  SymbolSpace syms_;
  const EvalOptions& o_;
  SymbolId nameId_ = kNoSymbol;
  SymbolId leId_ = kNoSymbol;
  std::vector<SeriesIds> selected_;
  std::vector<LabelIds> tmp_;
  std::vector<std::unique_ptr<LabelIds[]>> blocks_;
  size_t used_ = 0;
  size_t cap_ = 0;
  std::deque<std::vector<Point>> points_;
  std::unordered_map<const Expr*, IVector> fused_;  // range calls computed by fuseRangeCalls
  std::vector<double> scratch_;                     // a window's values, reused per series
};

}  // namespace

namespace detail {

std::pair<double, double> linearRegression(const PointsView& points, TimestampMs interceptTime,
                                           bool allowAvx2) {
  const Regression r = promql::linearRegression(points, interceptTime, allowAvx2);
  return {r.slope, r.intercept};
}

}  // namespace detail

Result<Value> evalInstant(const Expr& expr, TimestampMs ts, const Queryable& storage,
                          const EvalOptions& options) {
  try {
    auto session = storage.openSession();
    Evaluator ev(ts, *session, options);
    return ev.toValue(ev.eval(expr));
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
