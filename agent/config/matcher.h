#pragma once
// Alertmanager's label-matcher syntax, as used in a route's `matchers:` list.

#include <string>
#include <string_view>
#include <vector>

#include "agent/config/config.h"
#include "agent/core/error.h"

namespace vigil::config {

/// Parses one `matchers:` entry: a single matcher such as `severity="page"`, `team!=ops`,
/// `job=~"web.*"`, `env!~dev|test`, or several separated by commas and optionally wrapped in
/// braces (`{a="1", b=~"x.*"}`), as Alertmanager accepts them. Quoted values take the escapes
/// \" \\ \n \t \r; unquoted values run to the next comma and are trimmed. Regex values must
/// compile with RE2. Errors carry only a message (no position); the caller adds it.
/// Pure and thread-safe.
Result<std::vector<Matcher>> parseMatchers(std::string_view text);

/// "=", "!=", "=~" or "!~".
std::string_view toString(Matcher::Op op);

}  // namespace vigil::config
