#pragma once
// The values a PromQL expression evaluates to, and the storage interface the evaluator reads.
// Kept independent of the agent's series store: anything that can answer select() can be
// queried (the store, a test fixture, a rule group's overlay of freshly recorded series).

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
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

/// Read access to series. Implementations must be safe to call from the thread that evaluates;
/// the evaluator never keeps references past one evaluation.
class Queryable {
 public:
  virtual ~Queryable() = default;
  /// All series matching every matcher, each with its samples in [minT, maxT] (both ends
  /// included), sorted by time. Series without samples in the window may be omitted.
  virtual std::vector<Series> select(const std::vector<Matcher>& matchers, TimestampMs minT,
                                     TimestampMs maxT) const = 0;
};

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
