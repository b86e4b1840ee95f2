#pragma once
// GET /: a plain status page an on-call engineer can read at a glance.

#include <string>
#include <vector>

#include "agent/core/check_status.h"
#include "agent/core/clock.h"

namespace vigil::web {

/// An alert as the status page shows it.
struct AlertLine {
  std::string name;
  std::string state;    ///< "pending" | "firing"
  std::string labels;   ///< {a="b", ...}
  std::string summary;
  TimestampMs activeAt = 0;
};

/// An entry of the event history as the status page shows it.
struct EventLine {
  TimestampMs at = 0;
  std::string kind, subject, from, to, detail;
};

/// What the page shows besides the checks (everything optional).
struct StatusExtras {
  std::vector<AlertLine> alerts;   ///< pending and firing
  std::vector<EventLine> events;   ///< most recent first
};

/// A complete HTML document: firing and pending alerts, pools (their load balancer's view),
/// every check with its last result, and the recent events.
std::string statusPageHtml(const std::vector<CheckStatus>& checks, bool ready,
                           const StatusExtras& extras = {});

/// Escapes &, <, >, " and ' for HTML text and attributes.
std::string htmlEscape(const std::string& s);

}  // namespace vigil::web
