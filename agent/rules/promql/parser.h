#pragma once
// PromQL parser for the SPEC §4 subset, with Prometheus' precedence, type checks and error
// messages. Errors carry the position inside the expression.

#include <string_view>

#include "agent/core/error.h"
#include "agent/rules/promql/ast.h"

namespace vigil::promql {

/// Parses and type-checks `input`. On failure the Error has `line`/`column` (1-based, in bytes)
/// of the offending token within `input` and a message "parse error: ..." (file is empty).
/// Pure function, thread-safe.
Result<ExprPtr> parseExpr(std::string_view input);

/// Parses a series selector/metric such as `foo{a="b"}` (the labels of a promtool input series
/// or expected sample) into a label set. No matchers other than `=` are allowed.
Result<Labels> parseMetric(std::string_view input);

/// Byte offset -> 1-based line and column.
void offsetToLineCol(std::string_view input, int offset, int& line, int& column);

}  // namespace vigil::promql

namespace vigil::promql {

/// A function's signature: argument types, how many trailing arguments are optional, result.
struct FunctionSig {
  std::string_view name;
  std::vector<ValueType> args;
  int optional = 0;
  ValueType ret = ValueType::kVector;
};

/// The signature of a supported function, or nullptr.
const FunctionSig* findFunction(std::string_view name);

}  // namespace vigil::promql
