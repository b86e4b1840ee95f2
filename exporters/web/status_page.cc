#include "exporters/web/status_page.h"

#include <fmt/format.h>

#include "exporters/web/api.h"

namespace vigil::web {

std::string htmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string statusPageHtml(const std::vector<CheckStatus>& checks, bool ready,
                           const StatusExtras& extras) {
  std::string alerts;
  for (const auto& a : extras.alerts) {
    alerts += fmt::format("<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                          a.state == "firing" ? "down" : "unknown", htmlEscape(a.name),
                          htmlEscape(a.state), rfc3339(a.activeAt), htmlEscape(a.labels),
                          htmlEscape(a.summary));
  }
  if (alerts.empty()) alerts = "<tr><td colspan=\"5\">none</td></tr>\n";
  std::string pools;
  for (const auto& c : checks) {
    if (c.probe != "lb") continue;
    const bool ok = c.lastRun != 0 && c.lastReason == FailureReason::kNone;
    pools += fmt::format("<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                         c.lastRun == 0 ? "unknown" : (ok ? "up" : "down"), htmlEscape(c.target),
                         htmlEscape(c.url),
                         c.lastRun == 0 ? "not yet probed" : std::string(toString(c.lastReason)),
                         htmlEscape(c.lastError));
  }
  std::string events;
  for (const auto& e : extras.events) {
    events += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>\n",
                          rfc3339(e.at), htmlEscape(e.kind), htmlEscape(e.subject),
                          e.from.empty() ? "" : htmlEscape(e.from) + " &rarr; ", htmlEscape(e.to),
                          htmlEscape(e.detail));
  }
  if (events.empty()) events = "<tr><td colspan=\"5\">none recorded</td></tr>\n";
  size_t up = 0, down = 0;
  for (const auto& c : checks) {
    if (c.lastRun == 0) continue;
    (c.lastReason == FailureReason::kNone ? up : down)++;
  }
  std::string rows;
  for (const auto& c : checks) {
    const bool never = c.lastRun == 0;
    const bool ok = !never && c.lastReason == FailureReason::kNone;
    rows += fmt::format(
        "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{:.1f} ms</td><td>{}</td></tr>\n",
        never ? "unknown" : (ok ? "up" : "down"), htmlEscape(c.target), htmlEscape(c.probe),
        htmlEscape(c.url), never ? "not yet probed" : std::string(toString(c.lastReason)),
        never ? "" : rfc3339(c.lastRun), c.lastDurationSeconds * 1e3, htmlEscape(c.lastError));
  }
  return fmt::format(R"(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>vigil</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }}
tr.up td:nth-child(4) {{ color: #186a18; }}
tr.down td:nth-child(4) {{ color: #b00020; font-weight: bold; }}
tr.unknown td:nth-child(4) {{ color: #777; }}
</style></head>
<body>
<h1>vigil</h1>
<p>{} &middot; {} checks: {} up, {} down &middot;
<a href="/metrics">metrics</a> &middot; <a href="/api/v1/targets">targets API</a></p>
<h2>Alerts</h2>
<table>
<tr><th>alert</th><th>state</th><th>active since</th><th>labels</th><th>summary</th></tr>
{}</table>
<h2>Pools</h2>
<table>
<tr><th>pool</th><th>load balancer stats</th><th>last result</th><th>error</th></tr>
{}</table>
<p>Members in rotation: <code>vigil_pool_member_in_rotation</code> on <a href="/metrics">/metrics</a>.</p>
<h2>Targets</h2>
<table>
<tr><th>target</th><th>probe</th><th>url</th><th>last result</th><th>last run</th><th>duration</th><th>error</th></tr>
{}</table>
<h2>Recent events</h2>
<table>
<tr><th>time</th><th>kind</th><th>subject</th><th>transition</th><th>detail</th></tr>
{}</table>
</body></html>
)",
                     ready ? "ready" : "starting (first round of probes not finished)",
                     checks.size(), up, down, alerts,
                     pools.empty() ? "<tr><td colspan=\"4\">no pools</td></tr>\n" : pools, rows,
                     events);
}

}  // namespace vigil::web
