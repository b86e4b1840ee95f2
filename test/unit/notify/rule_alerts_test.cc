#include <catch2/catch.hpp>

#include "exporters/notify/rule_alerts.h"
#include "notify_test_util.h"

using namespace vigil;
using namespace vigil::notify;
using namespace vigil::notify::test;

TEST_CASE("rule alerts become notifier alerts as Prometheus sends them", "[notify][rules]") {
  rules::Alert pending;
  pending.state = rules::AlertState::kPending;
  pending.labels = {{"alertname", "P"}};
  rules::Alert fire;
  fire.state = rules::AlertState::kFiring;
  fire.labels = {{"alertname", "F"}, {"env", "staging"}};
  fire.annotations = {{"summary", "s"}};
  fire.activeAt = kT0 - kMin;
  fire.firedAt = kT0;
  fire.validUntil = kT0 + 4 * kMin;
  rules::Alert gone;
  gone.state = rules::AlertState::kInactive;
  gone.labels = {{"alertname", "G"}};
  gone.firedAt = kT0;
  gone.resolvedAt = kT0 + kMin;
  rules::Alert never;  // inactive, never resolved: nothing to say
  never.state = rules::AlertState::kInactive;
  never.labels = {{"alertname", "N"}};

  auto out = fromRuleAlerts({pending, fire, gone, never}, {{"env", "prod"}, {"region", "eu"}},
                            "http://vigil:9469/graph?g0.expr=x&g0.tab=1");
  REQUIRE(out.size() == 2);
  // The alert's own env wins over the external label; region is added.
  CHECK(out[0].labels == Labels{{"alertname", "F"}, {"env", "staging"}, {"region", "eu"}});
  CHECK(out[0].annotations == Annotations{{"summary", "s"}});
  CHECK(out[0].startsAt == kT0);
  CHECK_FALSE(out[0].resolved);
  CHECK(out[0].generatorURL == "http://vigil:9469/graph?g0.expr=x&g0.tab=1");
  CHECK(out[1].labels == Labels{{"alertname", "G"}, {"env", "prod"}, {"region", "eu"}});
  CHECK(out[1].resolved);
  CHECK(out[1].endsAt == kT0 + kMin);
}

TEST_CASE("generator URLs escape the expression as Go's url.QueryEscape", "[notify][rules]") {
  CHECK(generatorURL("http://vigil:9469", "vigil_pool_members_in_rotation < 2") ==
        "http://vigil:9469/graph?g0.expr=vigil_pool_members_in_rotation+%3C+2&g0.tab=1");
  CHECK(generatorURL("http://vigil:9469/", R"(rate(x{code=~"5.."}[5m]) > 0.1)") ==
        "http://vigil:9469/graph?g0.expr=rate%28x%7Bcode%3D~%225..%22%7D%5B5m%5D%29+%3E+0.1"
        "&g0.tab=1");
  CHECK(generatorURL("", "up") == "");
}
