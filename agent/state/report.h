#pragma once
// `vigil report` (SPEC §1): an incident timeline drafted from the event history, shaped like a
// postmortem (title, summary, likely root cause, timeline), as Markdown or JSON. Pure functions of
// the events and the window: no database, no clock.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/error.h"
#include "agent/state/state_db.h"

namespace vigil::state {

/// What the summary of a report says, derived from the events of the window.
///
/// - first alert: the earliest alert event going to "pending" or "firing" (what fired first: the
///   likely root cause), with its detail (the summary annotation);
/// - first failure: the earliest probe event going to a state other than a healthy one ("up",
///   "ok", "in_rotation", "healthy", "success"): "down", "failed", "out_of_rotation", ...;
/// - detection started at the earlier of the first failure and the first alert;
/// - first page: the earliest "notification" event that is not a failure ("failed", "dropped"),
///   or, with no notification recorded, the first alert going to "firing";
/// - time to detect = first page - detection start;
/// - resolved at: the last moment the set of firing alerts became empty, when no alert is still
///   firing at the end of the window; time to resolve = resolved at - detection start.
struct ReportSummary {
  std::optional<Event> firstAlert;
  std::optional<Event> firstFailure;
  std::optional<Event> firstPage;
  std::optional<TimestampMs> detectionStart;
  std::optional<TimestampMs> resolvedAt;
  std::optional<Duration> timeToDetect;
  std::optional<Duration> timeToResolve;
  /// Alert names (with labels) still firing at the end of the window, in the order they fired.
  std::vector<std::string> stillFiring;
  std::vector<std::string> alertNames;   ///< every alert that went pending or firing, first first
  std::vector<std::string> failedTargets;  ///< every probe subject that failed, first first
};

/// The summary of `events` (oldest first, as StateDb::events returns them).
ReportSummary summarize(const std::vector<Event>& events);

/// The report as Markdown: title, window, summary table, likely root cause and timeline table
/// (UTC, RFC 3339). An empty window says that no events were recorded.
std::string renderMarkdown(const std::vector<Event>& events, TimestampMs since, TimestampMs until);

/// The same data as one JSON document (times RFC 3339, durations in seconds), newline-terminated.
std::string renderJson(const std::vector<Event>& events, TimestampMs since, TimestampMs until);

/// A --since/--until argument: RFC 3339 ("2026-11-25T16:00:00Z", fractional seconds and
/// "+03:00" offsets allowed), a Prometheus duration meaning "that long before now" ("24h",
/// "90m"), or "now". The error says what is accepted.
Result<TimestampMs> parseTimeArg(std::string_view s, TimestampMs now);

/// Parses RFC 3339 with a mandatory offset ("Z" or "+hh:mm"); nullopt when malformed.
std::optional<TimestampMs> parseRfc3339(std::string_view s);

/// "1h2m3s" style, rounded to the second above one minute, milliseconds below one second.
std::string formatElapsed(Duration d);

}  // namespace vigil::state
