#include <catch2/catch.hpp>

#include <cmath>
#include <optional>

#include "agent/rules/alerting.h"
#include "agent/rules/promql/storage.h"

using namespace vigil;
using namespace vigil::rules;

namespace {

constexpr int64_t kMin = 60'000;

RuleGroup loadGroup(const std::string& yaml) {
  auto f = parseRuleFile(yaml, "test.yml");
  REQUIRE(f.ok());
  REQUIRE(f->groups.size() == 1);
  return RuleGroup(f->groups[0], {{"cluster", "c1"}}, "http://vigil");
}

/// A world in virtual time: the caller sets the value of `x{inst="a"}` at each step, then
/// evaluates the group; outputs are written back like the agent's store would.
struct World {
  promql::MemoryStorage store;
  GroupEvalResult step(RuleGroup& g, TimestampMs t, std::optional<double> x) {
    if (x) store.append({{"__name__", "x"}, {"inst", "a"}}, t, *x);
    auto r = g.eval(t, store);
    for (const auto& s : r.samples) store.append(s.labels, s.t, s.v);
    return r;
  }
};

const Alert* only(const AlertingRule& r) {
  auto a = r.activeAlerts();
  if (a.size() != 1) return nullptr;
  static Alert copy;
  copy = a[0];
  return &copy;
}

}  // namespace

TEST_CASE("alert goes inactive -> pending -> firing -> resolved and is retained 15m",
          "[rules][alerting]") {
  auto g = loadGroup(R"(groups:
  - name: g
    rules:
      - alert: High
        expr: x > 5
        for: 2m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.inst }} at {{ $value }} in {{ $externalLabels.cluster }}"}
)");
  World w;
  auto& rule = g.alertingRules()[0];
  w.step(g, 0, 1);
  CHECK(rule.activeAlerts().empty());

  auto r = w.step(g, 1 * kMin, 10);
  const Alert* a = only(rule);
  REQUIRE(a);
  CHECK(a->state == AlertState::kPending);
  CHECK(a->activeAt == 1 * kMin);
  CHECK(a->annotations[0].second == "a at 10 in c1");
  CHECK(toString(a->labels) == toString(Labels{{"alertname", "High"}, {"inst", "a"}, {"severity", "page"}}));
  REQUIRE(r.samples.size() == 2);
  CHECK(get(r.samples[0].labels, "alertstate") == "pending");
  CHECK(get(r.samples[1].labels, "__name__") == "ALERTS_FOR_STATE");
  CHECK(r.samples[1].v == 60);

  w.step(g, 2 * kMin, 11);
  CHECK(only(rule)->state == AlertState::kPending);
  r = w.step(g, 3 * kMin, 12);
  a = only(rule);
  CHECK(a->state == AlertState::kFiring);
  CHECK(a->firedAt == 3 * kMin);
  CHECK(a->value == 12);
  CHECK(get(r.samples[0].labels, "alertstate") == "firing");

  // Resolution: the pending/firing ALERTS series get stale markers.
  r = w.step(g, 4 * kMin, 0);
  a = only(rule);
  REQUIRE(a);
  CHECK(a->state == AlertState::kInactive);
  CHECK(a->resolvedAt == 4 * kMin);
  int stale = 0;
  for (const auto& s : r.samples) stale += promql::isStaleNaN(s.v);
  CHECK(stale == 2);

  // Kept for 15 minutes after resolution, then dropped.
  for (int m = 5; m <= 19; ++m) w.step(g, m * kMin, 0);
  CHECK(rule.activeAlerts().size() == 1);
  w.step(g, 20 * kMin, 0);
  CHECK(rule.activeAlerts().empty());
}

TEST_CASE("a pending alert is dropped when the condition clears", "[rules][alerting]") {
  auto g = loadGroup(R"(groups:
  - name: g
    rules:
      - alert: High
        expr: x > 5
        for: 5m
)");
  World w;
  w.step(g, 0, 10);
  CHECK(only(g.alertingRules()[0])->state == AlertState::kPending);
  w.step(g, kMin, 0);
  CHECK(g.alertingRules()[0].activeAlerts().empty());
  w.step(g, 2 * kMin, 10);
  CHECK(only(g.alertingRules()[0])->activeAt == 2 * kMin);
}

