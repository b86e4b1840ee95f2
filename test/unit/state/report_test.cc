#include "agent/state/report.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using vigil::TimestampMs;
using vigil::state::Event;
using vigil::state::parseRfc3339;
using vigil::state::parseTimeArg;
using vigil::state::renderJson;
using vigil::state::renderMarkdown;
using vigil::state::summarize;

namespace {

TimestampMs at(const char* rfc3339) {
  auto t = parseRfc3339(rfc3339);
  REQUIRE(t.has_value());
  return *t;
}

Event ev(const char* when, const std::string& kind, const std::string& subject,
         vigil::Labels labels, const std::string& from, const std::string& to,
         const std::string& detail = "") {
  Event e;
  e.at = at(when);
  e.kind = kind;
  e.subject = subject;
  e.labels = std::move(labels);
  e.from = from;
  e.to = to;
  e.detail = detail;
  return e;
}

/// The Devschool incident as vigil would have recorded it: web-02 leaves the rotation, web-01
/// runs out of memory hours later, then answers 500.
std::vector<Event> devschool() {
  const vigil::Labels pool = {{"alertname", "RedundancyLost"}, {"pool", "web"}};
  const vigil::Labels mem = {{"alertname", "MemoryExhaustion"}, {"instance", "web-01"}};
  const vigil::Labels http = {{"alertname", "Http5xxSpike"}, {"instance", "web-01"}};
  return {
      ev("2023-03-03T01:00:00Z", "probe", "web-02", {}, "in_rotation", "out_of_rotation",
         "haproxy: MAINT"),
      ev("2023-03-03T01:00:02Z", "alert", "RedundancyLost", pool, "inactive", "pending",
         "pool web has 1 of 2 members in rotation (min 2)"),
      ev("2023-03-03T01:00:32Z", "alert", "RedundancyLost", pool, "pending", "firing",
         "pool web has 1 of 2 members in rotation (min 2)"),
      ev("2023-03-03T01:00:33Z", "notification", "oncall", {}, "", "sent", "RedundancyLost"),
      ev("2023-03-03T09:50:00Z", "alert", "MemoryExhaustion", mem, "inactive", "firing",
         "web-01 has 4% memory available"),
      ev("2023-03-03T10:28:00Z", "probe", "web-01", {}, "up", "down", "status 500 | body: oops"),
      ev("2023-03-03T10:28:05Z", "alert", "Http5xxSpike", http, "inactive", "firing",
         "web-01 answers 500\non every route"),
      ev("2023-03-03T19:49:00Z", "probe", "web-01", {}, "down", "up"),
      ev("2023-03-03T19:50:00Z", "alert", "Http5xxSpike", http, "firing", "resolved"),
      ev("2023-03-03T19:50:00Z", "alert", "MemoryExhaustion", mem, "firing", "resolved"),
      ev("2023-03-03T19:51:00Z", "alert", "RedundancyLost", pool, "firing", "resolved"),
  };
}

const TimestampMs kSince = 1'677'801'600'000;  // 2023-03-03T00:00:00Z
const TimestampMs kUntil = 1'677'888'000'000;  // 2023-03-04T00:00:00Z

}  // namespace

