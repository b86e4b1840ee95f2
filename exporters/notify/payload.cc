#include "exporters/notify/payload.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "exporters/notify/fingerprint.h"

namespace vigil::notify {

namespace {

using OrderedJson = nlohmann::ordered_json;

// PagerDuty's documented limits for dedup_key and payload.summary.
constexpr size_t kPagerDutyMaxDedupKey = 255;
constexpr size_t kPagerDutyMaxSummary = 1024;

const char* alertStatus(const Alert& a) { return a.resolved ? "resolved" : "firing"; }

OrderedJson labelsJson(const Labels& labels) {
  OrderedJson o = OrderedJson::object();
  for (const Label& l : labels) o[l.name] = l.value;
  return o;
}

OrderedJson annotationsJson(Annotations a) {
  std::sort(a.begin(), a.end());
  OrderedJson o = OrderedJson::object();
  for (const auto& [k, v] : a) o[k] = v;
  return o;
}

/// nlohmann's compact dump, then the escapes Go's encoding/json adds on top (HTML-safe < > &,
/// and U+2028/U+2029). Those characters can only occur inside strings, so replacing them
/// everywhere is safe.
std::string dumpLikeGo(const OrderedJson& j) {
  std::string raw = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(raw.size() + 16);
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < raw.size() && raw[i + 1] == '\x80' &&
               (raw[i + 2] == '\xa8' || raw[i + 2] == '\xa9')) {
      out += raw[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string dumpJson(const OrderedJson& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view annotation(const Alert& a, std::string_view name) {
  for (const auto& [k, v] : a.annotations) {
    if (k == name) return v;
  }
  return {};
}

/// Alertmanager's default title (slack.default.title / pagerduty.default.description):
/// [FIRING:N] <group label values> (<values of common labels that are not group labels>).
std::string defaultTitle(const Message& m) {
  size_t firing = 0;
  for (const Alert& a : m.alerts) firing += a.resolved ? 0 : 1;
  std::string status = groupStatus(m);
  std::string out = "[";
  std::transform(status.begin(), status.end(), std::back_inserter(out), ::toupper);
  if (status == "firing") out += fmt::format(":{}", firing);
  out += "] ";
  for (size_t i = 0; i < m.groupLabels.size(); ++i) {
    if (i > 0) out += ' ';
    out += m.groupLabels[i].value;
  }
  out += ' ';
  Labels common = commonLabels(m.alerts);
  if (common.size() > m.groupLabels.size()) {
    std::vector<std::string> rest;
    for (const Label& l : common) {
      if (get(m.groupLabels, l.name).empty()) rest.push_back(l.value);
    }
    out += fmt::format("({})", fmt::join(rest, " "));
  }
  return out;
}

/// Slack's mrkdwn needs &, < and > escaped as HTML entities.
std::string slackEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

/// One line per alert: its summary when it has one, else its labels.
std::string alertLine(const Alert& a) {
  std::string_view summary = annotation(a, "summary");
  return summary.empty() ? toString(a.labels) : std::string(summary);
}

bool labelSetBefore(const Labels& a, const Labels& b) {
  if (a.size() != b.size()) return a.size() < b.size();
  std::vector<std::string_view> names;
  for (const Label& l : a) names.push_back(l.name);
  for (const Label& l : b) names.push_back(l.name);
  std::sort(names.begin(), names.end());
  for (std::string_view n : names) {
    auto ia = std::find_if(a.begin(), a.end(), [&](const Label& l) { return l.name == n; });
    if (ia == a.end()) return true;
    auto ib = std::find_if(b.begin(), b.end(), [&](const Label& l) { return l.name == n; });
    if (ib == b.end()) return false;
    if (ia->value != ib->value) return ia->value < ib->value;
  }
  return false;
}

}  // namespace

const char* toString(Format f) {
  switch (f) {
    case Format::kAlertmanager: return "alertmanager";
    case Format::kSlack: return "slack";
    case Format::kPagerDuty: return "pagerduty";
    case Format::kConsole: return "console";
  }
  return "unknown";
}

std::optional<Format> parseFormat(std::string_view s) {
  for (Format f : {Format::kAlertmanager, Format::kSlack, Format::kPagerDuty, Format::kConsole}) {
    if (s == toString(f)) return f;
  }
  return std::nullopt;
}

const char* groupStatus(const Message& m) {
  for (const Alert& a : m.alerts) {
    if (!a.resolved) return "firing";
  }
  return "resolved";
}

Labels commonLabels(const std::vector<Alert>& alerts) {
  if (alerts.empty()) return {};
  Labels out = alerts[0].labels;
  for (size_t i = 1; i < alerts.size(); ++i) {
    std::erase_if(out, [&](const Label& l) { return get(alerts[i].labels, l.name) != l.value; });
  }
  return out;
}

Annotations commonAnnotations(const std::vector<Alert>& alerts) {
  if (alerts.empty()) return {};
  Annotations out = alerts[0].annotations;
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < alerts.size(); ++i) {
    std::erase_if(out, [&](const auto& kv) {
      for (const auto& [k, v] : alerts[i].annotations) {
        if (k == kv.first) return v != kv.second;
      }
      return true;
    });
  }
  return out;
}

void sortAlerts(std::vector<Alert>& alerts) {
  std::stable_sort(alerts.begin(), alerts.end(), [](const Alert& a, const Alert& b) {
    for (std::string_view key : {"job", "instance"}) {
      std::string_view va = get(a.labels, key);
      std::string_view vb = get(b.labels, key);
      if (va.empty() && vb.empty()) continue;
      if (va.empty()) return false;
      if (vb.empty()) return true;
      if (va != vb) return va < vb;
    }
    return labelSetBefore(a.labels, b.labels);
  });
}

std::string goTime(TimestampMs t) {
  if (t <= 0) return "0001-01-01T00:00:00Z";
  const std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  int64_t ms = t % 1000;
  if (ms != 0) {
    std::string frac = fmt::format(".{:03}", ms);
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  out += 'Z';
  return out;
}

std::string pagerDutySeverity(std::string_view s) {
  if (s == "page" || s == "critical") return "critical";
  if (s == "ticket" || s == "warning") return "warning";
  if (s == "info") return "info";
  return "error";
}

std::string renderAlertmanager(const Message& m) {
  OrderedJson alerts = OrderedJson::array();
  for (const Alert& a : m.alerts) {
    OrderedJson j;
    j["status"] = alertStatus(a);
    j["labels"] = labelsJson(a.labels);
    j["annotations"] = annotationsJson(a.annotations);
    j["startsAt"] = goTime(a.startsAt);
    j["endsAt"] = goTime(a.resolved ? a.endsAt : 0);
    j["generatorURL"] = a.generatorURL;
    j["fingerprint"] = toHex(fingerprint(a.labels));
    alerts.push_back(std::move(j));
  }
  OrderedJson j;
  j["receiver"] = m.receiver;
  j["status"] = groupStatus(m);
  j["alerts"] = std::move(alerts);
  j["groupLabels"] = labelsJson(m.groupLabels);
  j["commonLabels"] = labelsJson(commonLabels(m.alerts));
  j["commonAnnotations"] = annotationsJson(commonAnnotations(m.alerts));
  j["externalURL"] = m.externalURL;
  j["version"] = "4";
  j["groupKey"] = m.groupKey;
  j["truncatedAlerts"] = 0;
  return dumpLikeGo(j) + "\n";
}

std::string renderSlack(const Message& m) {
  bool firing = std::string_view(groupStatus(m)) == "firing";
  std::string text;
  for (const Alert& a : m.alerts) {
    if (!text.empty()) text += '\n';
    text += fmt::format("*{}* {}", alertStatus(a), slackEscape(alertLine(a)));
    std::string_view description = annotation(a, "description");
    if (!description.empty()) text += fmt::format(" — {}", slackEscape(description));
    std::string_view runbook = annotation(a, "runbook");
    if (runbook.empty()) runbook = annotation(a, "runbook_url");
    if (!runbook.empty()) text += fmt::format(" (<{}|runbook>)", runbook);
  }
  std::string title = defaultTitle(m);
  OrderedJson att;
  att["color"] = firing ? "danger" : "good";
  att["title"] = title;
  if (!m.externalURL.empty()) att["title_link"] = m.externalURL;
  att["text"] = text;
  att["fallback"] = m.externalURL.empty() ? title : title + " | " + m.externalURL;
  att["mrkdwn_in"] = {"text"};
  OrderedJson j;
  j["attachments"] = OrderedJson::array({std::move(att)});
  return dumpJson(j);
}

std::string renderPagerDuty(const Message& m, const std::string& routingKey) {
  bool firing = std::string_view(groupStatus(m)) == "firing";
  std::string dedup = m.groupKey;
  if (dedup.size() > kPagerDutyMaxDedupKey) {
    // Cut, then end in a hash of the whole key so that two long keys sharing a prefix differ.
    std::string tail = ":" + toHex(fingerprint(Labels{{"k", m.groupKey}}));
    dedup = dedup.substr(0, kPagerDutyMaxDedupKey - tail.size()) + tail;
  }
  OrderedJson j;
  if (!routingKey.empty()) j["routing_key"] = routingKey;
  j["event_action"] = firing ? "trigger" : "resolve";
  j["dedup_key"] = dedup;
  if (firing) {
    // The most severe of the firing alerts decides.
    static const std::vector<std::string> kOrder = {"critical", "error", "warning", "info"};
    size_t best = kOrder.size();
    std::string source;
    std::string firingText, resolvedText;
    int numFiring = 0, numResolved = 0;
    for (const Alert& a : m.alerts) {
      std::string line = alertLine(a);
      if (a.resolved) {
        ++numResolved;
        resolvedText += line + "\n";
        continue;
      }
      ++numFiring;
      firingText += line + "\n";
      std::string mapped = pagerDutySeverity(get(a.labels, "severity"));
      best = std::min(best, static_cast<size_t>(std::find(kOrder.begin(), kOrder.end(), mapped) -
                                                kOrder.begin()));
    }
    Labels common = commonLabels(m.alerts);
    for (std::string_view k : {"target", "instance", "pool"}) {
      if (source.empty()) source = std::string(get(common, k));
    }
    if (source.empty()) source = "vigil";
    std::string summary = defaultTitle(m);
    if (summary.size() > kPagerDutyMaxSummary) summary.resize(kPagerDutyMaxSummary);
    OrderedJson details;
    details["firing"] = firingText;
    details["resolved"] = resolvedText;
    details["num_firing"] = numFiring;
    details["num_resolved"] = numResolved;
    details["group_labels"] = labelsJson(m.groupLabels);
    OrderedJson payload;
    payload["summary"] = summary;
    payload["source"] = source;
    payload["severity"] = kOrder[std::min(best, kOrder.size() - 1)];
    std::string_view alertname = get(common, "alertname");
    if (!alertname.empty()) payload["class"] = alertname;
    std::string_view pool = get(common, "pool");
    if (!pool.empty()) payload["group"] = pool;
    payload["custom_details"] = std::move(details);
    j["payload"] = std::move(payload);
  }
  j["client"] = "vigil";
  if (!m.externalURL.empty()) j["client_url"] = m.externalURL;
  return dumpJson(j);
}

std::string renderConsole(const Message& m) {
  std::string out = fmt::format("{} receiver={} group={}\n", defaultTitle(m), m.receiver,
                                labelSetString(m.groupLabels));
  for (const Alert& a : m.alerts) {
    std::string when = a.resolved ? "resolved at " + goTime(a.endsAt)
                                  : "since " + goTime(a.startsAt);
    out += fmt::format("  {:<8} {} {}", alertStatus(a), toString(a.labels), when);
    std::string_view summary = annotation(a, "summary");
    if (!summary.empty()) out += fmt::format(": {}", summary);
    out += '\n';
  }
  return out;
}

Rendered render(Format format, const Message& m, const RenderOptions& opts) {
  switch (format) {
    case Format::kAlertmanager: return {renderAlertmanager(m), "application/json"};
    case Format::kSlack: return {renderSlack(m), "application/json"};
    case Format::kPagerDuty:
      return {renderPagerDuty(m, opts.pagerDutyRoutingKey), "application/json"};
    case Format::kConsole: return {renderConsole(m), "text/plain; charset=utf-8"};
  }
  return {renderAlertmanager(m), "application/json"};
}

}  // namespace vigil::notify
