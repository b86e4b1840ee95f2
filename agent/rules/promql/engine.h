#pragma once
// Instant evaluation of a parsed PromQL expression with Prometheus 2.42 semantics.

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "agent/core/error.h"
#include "agent/rules/promql/ast.h"
#include "agent/rules/promql/value.h"

namespace vigil::promql {

/// Prometheus' default lookback: an instant selector returns the newest sample at most this old.
inline constexpr int64_t kDefaultLookbackMs = 5 * 60 * 1000;

struct EvalOptions {
  int64_t lookbackMs = kDefaultLookbackMs;
};

/// Evaluates `expr` at time `ts` over `storage`. Runtime errors (duplicate series after
/// matching, many-to-many matching, ...) are returned with Prometheus' messages; nothing is
/// thrown. Thread-safe as long as `storage.select` is.
Result<Value> evalInstant(const Expr& expr, TimestampMs ts, const Queryable& storage,
                          const EvalOptions& options = {});

/// Parses and evaluates in one step (parse errors are returned as such).
Result<Value> evalInstant(std::string_view expr, TimestampMs ts, const Queryable& storage,
                          const EvalOptions& options = {});

/// Go's `%v`/strconv 'g' shortest formatting of a float ("1e+06", "0.1", "+Inf", "NaN").
std::string formatFloat(double v);

/// Go's `fmt.Sprintf("%.<prec>g", v)`.
std::string formatFloatG(double v, int prec);

/// Go's strconv.ParseFloat for the common syntaxes (decimal, exponent, hex integers,
/// Inf/NaN in any case); nullopt when malformed.
std::optional<double> parseGoFloat(std::string_view s);

namespace detail {

/// deriv()'s and predict_linear()'s least-squares fit over `points` (time order, two runs as a
/// ring holds them): {slope, intercept at interceptTime}. Exposed so that tests can check that
/// every code path (SSE2 and, where the CPU has it, AVX2) rounds exactly as Prometheus'
/// linearRegression does; `allowAvx2` false forces the portable path.
std::pair<double, double> linearRegression(const PointsView& points, TimestampMs interceptTime,
                                           bool allowAvx2 = true);

}  // namespace detail

}  // namespace vigil::promql