TEST_CASE("keep_firing_for holds a firing alert", "[rules][alerting]") {
  auto g = loadGroup(R"(groups:
  - name: g
    rules:
      - alert: Flap
        expr: x > 5
        keep_firing_for: 2m
)");
  World w;
  w.step(g, 0, 10);
  CHECK(only(g.alertingRules()[0])->state == AlertState::kFiring);  // for: 0 fires at once
  w.step(g, 1 * kMin, 0);
  CHECK(only(g.alertingRules()[0])->state == AlertState::kFiring);
  CHECK(only(g.alertingRules()[0])->keepFiringSince == 1 * kMin);
  w.step(g, 2 * kMin, 0);
  CHECK(only(g.alertingRules()[0])->state == AlertState::kFiring);
  w.step(g, 3 * kMin, 0);
  CHECK(only(g.alertingRules()[0])->state == AlertState::kInactive);
  CHECK(only(g.alertingRules()[0])->resolvedAt == 3 * kMin);
}

TEST_CASE("recording rules feed later rules in the same evaluation; failures are isolated",
          "[rules][alerting]") {
  auto g = loadGroup(R"(groups:
  - name: g
    rules:
      - record: x:doubled
        expr: x * 2
      - record: broken
        expr: x + on() group_left {__name__=~"x.*"}
      - alert: DoubledHigh
        expr: x:doubled > 10
)");
  World w;
  auto r = w.step(g, 0, 6);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].first == "broken");
  CHECK_FALSE(g.lastErrors()[1].empty());
  REQUIRE(g.alertingRules()[0].activeAlerts().size() == 1);
  CHECK(g.alertingRules()[0].activeAlerts()[0].value == 12);
  bool recorded = false;
  for (const auto& s : r.samples) recorded = recorded || get(s.labels, "__name__") == "x:doubled";
  CHECK(recorded);
}

TEST_CASE("duplicate alert label sets are an evaluation error", "[rules][alerting]") {
  auto g = loadGroup(R"(groups:
  - name: g
    rules:
      - alert: Dup
        expr: x > 0 or label_free_y > 0
        labels: {inst: same}
)");
  World w;
  w.store.append({{"__name__", "label_free_y"}, {"inst", "b"}}, 0, 1);
  auto r = w.step(g, 0, 1);
  REQUIRE(r.failures.size() == 1);
  CHECK(r.failures[0].second.message ==
        "vector contains metrics with the same labelset after applying alert labels");
}

TEST_CASE("alert states have names", "[rules][alerting]") {
  CHECK(std::string(toString(AlertState::kInactive)) == "inactive");
  CHECK(std::string(toString(AlertState::kPending)) == "pending");
  CHECK(std::string(toString(AlertState::kFiring)) == "firing");
}

TEST_CASE("loadRuleGroups builds groups from files", "[rules][alerting]") {
  auto g = loadRuleGroups({"/nonexistent.yml"});
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().file == "/nonexistent.yml");
  auto ok = loadRuleGroups({});
  REQUIRE(ok.ok());
  CHECK(ok->empty());
}

TEST_CASE("alertsToSend follows Prometheus' resend rules", "[rules][alerting]") {
  auto g = loadGroup(R"(groups:
  - name: g
    rules:
      - alert: High
        expr: x > 5
        for: 1m
)");
  World w;
  auto& rule = g.alertingRules()[0];
  constexpr int64_t kResend = 60'000;
  w.step(g, 0, 10);
  CHECK(rule.alertsToSend(0, kResend, kMin).empty());  // pending: never sent
  w.step(g, kMin, 10);
  auto sent = rule.alertsToSend(kMin, kResend, kMin);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].state == AlertState::kFiring);
  CHECK(sent[0].validUntil == kMin + 4 * kMin);
  CHECK(rule.alertsToSend(kMin + 30'000, kResend, kMin).empty());  // within resend delay
  CHECK(rule.alertsToSend(2 * kMin + 1, kResend, kMin).size() == 1);
  w.step(g, 3 * kMin, 0);  // resolved: sent once more at once
  REQUIRE(rule.activeAlerts().size() == 1);
  INFO("state " << toString(rule.activeAlerts()[0].state) << " resolvedAt "
                << rule.activeAlerts()[0].resolvedAt << " lastSentAt "
                << rule.activeAlerts()[0].lastSentAt);
  sent = rule.alertsToSend(3 * kMin, kResend, kMin);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].state == AlertState::kInactive);
  CHECK(sent[0].resolvedAt == 3 * kMin);
}
