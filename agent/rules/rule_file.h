#pragma once
// Prometheus rule files (groups[].rules[] with alert/record/expr/for/keep_firing_for/labels/
// annotations), loaded with Prometheus' validation. Unknown keys are errors.

#include <string>
#include <string_view>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/error.h"
#include "agent/core/labels.h"
#include "agent/rules/promql/ast.h"

namespace vigil::rules {

/// One rule as written in the file, with its expression parsed.
struct RuleDef {
  enum class Kind { kAlerting, kRecording };
  Kind kind = Kind::kAlerting;
  std::string name;            ///< `alert:` or `record:`
  std::string exprText;        ///< the expression as written
  promql::ExprPtr expr;        ///< parsed expression
  Duration forDuration{0};     ///< alerting only
  Duration keepFiringFor{0};   ///< alerting only
  Labels labels;               ///< templates for alerting rules, literal for recording rules
  Labels annotations;          ///< templates (alerting only); sorted by name
  int line = 0;                ///< 1-based position of `expr:` value in the file
  int column = 0;
};

/// A group of rules evaluated together, in order.
struct RuleGroupDef {
  std::string name;
  Duration interval{0};  ///< 0: use the global evaluation interval
  int limit = 0;
  std::vector<RuleDef> rules;
  std::string file;
};

struct RuleFile {
  std::string path;
  std::vector<RuleGroupDef> groups;
};

/// "alerting" or "recording".
const char* toString(RuleDef::Kind k);

/// Parses rule-file YAML. `path` is used in errors only. Errors carry file, line and column of
/// the offending node; expression errors also carry the position inside the expression in the
/// message. Never throws. Thread-safe.
Result<RuleFile> parseRuleFile(std::string_view content, const std::string& path);

/// Reads and parses a rule file.
Result<RuleFile> loadRuleFile(const std::string& path);

}  // namespace vigil::rules
