#include "agent/state/report.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/core/duration.h"

namespace vigil::state {

namespace {

/// Keys in the order written: a report read by people as well as scripts.
using Json = nlohmann::ordered_json;

bool isAlertActive(const std::string& to) { return to == "pending" || to == "firing"; }
bool isAlertEnded(const std::string& to) { return to == "resolved" || to == "inactive"; }
/// Probe and pool-membership states name themselves ("down", "failed", "out_of_rotation",
/// "maint", ...); any transition to a state other than a healthy one counts as a failure.
bool isProbeFailure(const std::string& to) {
  return !(to == "up" || to == "ok" || to == "in_rotation" || to == "healthy" ||
           to == "success");
}
bool isFailedNotification(const std::string& to) {
  return to == "failed" || to == "dropped" || to == "rejected" || to == "expired";
}

/// An alert instance is its name plus labels: two instances of one rule resolve independently.
std::string alertKey(const Event& e) { return e.subject + toString(e.labels); }

/// The alert's name with the labels that tell its instances apart (alertname itself dropped).
std::string alertDisplay(const Event& e) {
  Labels rest;
  for (const auto& l : e.labels) {
    if (l.name != "alertname") rest.push_back(l);
  }
  return rest.empty() ? e.subject : e.subject + toString(rest);
}

/// A Markdown table cell: pipes escaped, line breaks flattened (a cell is one line).
std::string cell(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += "<br>";
    } else if (c == '\r') {
      continue;
    } else {
      out += c;
    }
  }
  return out;
}

std::string transition(const Event& e) {
  if (e.from.empty()) return e.to;
  return fmt::format("{} → {}", e.from, e.to);
}

/// RFC 3339 without the milliseconds when they are zero: what people paste into a postmortem.
std::string when(TimestampMs t) {
  std::string s = formatRfc3339(t);
  if (s.size() > 5 && s.compare(s.size() - 5, 5, ".000Z") == 0) s.replace(s.size() - 5, 5, "Z");
  return s;
}

Json eventJson(const Event& e) {
  Json labels = Json::object();
  for (const auto& l : e.labels) labels[l.name] = l.value;
  return {{"id", e.id},           {"at", when(e.at)}, {"kind", e.kind},
          {"subject", e.subject}, {"labels", labels}, {"from", e.from},
          {"to", e.to},           {"detail", e.detail}};
}

Json optEvent(const std::optional<Event>& e) {
  return e ? eventJson(*e) : Json(nullptr);
}

Json optSeconds(const std::optional<Duration>& d) {
  return d ? Json(static_cast<double>(d->count()) / 1000.0) : Json(nullptr);
}

Json optTime(const std::optional<TimestampMs>& t) {
  return t ? Json(when(*t)) : Json(nullptr);
}

