#include "exporters/notify/alertmanager_push.h"
#include "exporters/notify/rule_alerts.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "test/support/test_http_server.h"
#include "test/unit/deliver/metric_value.h"
#include "test/unit/deliver/recording_sink.h"

using vigil::ManualClock;
using vigil::notify::AlertmanagerPush;
using vigil::notify::PushAlert;
using vigil::testing::metricValue;
using vigil::testing::RecordingSink;

namespace {

PushAlert alert(const std::string& name, const std::string& target) {
  PushAlert a;
  a.labels = {{"alertname", name}, {"target", target}};
  a.annotations = {{"summary", target + " is down"}};
  a.startsAt = 1'700'000'000'000;
  a.endsAt = 1'700'000'240'000;
  a.generatorURL = "http://vigil:9469/graph?g0.expr=up&g0.tab=1";
  return a;
}

// Waits (bounded) until the counter reaches `want`.
bool waitCounter(const vigil::series::SeriesStore& s, const std::string& name,
                 const std::vector<std::pair<std::string, std::string>>& labels, double want) {
  for (int i = 0; i < 500; ++i) {
    if (metricValue(s, name, labels).value_or(-1) >= want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

TEST_CASE("generatorURL escapes the expression like Go's url.QueryEscape") {
  CHECK(vigil::notify::generatorURL("http://h:9469", "rate(x{a=\"b c\"}[5m]) > 0") ==
        "http://h:9469/graph?g0.expr=rate%28x%7Ba%3D%22b+c%22%7D%5B5m%5D%29+%3E+0&g0.tab=1");
  CHECK(vigil::notify::generatorURL("http://h:9469/", "a-b_c.d~e/f") ==
        "http://h:9469/graph?g0.expr=a-b_c.d~e%2Ff&g0.tab=1");
  CHECK(vigil::notify::generatorURL("http://h:9469", "up == 0") ==
        "http://h:9469/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
}

TEST_CASE("a rule's alert becomes Prometheus' notifier alert") {
  vigil::rules::Alert a;
  a.labels = {{"alertname", "TargetDown"}, {"target", "web-01"}};
  a.annotations = {{"summary", "web-01 is down"}};
  a.state = vigil::rules::AlertState::kFiring;
  a.activeAt = 1000;
  a.firedAt = 2000;
  a.validUntil = 242'000;
  SECTION("firing: endsAt is validUntil, in the future") {
    const PushAlert p = vigil::notify::toPushAlert(a, "probe_success == 0", "http://h:9469");
    CHECK(p.startsAt == 2000);
    CHECK(p.endsAt == 242'000);
    CHECK(p.labels == a.labels);
    CHECK(p.annotations == a.annotations);
    CHECK(p.generatorURL == "http://h:9469/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1");
  }
  SECTION("resolved: endsAt is the resolve time") {
    a.state = vigil::rules::AlertState::kInactive;
    a.resolvedAt = 50'000;
    CHECK(vigil::notify::toPushAlert(a, "x", "").endsAt == 50'000);
  }
}

TEST_CASE("the /api/v2/alerts body is Alertmanager's postable alerts") {
  const auto j = nlohmann::json::parse(vigil::notify::alertsBody({alert("A", "t1")}));
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 1);
  CHECK(j[0]["labels"] == nlohmann::json{{"alertname", "A"}, {"target", "t1"}});
  CHECK(j[0]["annotations"] == nlohmann::json{{"summary", "t1 is down"}});
  CHECK(j[0]["startsAt"] == "2023-11-14T22:13:20.000Z");
  CHECK(j[0]["endsAt"] == "2023-11-14T22:17:20.000Z");
  CHECK(j[0]["generatorURL"] == "http://vigil:9469/graph?g0.expr=up&g0.tab=1");
}

TEST_CASE("endpoint and credential redaction") {
  CHECK(vigil::notify::alertsEndpoint("http://am:9093") == "http://am:9093/api/v2/alerts");
  CHECK(vigil::notify::alertsEndpoint("http://am:9093/") == "http://am:9093/api/v2/alerts");
  CHECK(vigil::notify::alertsEndpoint("http://h/prefix") == "http://h/prefix/api/v2/alerts");
  CHECK(vigil::notify::redactUserinfo("http://u:secret@am:9093/api/v2/alerts") ==
        "http://am:9093/api/v2/alerts");
  CHECK(vigil::notify::redactUserinfo("http://am:9093/a@b") == "http://am:9093/a@b");
}

TEST_CASE("alerts go to every Alertmanager, with external labels added") {
  RecordingSink am1;
  RecordingSink am2;
  ManualClock clock;
  vigil::series::SeriesStore metrics;
  AlertmanagerPush push(&metrics, clock);
  push.configure({am1.url(""), am2.url("/")}, {{"env", "prod"}, {"target", "ignored"}});
  push.start();
  push.send({alert("A", "t1"), alert("B", "t2")});
  REQUIRE(am1.waitForRequests(1));
  REQUIRE(am2.waitForRequests(1));
  REQUIRE(waitCounter(metrics, "vigil_alertmanager_notifications_total",
                      {{"alertmanager", am2.url("/api/v2/alerts")}}, 2));
  push.stop();
  for (const auto* sink : {&am1, &am2}) {
    const auto reqs = sink->requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].method == "POST");
    CHECK(reqs[0].path == "/api/v2/alerts");
    CHECK(reqs[0].header("content-type") == "application/json");
    const auto j = nlohmann::json::parse(reqs[0].body);
    REQUIRE(j.size() == 2);
    CHECK(j[0]["labels"]["env"] == "prod");
    CHECK(j[0]["labels"]["target"] == "t1");  // the alert's own label wins
    CHECK(j[1]["labels"]["alertname"] == "B");
  }
  CHECK(metricValue(metrics, "vigil_alertmanager_notifications_total",
                    {{"alertmanager", am1.url("/api/v2/alerts")}}) == 2.0);
  CHECK(metricValue(metrics, "vigil_alertmanager_notification_errors_total",
                    {{"alertmanager", am1.url("/api/v2/alerts")}}) == 0.0);
  CHECK(metricValue(metrics, "vigil_alertmanager_notifications_dropped_total", {}) == 0.0);
  CHECK(push.dropped() == 0);
}

TEST_CASE("one Alertmanager down counts errors for it only; all down drops the batch") {
  RecordingSink up;
  const std::string down = "http://127.0.0.1:" + std::to_string(vigil::testing::closedPort());
  ManualClock clock;
  vigil::series::SeriesStore metrics;
  AlertmanagerPush push(&metrics, clock);
  push.configure({up.url(""), down}, {});
  push.start();
  push.send({alert("A", "t1")});
  REQUIRE(waitCounter(metrics, "vigil_alertmanager_notification_errors_total",
                      {{"alertmanager", down + "/api/v2/alerts"}}, 1));
  CHECK(metricValue(metrics, "vigil_alertmanager_notifications_total",
                    {{"alertmanager", up.url("/api/v2/alerts")}}) == 1.0);
  CHECK(push.dropped() == 0);

  up.setDefault(500, "boom");
  push.send({alert("A", "t1"), alert("B", "t2")});
  REQUIRE(waitCounter(metrics, "vigil_alertmanager_notifications_dropped_total", {}, 2));
  push.stop();
  CHECK(push.dropped() == 2);
  CHECK(metricValue(metrics, "vigil_alertmanager_notification_errors_total",
                    {{"alertmanager", up.url("/api/v2/alerts")}}) == 2.0);
}

TEST_CASE("the queue is bounded: the oldest alerts are dropped and counted") {
  RecordingSink am;
  ManualClock clock;
  vigil::series::SeriesStore metrics;
  AlertmanagerPush push(&metrics, clock, AlertmanagerPush::Options{3, 64, std::chrono::seconds(10)});
  push.configure({am.url("")}, {});
  push.send({alert("A", "1"), alert("A", "2")});
  push.send({alert("A", "3"), alert("A", "4"), alert("A", "5")});
  CHECK(push.queueLength() == 3);
  CHECK(push.dropped() == 2);
  CHECK(metricValue(metrics, "vigil_alertmanager_notification_queue_length", {}) == 3.0);
  CHECK(metricValue(metrics, "vigil_alertmanager_notification_queue_capacity", {}) == 3.0);
  push.send({alert("A", "6"), alert("A", "7"), alert("A", "8"), alert("A", "9")});
  CHECK(push.dropped() == 6);
  push.start();
  REQUIRE(am.waitForRequests(1));
  push.stop();
  const auto j = nlohmann::json::parse(am.requests()[0].body);
  REQUIRE(j.size() == 3);
  CHECK(j[0]["labels"]["target"] == "7");
  CHECK(j[2]["labels"]["target"] == "9");
  CHECK(metricValue(metrics, "vigil_alertmanager_notifications_dropped_total", {}) == 6.0);
}

TEST_CASE("alerts are sent in batches of at most maxBatch") {
  RecordingSink am;
  ManualClock clock;
  AlertmanagerPush push(nullptr, clock, AlertmanagerPush::Options{100, 2, std::chrono::seconds(10)});
  push.configure({am.url("")}, {});
  push.send({alert("A", "1"), alert("A", "2"), alert("A", "3"), alert("A", "4"), alert("A", "5")});
  push.start();
  REQUIRE(am.waitForRequests(3));
  push.stop();
  const auto reqs = am.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(nlohmann::json::parse(reqs[0].body).size() == 2);
  CHECK(nlohmann::json::parse(reqs[1].body).size() == 2);
  CHECK(nlohmann::json::parse(reqs[2].body).size() == 1);
  CHECK(nlohmann::json::parse(reqs[2].body)[0]["labels"]["target"] == "5");
}

TEST_CASE("without Alertmanagers nothing is queued") {
  ManualClock clock;
  AlertmanagerPush push(nullptr, clock);
  push.send({alert("A", "1")});
  CHECK(push.queueLength() == 0);
  CHECK(push.dropped() == 0);
}
