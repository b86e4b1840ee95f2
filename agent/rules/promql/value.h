#pragma once
// The values a PromQL expression evaluates to, and the storage interface the evaluator reads.
// Kept independent of the agent's series store: anything that can answer select() can be
// queried (the store, a test fixture, a rule group's overlay of freshly recorded series).

#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/error.h"
#include "agent/core/labels.h"

namespace re2 {
class RE2;
}

namespace vigil::promql {

/// Prometheus' staleness marker: a NaN with a reserved bit pattern, written when a series
/// disappears so that lookback stops returning its last value.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ull;

/// A staleness-marker NaN.
inline double staleNaN() {
  double d;
  std::memcpy(&d, &kStaleNaNBits, sizeof d);
  return d;
}

/// True when `v` is exactly the staleness marker (ordinary NaNs are not).
inline bool isStaleNaN(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits == kStaleNaNBits;
}

/// One sample of a series: timestamp in ms and value.
struct Point {
  TimestampMs t = 0;
  double v = 0;
};

/// A labelled series (labels include __name__) with samples sorted by timestamp.
struct Series {
  Labels labels;
  std::vector<Point> points;
};

/// The comparison of a label matcher.
enum class MatchType { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

/// "=", "!=", "=~", "!~".
const char* toString(MatchType t);

/// A label matcher `name op "value"`; regex matchers are fully anchored RE2 patterns.
/// Immutable after creation; safe to share between threads.
class Matcher {
 public:
  /// Builds a matcher; for regex types compiles `^(?:value)$`. Returns an Error on a bad regex.
  static Result<Matcher> make(MatchType type, std::string name, std::string value);

  MatchType type() const { return type_; }
  const std::string& name() const { return name_; }
  const std::string& value() const { return value_; }
  /// True when a label value `v` ("" for an absent label) satisfies the matcher.
  bool matches(std::string_view v) const;
  /// `name="value"` with the operator and Go-style quoting.
  std::string toString() const;

 private:
  MatchType type_ = MatchType::kEqual;
  std::string name_;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;
};

/// True when every matcher accepts the corresponding label value of `labels`.
bool matchesAll(const std::vector<Matcher>& matchers, const Labels& labels);

/// An interned string: label names and values are compared and hashed as ids during an
/// evaluation. Ids with kLocalSymbol set belong to the evaluation, the others to the storage.
using SymbolId = uint32_t;
inline constexpr SymbolId kLocalSymbol = 0x80000000u;
inline constexpr SymbolId kNoSymbol = UINT32_MAX;

/// One label as ids.
struct LabelIds {
  SymbolId name = 0;
  SymbolId value = 0;
  bool operator==(const LabelIds&) const = default;
};

/// The samples of one series in time order, as up to two contiguous runs (a ring buffer's
/// halves), read in place.
struct PointsView {
  const Point* a = nullptr;
  size_t na = 0;
  const Point* b = nullptr;
  size_t nb = 0;
  size_t size() const { return na + nb; }
  bool empty() const { return na + nb == 0; }
  const Point& operator[](size_t i) const { return i < na ? a[i] : b[i - na]; }
  const Point& back() const { return nb ? b[nb - 1] : a[na - 1]; }
};

/// A series as the evaluator reads it: labels as ids sorted by name string, points in place.
struct SeriesIds {
  std::span<const LabelIds> labels;
  PointsView points;
  /// At or after the newest staleness marker in `points` (INT64_MIN: none): a window that
  /// starts later has none, and the evaluator need not look for them.
  TimestampMs newestStale = INT64_MAX;
};

class SelectSession;

/// The strings of one evaluation: the storage's symbols plus strings the evaluation makes
/// (absent() labels, selections from string-based storages). A string has exactly one id.
class SymbolSpace {
 public:
  explicit SymbolSpace(const SelectSession* base) : base_(base) {}
  SymbolSpace(const SymbolSpace&) = delete;
  SymbolSpace& operator=(const SymbolSpace&) = delete;
  std::string_view str(SymbolId id) const;
  /// The id of `s`, made local if the storage does not know it.
  SymbolId intern(std::string_view s);
  /// The id of `s` if anything has it.
  bool find(std::string_view s, SymbolId* id) const;

 private:
  const SelectSession* base_;
  std::deque<std::string> local_;
  std::unordered_map<std::string_view, SymbolId> index_;
};

/// A consistent read view of a storage for one evaluation: series come out with interned
/// labels and points read in place, both valid until the session is destroyed.
class SelectSession {
 public:
  virtual ~SelectSession() = default;
  /// The string of a storage symbol (ids without kLocalSymbol).
  virtual std::string_view str(SymbolId id) const = 0;
  /// The storage's id of `s`, if it has one.
  virtual bool find(std::string_view s, SymbolId* id) const = 0;
  /// Appends every series matching all matchers that has samples in [minT, maxT] (both ends
  /// included), sorted by labels as Prometheus sorts them. Points outside the window, and
  /// series with none inside it, may be included: the evaluator trims. `symbols` interns
  /// strings the storage does not know.
  virtual void select(const std::vector<Matcher>& matchers, TimestampMs minT, TimestampMs maxT,
                      SymbolSpace& symbols, std::vector<SeriesIds>& out) = 0;
};

/// Read access to series. Implementations must be safe to call from the thread that evaluates;
/// the evaluator never keeps references past one evaluation.
class Queryable {
 public:
  virtual ~Queryable() = default;
  /// All series matching every matcher, each with its samples in [minT, maxT] (both ends
  /// included), sorted by time. Series without samples in the window may be omitted.
  virtual std::vector<Series> select(const std::vector<Matcher>& matchers, TimestampMs minT,
                                     TimestampMs maxT) const = 0;
  /// A session for one evaluation. The default adapts select(): labels are interned by the
  /// evaluation and series sorted; storages with their own symbols override it.
  virtual std::unique_ptr<SelectSession> openSession() const;
};

/// The session the default openSession() returns, over any Queryable's select(). Series
/// selected through it stay owned by the session.
class CopyingSession final : public SelectSession {
 public:
  explicit CopyingSession(const Queryable& q) : q_(q) {}
  std::string_view str(SymbolId) const override { return {}; }
  bool find(std::string_view, SymbolId*) const override { return false; }
  void select(const std::vector<Matcher>& matchers, TimestampMs minT, TimestampMs maxT,
              SymbolSpace& symbols, std::vector<SeriesIds>& out) override;
  /// Interns and keeps `s`, returning its view (used to merge in-memory series elsewhere).
  SeriesIds keep(Series s, SymbolSpace& symbols);

 private:
  const Queryable& q_;
  std::deque<std::vector<LabelIds>> labels_;
  std::deque<std::vector<Point>> points_;
};

/// Compares two interned label sets as Prometheus orders label sets (by name, then value).
int compareLabels(std::span<const LabelIds> a, std::span<const LabelIds> b,
                  const SymbolSpace& symbols);

/// An instant-vector element: labels, timestamp and value.
struct Sample {
  Labels labels;
  TimestampMs t = 0;
  double v = 0;
};

using Vector = std::vector<Sample>;
using Matrix = std::vector<Series>;

struct Scalar {
  TimestampMs t = 0;
  double v = 0;
};

struct String {
  TimestampMs t = 0;
  std::string v;
};

/// The result of an evaluation.
using Value = std::variant<Scalar, Vector, Matrix, String>;

}  // namespace vigil::promql
