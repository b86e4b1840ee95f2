#pragma once
// `vigil test-rules`: promtool's rule unit-test format, evaluated with vigil's engine.

#include <ostream>
#include <string>
#include <vector>

#include "agent/core/error.h"
#include "agent/rules/promql/value.h"

namespace vigil::rules {

/// Runs every test file like `promtool test rules FILE...`, printing "Unit Testing:  FILE" and
/// "  SUCCESS" to `out`, and "  FAILED:" with one entry per failed expectation to `err`.
/// Returns 0 when all pass, 1 when an expectation failed or a rule failed to evaluate, 2 when a
/// file (test file or rule file) could not be read or is invalid. Never throws. Thread-safe
/// (no shared state); time is virtual (promtool's, starting at 0), no clock is read.
int runRuleTests(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

/// Expands promtool's input-series notation ("1+2x3 _ stale -1x2") into samples, the i-th value
/// at i * intervalMs. Omitted values (`_`) produce no sample. Returns an Error on bad syntax.
/// Pure function, thread-safe.
Result<std::vector<promql::Point>> expandSeriesValues(std::string_view values, int64_t intervalMs);

}  // namespace vigil::rules