int digits(std::string_view s, size_t pos, size_t n, bool* ok) {
  int v = 0;
  if (pos + n > s.size()) {
    *ok = false;
    return 0;
  }
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      *ok = false;
      return 0;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

ReportSummary summarize(const std::vector<Event>& events) {
  ReportSummary r;
  std::optional<Event> firstFiring;
  std::map<std::string, std::string> firing;  // key -> display, instances firing now
  std::vector<std::string> firingOrder;
  std::set<std::string> seenAlerts, seenTargets;
  for (const Event& e : events) {
    if (e.kind == "alert") {
      if (isAlertActive(e.to)) {
        if (!r.firstAlert) r.firstAlert = e;
        if (seenAlerts.insert(alertDisplay(e)).second) r.alertNames.push_back(alertDisplay(e));
      }
      if (e.to == "firing") {
        if (!firstFiring) firstFiring = e;
        if (firing.emplace(alertKey(e), alertDisplay(e)).second) firingOrder.push_back(alertKey(e));
      } else if (isAlertEnded(e.to)) {
        const bool wasFiring = firing.erase(alertKey(e)) > 0;
        if (wasFiring && firing.empty()) r.resolvedAt = e.at;
      }
    } else if (e.kind == "probe" && isProbeFailure(e.to)) {
      if (!r.firstFailure) r.firstFailure = e;
      if (seenTargets.insert(e.subject).second) r.failedTargets.push_back(e.subject);
    } else if (e.kind == "notification" && !isFailedNotification(e.to)) {
      if (!r.firstPage) r.firstPage = e;
    }
  }
  if (!r.firstPage) r.firstPage = firstFiring;
  if (!firing.empty()) {
    r.resolvedAt.reset();
    for (const auto& key : firingOrder) {
      auto it = firing.find(key);
      if (it != firing.end()) r.stillFiring.push_back(it->second);
    }
  }
  if (r.firstFailure || r.firstAlert) {
    TimestampMs start = r.firstFailure ? r.firstFailure->at : r.firstAlert->at;
    if (r.firstAlert) start = std::min(start, r.firstAlert->at);
    r.detectionStart = start;
    if (r.firstPage && r.firstPage->at >= start) r.timeToDetect = Duration(r.firstPage->at - start);
    if (r.resolvedAt && *r.resolvedAt >= start) r.timeToResolve = Duration(*r.resolvedAt - start);
  }
  return r;
}

std::string formatElapsed(Duration d) {
  // Above a minute, milliseconds are noise in a postmortem.
  if (d >= std::chrono::minutes(1)) d = Duration(d.count() / 1000 * 1000);
  return formatDuration(d);
}

std::string renderMarkdown(const std::vector<Event>& events, TimestampMs since,
                           TimestampMs until) {
  const ReportSummary s = summarize(events);
  std::string out;
  auto line = [&out](std::string_view text = {}) {
    out += text;
    out += '\n';
  };
  if (s.firstAlert) {
    line(fmt::format("# Incident report: {}", cell(alertDisplay(*s.firstAlert))));
  } else if (s.firstFailure) {
    line(fmt::format("# Incident report: {} {}", cell(s.firstFailure->subject),
                     cell(s.firstFailure->to)));
  } else {
    line("# Incident report");
  }
  line();
  line(fmt::format("Window: {} to {} (UTC). {} event{} recorded.", when(since), when(until),
                   events.size(), events.size() == 1 ? "" : "s"));
  line();
  if (events.empty()) {
    line("No events were recorded in this window: no alert fired, no probe changed state.");
    return out;
  }

  line("## Summary");
  line();
  line("| | |");
  line("|---|---|");
  auto row = [&line](std::string_view k, const std::string& v) {
    line(fmt::format("| {} | {} |", k, v));
  };
  if (s.firstAlert) {
    row("First alert", fmt::format("{} ({} at {})", cell(alertDisplay(*s.firstAlert)),
                                   cell(s.firstAlert->to), when(s.firstAlert->at)));
  } else {
    row("First alert", "none in this window");
  }
  if (s.firstFailure) {
    row("First probe failure", fmt::format("{} ({} at {})", cell(s.firstFailure->subject),
                                           cell(s.firstFailure->to), when(s.firstFailure->at)));
  }
  if (s.detectionStart) row("Problem began", when(*s.detectionStart));
  if (s.firstPage) {
    row("First page", fmt::format("{} ({})", when(s.firstPage->at),
                                  cell(s.firstPage->kind == "notification"
                                           ? s.firstPage->subject
                                           : alertDisplay(*s.firstPage) + " firing")));
  } else {
    row("First page", "none in this window");
  }
  row("Time to detect", s.timeToDetect ? formatElapsed(*s.timeToDetect) : "n/a");
  if (!s.stillFiring.empty()) {
    std::string names;
    for (const auto& n : s.stillFiring) names += (names.empty() ? "" : ", ") + cell(n);
    row("Resolved", "not yet: still firing at the end of the window: " + names);
    row("Time to resolve", "n/a");
  } else if (s.resolvedAt) {
    row("Resolved", when(*s.resolvedAt));
    row("Time to resolve", s.timeToResolve ? formatElapsed(*s.timeToResolve) : "n/a");
  } else {
    row("Resolved", "no alert fired");
  }
  if (!s.alertNames.empty()) {
    std::string names;
    for (const auto& n : s.alertNames) names += (names.empty() ? "" : ", ") + cell(n);
    row("Alerts", names);
  }
  if (!s.failedTargets.empty()) {
    std::string names;
    for (const auto& n : s.failedTargets) names += (names.empty() ? "" : ", ") + cell(n);
    row("Targets that failed", names);
  }
  line();

  line("## Likely root cause");
  line();
  if (s.firstAlert) {
    line(fmt::format("**{}** fired first: it went {} at {}{}", alertDisplay(*s.firstAlert),
                     s.firstAlert->to, when(s.firstAlert->at),
                     s.firstAlert->detail.empty() ? "." : ":"));
    if (!s.firstAlert->detail.empty()) {
      line();
      // A blockquote keeps the annotation's own line breaks.
      std::string quoted = "> ";
      for (char c : s.firstAlert->detail) {
        quoted += c;
        if (c == '\n') quoted += "> ";
      }
      line(quoted);
    }
  } else if (s.firstFailure) {
    line(fmt::format("No alert fired. The first failure was **{}** ({}) at {}{}",
                     s.firstFailure->subject, s.firstFailure->to, when(s.firstFailure->at),
                     s.firstFailure->detail.empty() ? "." : ": " + s.firstFailure->detail));
  } else {
    line("No alert fired and no probe failed in this window.");
  }
  line();

  line("## Timeline");
  line();
  line("| time (UTC) | kind | subject | transition | detail |");
  line("|---|---|---|---|---|");
  for (const Event& e : events) {
    const std::string subject = e.kind == "alert" ? alertDisplay(e) : e.subject;
    line(fmt::format("| {} | {} | {} | {} | {} |", when(e.at), cell(e.kind), cell(subject),
                     cell(transition(e)), cell(e.detail)));
  }
  return out;
}

std::string renderJson(const std::vector<Event>& events, TimestampMs since, TimestampMs until) {
  const ReportSummary s = summarize(events);
  Json evs = Json::array();
  for (const Event& e : events) evs.push_back(eventJson(e));
  Json summary = {
      {"first_alert", optEvent(s.firstAlert)},
      {"likely_root_cause",
       s.firstAlert ? Json{{"alert", alertDisplay(*s.firstAlert)},
                                     {"at", when(s.firstAlert->at)},
                                     {"state", s.firstAlert->to},
                                     {"summary", s.firstAlert->detail}}
                    : Json(nullptr)},
      {"first_probe_failure", optEvent(s.firstFailure)},
      {"first_page", optEvent(s.firstPage)},
      {"detection_start", optTime(s.detectionStart)},
      {"time_to_detect_seconds", optSeconds(s.timeToDetect)},
      {"resolved_at", optTime(s.resolvedAt)},
      {"time_to_resolve_seconds", optSeconds(s.timeToResolve)},
      {"still_firing", s.stillFiring},
      {"alerts", s.alertNames},
      {"failed_targets", s.failedTargets},
  };
  Json doc = {{"since", when(since)},
                        {"until", when(until)},
                        {"event_count", events.size()},
                        {"summary", summary},
                        {"events", evs}};
  return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::optional<TimestampMs> parseRfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)
  bool ok = true;
  const int year = digits(s, 0, 4, &ok);
  if (!ok || s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const int month = digits(s, 5, 2, &ok), day = digits(s, 8, 2, &ok);
  const int hour = digits(s, 11, 2, &ok), minute = digits(s, 14, 2, &ok);
  const int second = digits(s, 17, 2, &ok);
  if (!ok || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    int64_t scale = 100;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offsetMin = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '+' ? 1 : -1;
    const int oh = digits(s, pos + 1, 2, &ok), om = digits(s, pos + 4, 2, &ok);
    if (!ok || pos + 3 >= s.size() || s[pos + 3] != ':' || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offsetMin = sign * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t secs = timegm(&tm);
  // timegm normalizes 2026-02-31 to March: a date that does not exist is an error.
  if (tm.tm_mday != day || tm.tm_mon != month - 1) return std::nullopt;
  return (static_cast<int64_t>(secs) - offsetMin * 60) * 1000 + ms;
}

Result<TimestampMs> parseTimeArg(std::string_view s, TimestampMs now) {
  if (s == "now") return now;
  if (auto t = parseRfc3339(s)) return *t;
  if (auto d = parseDuration(s)) return now - d->count();
  return Error{fmt::format("cannot parse time \"{}\": want RFC 3339 (2026-11-25T16:00:00Z) or a "
                           "duration before now (24h, 90m)",
                           s)};
}

}  // namespace vigil::state
