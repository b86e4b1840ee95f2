#pragma once
// GET /: a plain status page an on-call engineer can read at a glance.

#include <string>
#include <vector>

#include "agent/core/check_status.h"

namespace vigil::web {

/// A complete HTML document listing every check with its last result.
std::string statusPageHtml(const std::vector<CheckStatus>& checks, bool ready);

/// Escapes &, <, >, " and ' for HTML text and attributes.
std::string htmlEscape(const std::string& s);

}  // namespace vigil::web
