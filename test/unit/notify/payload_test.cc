#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "exporters/notify/fingerprint.h"
#include "exporters/notify/payload.h"
#include "notify_test_util.h"

using namespace vigil;
using namespace vigil::notify;
using namespace vigil::notify::test;
using nlohmann::json;

namespace {

Message sample() {
  Message m;
  m.receiver = "oncall";
  m.groupKey = R"({}/{severity="page"}:{alertname="RedundancyLost", pool="devschool"})";
  m.groupLabels = {{"alertname", "RedundancyLost"}, {"pool", "devschool"}};
  m.externalURL = "http://vigil.example:9469";
  Alert a = firing({{"alertname", "RedundancyLost"},
                    {"pool", "devschool"},
                    {"severity", "page"},
                    {"target", "web-02"}},
                   kT0 + 120,
                   {{"summary", "web-02 left the rotation <b>&</b>"},
                    {"description", "1 of 2 servers in rotation"},
                    {"runbook", "https://runbooks.example/redundancy"}});
  a.generatorURL = "http://vigil.example:9469/graph?g0.expr=x";
  Alert b = resolvedAt(firing({{"alertname", "RedundancyLost"},
                               {"pool", "devschool"},
                               {"severity", "page"},
                               {"target", "web-01"}},
                              kT0, {{"summary", "web-01 gone"}}),
                       kT0 + 61'000);
  m.alerts = {b, a};
  sortAlerts(m.alerts);
  return m;
}

}  // namespace

TEST_CASE("alertmanager payload: version 4 fields and values", "[notify][payload]") {
  Message m = sample();
  std::string body = renderAlertmanager(m);
  CHECK(body.back() == '\n');
  json j = json::parse(body);
  CHECK(j["version"] == "4");
  CHECK(j["receiver"] == "oncall");
  CHECK(j["status"] == "firing");
  CHECK(j["groupKey"] == m.groupKey);
  CHECK(j["truncatedAlerts"] == 0);
  CHECK(j["externalURL"] == "http://vigil.example:9469");
  CHECK(j["groupLabels"] == json{{"alertname", "RedundancyLost"}, {"pool", "devschool"}});
  CHECK(j["commonLabels"] ==
        json{{"alertname", "RedundancyLost"}, {"pool", "devschool"}, {"severity", "page"}});
  CHECK(j["commonAnnotations"] == json::object());
  REQUIRE(j["alerts"].size() == 2);
  // Same number of labels: ordered by the first differing value (target web-01 < web-02).
  const json& r = j["alerts"][0];
  CHECK(r["status"] == "resolved");
  CHECK(r["labels"]["target"] == "web-01");
  CHECK(r["startsAt"] == "2026-11-25T18:00:00Z");
  CHECK(r["endsAt"] == "2026-11-25T18:01:01Z");
  CHECK(r["generatorURL"] == "");
  CHECK(r["fingerprint"] == toHex(fingerprint(m.alerts[0].labels)));
  const json& f = j["alerts"][1];
  CHECK(f["status"] == "firing");
  CHECK(f["startsAt"] == "2026-11-25T18:00:00.12Z");
  CHECK(f["endsAt"] == "0001-01-01T00:00:00Z");
  CHECK(f["generatorURL"] == "http://vigil.example:9469/graph?g0.expr=x");
  CHECK(f["annotations"]["summary"] == "web-02 left the rotation <b>&</b>");
  // Go's encoder escapes <, > and & in strings.
  CHECK(body.find("<b>") == std::string::npos);
  CHECK(body.find(R"(\u003cb\u003e\u0026\u003c/b\u003e)") != std::string::npos);
  // Field order is Alertmanager's.
  CHECK(body.rfind(R"({"receiver":"oncall","status":"firing","alerts":[{"status":"resolved",)", 0) ==
        0);
}

TEST_CASE("alertmanager payload: all resolved, common annotations", "[notify][payload]") {
  Message m = sample();
  for (Alert& a : m.alerts) {
    a.resolved = true;
    a.endsAt = kT0 + 5 * kMin;
    a.annotations = {{"runbook", "r"}, {"summary", "same"}};
  }
  json j = json::parse(renderAlertmanager(m));
  CHECK(j["status"] == "resolved");
  CHECK(j["commonAnnotations"] == json{{"runbook", "r"}, {"summary", "same"}});
}

TEST_CASE("label values that are not UTF-8 do not break the JSON", "[notify][payload]") {
  Message m = sample();
  m.alerts[0].labels.push_back({"zz", "bad\xff"});
  for (Format f : {Format::kAlertmanager, Format::kSlack, Format::kPagerDuty}) {
    CAPTURE(toString(f));
    Rendered r = render(f, m);
    CHECK_NOTHROW(json::parse(r.body));
  }
}

TEST_CASE("alerts sort like Alertmanager's: job, instance, then label sets",
          "[notify][payload]") {
  // The order a real Alertmanager 0.25 sent these in.
  std::vector<Alert> alerts{
      firing({{"alertname", "J"}, {"job", "x"}, {"instance", "i2"}}, kT0),
      firing({{"alertname", "J"}, {"job", "x"}, {"instance", "i1"}, {"zz", "1"}}, kT0),
      firing({{"alertname", "J"}, {"job", "x"}, {"instance", "i1"}}, kT0),
      firing({{"alertname", "K"}}, kT0),
      firing({{"alertname", "J"}, {"job", "a"}}, kT0),
  };
  sortAlerts(alerts);
  std::vector<std::string> got;
  for (const Alert& a : alerts) got.push_back(toString(a.labels));
  CHECK(got == std::vector<std::string>{
                   R"({alertname="J", job="a"})",
                   R"({alertname="J", instance="i1", job="x"})",
                   R"({alertname="J", instance="i1", job="x", zz="1"})",
                   R"({alertname="J", instance="i2", job="x"})",
                   R"({alertname="K"})",
               });
}

TEST_CASE("goTime drops trailing zeros like Go's RFC 3339 nano form", "[notify][payload]") {
  CHECK(goTime(kT0) == "2026-11-25T18:00:00Z");
  CHECK(goTime(kT0 + 100) == "2026-11-25T18:00:00.1Z");
  CHECK(goTime(kT0 + 120) == "2026-11-25T18:00:00.12Z");
  CHECK(goTime(kT0 + 123) == "2026-11-25T18:00:00.123Z");
  CHECK(goTime(kT0 + 2500) == "2026-11-25T18:00:02.5Z");
  CHECK(goTime(0) == "0001-01-01T00:00:00Z");
}

TEST_CASE("slack payload: attachment with title, colour and one line per alert",
          "[notify][payload]") {
  Message m = sample();
  json j = json::parse(renderSlack(m));
  REQUIRE(j["attachments"].size() == 1);
  const json& a = j["attachments"][0];
  CHECK(a["color"] == "danger");
  CHECK(a["title"] == "[FIRING:1] RedundancyLost devschool (page)");
  CHECK(a["title_link"] == "http://vigil.example:9469");
  CHECK(a["fallback"] == "[FIRING:1] RedundancyLost devschool (page) | http://vigil.example:9469");
  CHECK(a["text"] ==
        "*resolved* web-01 gone\n"
        "*firing* web-02 left the rotation &lt;b&gt;&amp;&lt;/b&gt; — 1 of 2 servers in rotation "
        "(<https://runbooks.example/redundancy|runbook>)");
  for (Alert& al : m.alerts) al.resolved = true;
  j = json::parse(renderSlack(m));
  CHECK(j["attachments"][0]["color"] == "good");
  CHECK(j["attachments"][0]["title"] == "[RESOLVED] RedundancyLost devschool (page)");
}

TEST_CASE("pagerduty payload: Events API v2 trigger and resolve", "[notify][payload]") {
  Message m = sample();
  json j = json::parse(renderPagerDuty(m, ""));
  CHECK_FALSE(j.contains("routing_key"));
  CHECK(j["event_action"] == "trigger");
  CHECK(j["dedup_key"] == m.groupKey);
  CHECK(j["client"] == "vigil");
  CHECK(j["client_url"] == "http://vigil.example:9469");
  const json& p = j["payload"];
  CHECK(p["summary"] == "[FIRING:1] RedundancyLost devschool (page)");
  CHECK(p["severity"] == "critical");
  CHECK(p["source"] == "devschool");
  CHECK(p["class"] == "RedundancyLost");
  CHECK(p["group"] == "devschool");
  CHECK(p["custom_details"]["num_firing"] == 1);
  CHECK(p["custom_details"]["num_resolved"] == 1);
  CHECK(p["custom_details"]["firing"] == "web-02 left the rotation <b>&</b>\n");

  j = json::parse(renderPagerDuty(m, "R0UT1NGKEY"));
  CHECK(j["routing_key"] == "R0UT1NGKEY");

  for (Alert& a : m.alerts) a.resolved = true;
  j = json::parse(renderPagerDuty(m, ""));
  CHECK(j["event_action"] == "resolve");
  CHECK(j["dedup_key"] == m.groupKey);
  CHECK_FALSE(j.contains("payload"));
}

TEST_CASE("pagerduty severity comes from the severity label", "[notify][payload]") {
  auto [label, sev] = GENERATE(table<std::string, std::string>({
      {"page", "critical"},
      {"critical", "critical"},
      {"error", "error"},
      {"ticket", "warning"},
      {"warning", "warning"},
      {"info", "info"},
      {"", "error"},
      {"whatever", "error"},
  }));
  CAPTURE(label);
  CHECK(pagerDutySeverity(label) == sev);
  Message m;
  m.groupKey = "{}:{}";
  Labels l{{"alertname", "X"}};
  if (!label.empty()) l.push_back({"severity", label});
  m.alerts = {firing(l, kT0)};
  CHECK(json::parse(renderPagerDuty(m, ""))["payload"]["severity"] == sev);
}

TEST_CASE("pagerduty: the most severe firing alert decides; long keys are cut",
          "[notify][payload]") {
  Message m;
  m.groupKey = "{}:{alertname=\"" + std::string(400, 'x') + "\"}";
  m.alerts = {firing({{"alertname", "X"}, {"severity", "info"}}, kT0),
              firing({{"alertname", "X"}, {"severity", "ticket"}, {"z", "1"}}, kT0)};
  json j = json::parse(renderPagerDuty(m, ""));
  CHECK(j["payload"]["severity"] == "warning");
  std::string key = j["dedup_key"];
  CHECK(key.size() == 255);
  Message other = m;
  other.groupKey = m.groupKey + "y";
  CHECK(json::parse(renderPagerDuty(other, ""))["dedup_key"] != key);
}

TEST_CASE("console payload is readable text", "[notify][payload]") {
  Rendered r = render(Format::kConsole, sample());
  CHECK(r.contentType == "text/plain; charset=utf-8");
  CHECK(r.body ==
        "[FIRING:1] RedundancyLost devschool (page) receiver=oncall "
        "group={alertname=\"RedundancyLost\", pool=\"devschool\"}\n"
        "  resolved {alertname=\"RedundancyLost\", pool=\"devschool\", severity=\"page\", "
        "target=\"web-01\"} resolved at 2026-11-25T18:01:01Z: web-01 gone\n"
        "  firing   {alertname=\"RedundancyLost\", pool=\"devschool\", severity=\"page\", "
        "target=\"web-02\"} since 2026-11-25T18:00:00.12Z: web-02 left the rotation <b>&</b>\n");
}

TEST_CASE("formats parse by name", "[notify][payload]") {
  for (Format f : {Format::kAlertmanager, Format::kSlack, Format::kPagerDuty, Format::kConsole}) {
    CHECK(parseFormat(toString(f)) == f);
  }
  CHECK_FALSE(parseFormat("teams").has_value());
}
