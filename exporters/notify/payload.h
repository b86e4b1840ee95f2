#pragma once
// Rendering one notification of an aggregation group for a receiver: Alertmanager's webhook
// payload (version 4), Slack's incoming-webhook JSON, PagerDuty's Events API v2 and plain text
// for the console. Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/labels.h"
#include "exporters/notify/alert.h"

namespace vigil::notify {

/// What one notification says: the group's alerts at flush time.
struct Message {
  std::string receiver;
  std::string groupKey;  ///< e.g. {}/{severity="page"}:{alertname="X"}
  Labels groupLabels;
  std::vector<Alert> alerts;  ///< in Alertmanager's order (sortAlerts); endsAt 0 while firing
  std::string externalURL;    ///< the agent's URL, for links back
};

enum class Format { kAlertmanager, kSlack, kPagerDuty, kConsole };

/// "alertmanager", "slack", "pagerduty", "console".
const char* toString(Format f);
/// The webhook `format:` values and "console"; nullopt when unknown.
std::optional<Format> parseFormat(std::string_view s);

struct RenderOptions {
  /// PagerDuty's integration key. The receiver config has no field for it (SPEC §2), so it is
  /// left out of the payload when empty; the sender or a later config field supplies it.
  std::string pagerDutyRoutingKey;
};

struct Rendered {
  std::string body;
  std::string contentType;
};

/// Renders `m` in `format`. Never fails: label values that are not UTF-8 are replaced (U+FFFD)
/// in JSON output.
Rendered render(Format format, const Message& m, const RenderOptions& opts = {});

/// Alertmanager's webhook message, byte for byte as Alertmanager 0.25 encodes it (field order,
/// Go's HTML-safe escaping of < > & and U+2028/U+2029, trailing newline), except that control
/// characters other than \n \r \t may be escaped differently (\b rather than \u0008).
std::string renderAlertmanager(const Message& m);
/// Slack incoming webhook: one attachment with Alertmanager's default title
/// (`[FIRING:2] <group label values> (<other common label values>)`), colour danger/good and
/// one line per alert (summary, or the alert's labels).
std::string renderSlack(const Message& m);
/// PagerDuty Events API v2: event_action trigger|resolve, dedup_key = group key (longer keys
/// than PagerDuty's 255 characters are cut and end in a hash of the whole key), payload with
/// summary (Slack's title, at most 1024 characters), source, severity, custom_details.
std::string renderPagerDuty(const Message& m, const std::string& routingKey);
/// Human-readable text: a header line and one line per alert.
std::string renderConsole(const Message& m);

/// "resolved" when every alert is resolved, else "firing".
const char* groupStatus(const Message& m);
/// Labels (or annotations) present with the same value in every alert.
Labels commonLabels(const std::vector<Alert>& alerts);
Annotations commonAnnotations(const std::vector<Alert>& alerts);

/// Alertmanager's order of alerts in a notification (types.AlertSlice): by the `job` label,
/// then `instance` (alerts that have them first), then by label set (fewer labels first, then
/// by the first differing name/value).
void sortAlerts(std::vector<Alert>& alerts);

/// Go's time.Time JSON form (RFC 3339 with trailing zeros of the fraction dropped, UTC):
/// "2026-11-25T18:00:00.12Z", "2026-11-25T18:00:01Z"; "0001-01-01T00:00:00Z" for t <= 0.
std::string goTime(TimestampMs t);

/// PagerDuty's severity for a label value: page|critical -> critical, error -> error,
/// ticket|warning -> warning, info -> info; anything else (or none) -> error.
std::string pagerDutySeverity(std::string_view severityLabel);

}  // namespace vigil::notify