TEST_CASE("report: the summary of the Devschool incident") {
  const auto s = summarize(devschool());
  REQUIRE(s.firstAlert);
  CHECK(s.firstAlert->subject == "RedundancyLost");
  CHECK(s.firstAlert->to == "pending");
  REQUIRE(s.firstFailure);
  // web-02 leaving the rotation is the first failure a probe saw.
  CHECK(s.firstFailure->subject == "web-02");
  CHECK(s.firstFailure->to == "out_of_rotation");
  REQUIRE(s.firstPage);
  CHECK(s.firstPage->kind == "notification");
  REQUIRE(s.detectionStart);
  CHECK(*s.detectionStart == at("2023-03-03T01:00:00Z"));
  REQUIRE(s.timeToDetect);
  CHECK(s.timeToDetect->count() == 33'000);
  REQUIRE(s.resolvedAt);
  CHECK(*s.resolvedAt == at("2023-03-03T19:51:00Z"));
  REQUIRE(s.timeToResolve);
  CHECK(s.timeToResolve->count() == at("2023-03-03T19:51:00Z") - at("2023-03-03T01:00:00Z"));
  CHECK(s.stillFiring.empty());
  CHECK(s.alertNames == std::vector<std::string>{"RedundancyLost{pool=\"web\"}",
                                                 "MemoryExhaustion{instance=\"web-01\"}",
                                                 "Http5xxSpike{instance=\"web-01\"}"});
  CHECK(s.failedTargets == std::vector<std::string>{"web-02", "web-01"});
}

TEST_CASE("report: Markdown shaped like a postmortem") {
  const std::string md = renderMarkdown(devschool(), kSince, kUntil);
  INFO(md);
  CHECK_THAT(md, Catch::StartsWith("# Incident report: RedundancyLost{pool=\"web\"}\n"));
  CHECK_THAT(md, Catch::Contains("Window: 2023-03-03T00:00:00Z to 2023-03-04T00:00:00Z (UTC). "
                                 "11 events recorded."));
  CHECK_THAT(md, Catch::Contains("| First alert | RedundancyLost{pool=\"web\"} (pending at "
                                 "2023-03-03T01:00:02Z) |"));
  CHECK_THAT(md, Catch::Contains("| First probe failure | web-02 (out_of_rotation at "
                                 "2023-03-03T01:00:00Z) |"));
  CHECK_THAT(md, Catch::Contains("| First page | 2023-03-03T01:00:33Z (oncall) |"));
  CHECK_THAT(md, Catch::Contains("| Time to detect | 33s |"));
  CHECK_THAT(md, Catch::Contains("| Resolved | 2023-03-03T19:51:00Z |"));
  CHECK_THAT(md, Catch::Contains("| Time to resolve | 18h51m |"));
  CHECK_THAT(md, Catch::Contains("## Likely root cause\n\n**RedundancyLost{pool=\"web\"}** fired "
                                 "first: it went pending at 2023-03-03T01:00:02Z:\n\n> pool web "
                                 "has 1 of 2 members in rotation (min 2)\n"));
  CHECK_THAT(md, Catch::Contains("| time (UTC) | kind | subject | transition | detail |\n"
                                 "|---|---|---|---|---|\n"
                                 "| 2023-03-03T01:00:00Z | probe | web-02 | in_rotation → "
                                 "out_of_rotation | haproxy: MAINT |\n"));
  // A pipe in a cell is escaped, a line break flattened: one row per event.
  CHECK_THAT(md, Catch::Contains("| 2023-03-03T10:28:00Z | probe | web-01 | up → down | status "
                                 "500 \\| body: oops |\n"));
  CHECK_THAT(md, Catch::Contains("| 2023-03-03T10:28:05Z | alert | "
                                 "Http5xxSpike{instance=\"web-01\"} | inactive → firing | "
                                 "web-01 answers 500<br>on every route |\n"));
  // Timeline in order, every event once.
  size_t rows = 0, pos = md.find("## Timeline");
  REQUIRE(pos != std::string::npos);
  std::string last;
  for (size_t p = md.find("\n| 2023-", pos); p != std::string::npos;
       p = md.find("\n| 2023-", p + 1)) {
    const std::string t = md.substr(p + 3, 20);
    CHECK(t >= last);
    last = t;
    ++rows;
  }
  CHECK(rows == 11);
}

TEST_CASE("report: JSON carries the same data") {
  const auto doc = nlohmann::json::parse(renderJson(devschool(), kSince, kUntil));
  CHECK(doc["since"] == "2023-03-03T00:00:00Z");
  CHECK(doc["until"] == "2023-03-04T00:00:00Z");
  CHECK(doc["event_count"] == 11);
  REQUIRE(doc["events"].size() == 11);
  CHECK(doc["events"][1]["subject"] == "RedundancyLost");
  CHECK(doc["events"][1]["labels"]["pool"] == "web");
  CHECK(doc["events"][1]["from"] == "inactive");
  CHECK(doc["events"][1]["to"] == "pending");
  CHECK(doc["events"][5]["detail"] == "status 500 | body: oops");
  const auto& s = doc["summary"];
  CHECK(s["first_alert"]["subject"] == "RedundancyLost");
  CHECK(s["likely_root_cause"]["alert"] == "RedundancyLost{pool=\"web\"}");
  CHECK(s["likely_root_cause"]["summary"] == "pool web has 1 of 2 members in rotation (min 2)");
  CHECK(s["first_probe_failure"]["subject"] == "web-02");
  CHECK(s["first_page"]["at"] == "2023-03-03T01:00:33Z");
  CHECK(s["detection_start"] == "2023-03-03T01:00:00Z");
  CHECK(s["time_to_detect_seconds"] == 33.0);
  CHECK(s["resolved_at"] == "2023-03-03T19:51:00Z");
  CHECK(s["time_to_resolve_seconds"] == 67860.0);
  CHECK(s["still_firing"].empty());
  CHECK(s["alerts"].size() == 3);
}

TEST_CASE("report: an empty window says so") {
  const std::string md = renderMarkdown({}, kSince, kUntil);
  CHECK_THAT(md, Catch::StartsWith("# Incident report\n"));
  CHECK_THAT(md, Catch::Contains("0 events recorded"));
  CHECK_THAT(md, Catch::Contains("No events were recorded in this window"));
  CHECK_THAT(md, !Catch::Contains("## Timeline"));
  const auto doc = nlohmann::json::parse(renderJson({}, kSince, kUntil));
  CHECK(doc["event_count"] == 0);
  CHECK(doc["events"].empty());
  CHECK(doc["summary"]["first_alert"].is_null());
  CHECK(doc["summary"]["time_to_detect_seconds"].is_null());
  CHECK(doc["summary"]["resolved_at"].is_null());
}

TEST_CASE("report: without notifications the first page is the first alert to fire") {
  const vigil::Labels l = {{"alertname", "TargetDown"}, {"instance", "web-01"}};
  std::vector<Event> events = {
      ev("2026-11-25T10:00:00Z", "probe", "web-01", {}, "up", "down", "connection refused"),
      ev("2026-11-25T10:00:01Z", "alert", "TargetDown", l, "inactive", "pending"),
      ev("2026-11-25T10:00:11.500Z", "alert", "TargetDown", l, "pending", "firing"),
      ev("2026-11-25T10:00:12Z", "notification", "oncall", {}, "", "failed", "503"),
  };
  const auto s = summarize(events);
  REQUIRE(s.firstPage);
  CHECK(s.firstPage->kind == "alert");
  CHECK(*s.detectionStart == at("2026-11-25T10:00:00Z"));
  REQUIRE(s.timeToDetect);
  CHECK(s.timeToDetect->count() == 11'500);
  CHECK(s.stillFiring == std::vector<std::string>{"TargetDown{instance=\"web-01\"}"});
  CHECK_FALSE(s.resolvedAt);
  CHECK_FALSE(s.timeToResolve);
  const std::string md =
      renderMarkdown(events, at("2026-11-25T09:00:00Z"), at("2026-11-25T11:00:00Z"));
  CHECK_THAT(md, Catch::Contains("| Time to detect | 11s500ms |"));
  CHECK_THAT(md, Catch::Contains("| Resolved | not yet: still firing at the end of the window: "
                                 "TargetDown{instance=\"web-01\"} |"));
  CHECK_THAT(md, Catch::Contains("| 2026-11-25T10:00:11.500Z | alert |"));
}

TEST_CASE("report: an alert with two instances resolves when both have") {
  const vigil::Labels a = {{"alertname", "Down"}, {"instance", "a"}};
  const vigil::Labels b = {{"alertname", "Down"}, {"instance", "b"}};
  std::vector<Event> events = {
      ev("2026-11-25T10:00:00Z", "alert", "Down", a, "inactive", "firing"),
      ev("2026-11-25T10:01:00Z", "alert", "Down", b, "inactive", "firing"),
      ev("2026-11-25T10:02:00Z", "alert", "Down", a, "firing", "resolved"),
  };
  auto s = summarize(events);
  CHECK_FALSE(s.resolvedAt);
  CHECK(s.stillFiring == std::vector<std::string>{"Down{instance=\"b\"}"});
  events.push_back(ev("2026-11-25T10:05:00Z", "alert", "Down", b, "firing", "resolved"));
  s = summarize(events);
  REQUIRE(s.resolvedAt);
  CHECK(*s.resolvedAt == at("2026-11-25T10:05:00Z"));
  CHECK(s.timeToResolve->count() == 5 * 60'000);
  CHECK(s.stillFiring.empty());
}

TEST_CASE("report: probe failures without any alert") {
  std::vector<Event> events = {
      ev("2026-11-25T10:00:00Z", "reload", "/etc/vigil.yaml", {}, "", "ok"),
      ev("2026-11-25T10:00:05Z", "probe", "web-01", {}, "up", "down", "timeout"),
  };
  const std::string md =
      renderMarkdown(events, at("2026-11-25T09:00:00Z"), at("2026-11-25T11:00:00Z"));
  CHECK_THAT(md, Catch::StartsWith("# Incident report: web-01 down\n"));
  CHECK_THAT(md, Catch::Contains("| First alert | none in this window |"));
  CHECK_THAT(md, Catch::Contains("| First page | none in this window |"));
  CHECK_THAT(md, Catch::Contains("| Time to detect | n/a |"));
  CHECK_THAT(md, Catch::Contains("No alert fired. The first failure was **web-01** (down) at "
                                 "2026-11-25T10:00:05Z: timeout"));
  CHECK_THAT(md, Catch::Contains("| 2026-11-25T10:00:00Z | reload | /etc/vigil.yaml | ok |  |"));
}

TEST_CASE("report: RFC 3339 times") {
  CHECK(parseRfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parseRfc3339("2023-03-03T00:00:00Z") == kSince);
  CHECK(parseRfc3339("2023-03-03T00:00:00.5Z") == kSince + 500);
  CHECK(parseRfc3339("2023-03-03T00:00:00.123456789Z") == kSince + 123);
  CHECK(parseRfc3339("2023-03-03t00:00:00z") == kSince);
  CHECK(parseRfc3339("2023-03-03T03:00:00+03:00") == kSince);
  CHECK(parseRfc3339("2023-03-02T21:30:00-02:30") == kSince);
  CHECK(parseRfc3339("2024-02-29T00:00:00Z").has_value());
  const auto bad = GENERATE(as<std::string>{}, "", "2023-03-03", "2023-03-03T00:00:00",
                            "2023-03-03 00:00:00Z", "2023-13-01T00:00:00Z",
                            "2023-02-30T00:00:00Z", "2023-03-03T24:00:00Z",
                            "2023-03-03T00:00:00.Z", "2023-03-03T00:00:00+0300",
                            "2023-03-03T00:00:00Zjunk", "x023-03-03T00:00:00Z");
  INFO(bad);
  CHECK_FALSE(parseRfc3339(bad).has_value());
}

TEST_CASE("report: --since and --until arguments") {
  const TimestampMs now = 1'700'000'000'000;
  CHECK(*parseTimeArg("24h", now) == now - 24 * 3'600'000);
  CHECK(*parseTimeArg("90m", now) == now - 90 * 60'000);
  CHECK(*parseTimeArg("1h30m", now) == now - 90 * 60'000);
  CHECK(*parseTimeArg("now", now) == now);
  CHECK(*parseTimeArg("2023-03-03T00:00:00Z", now) == kSince);
  const auto bad = GENERATE(as<std::string>{}, "", "yesterday", "24", "-1h", "1.5h", "24 h");
  auto r = parseTimeArg(bad, now);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().format(), Catch::Contains("RFC 3339") && Catch::Contains("duration"));
}
