#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "agent/app/pool_recorder.h"
#include "exporters/metrics/self_metrics.h"

using vigil::FailureReason;
using vigil::Labels;
using vigil::ProbeResult;
using vigil::ProbeSample;
using namespace vigil::series;

namespace {

// What a scrape would show: every exported line "name{labels} value" of the store.
std::map<std::string, double> scrape(const SeriesStore& store) {
  std::map<std::string, double> out;
  store.visitSeries("", [&](const SeriesStore::SeriesView& v) {
    const Sample* s = v.latest();
    if (s != nullptr && !isStaleNaN(s->v)) out[vigil::toString(v.labels())] = s->v;
  });
  return out;
}

// What lbSamples() gives for a pool whose web-02 is in `state02`.
ProbeResult lbResult(const std::string& state02, double sessions01) {
  ProbeResult r;
  r.reason = FailureReason::kNone;
  r.durationSeconds = 0.002;
  const bool in02 = state02 == "UP";
  r.samples = {
      {"vigil_pool_members_in_rotation", {}, in02 ? 2.0 : 1.0},
      {"vigil_pool_member_in_rotation", {{"lb_state", "UP"}, {"target", "web-01"}}, 1},
      {"vigil_lb_sessions_total", {{"target", "web-01"}}, sessions01},
      {"vigil_lb_http_responses_total", {{"code", "5xx"}, {"target", "web-01"}}, 3},
      {"vigil_pool_member_in_rotation", {{"lb_state", state02}, {"target", "web-02"}},
       in02 ? 1.0 : 0.0},
      {"vigil_pool_unknown_servers", {}, 0},
  };
  return r;
}

ProbeResult failed() {
  ProbeResult r;
  r.reason = FailureReason::kRefused;
  r.error = "Failed to connect";
  r.durationSeconds = 0.001;
  return r;
}

const std::string kUp01 =
    "vigil_pool_member_in_rotation{lb_state=\"UP\", pool=\"devschool\", role=\"primary\", "
    "target=\"web-01\"}";
const std::string kUp02 =
    "vigil_pool_member_in_rotation{lb_state=\"UP\", pool=\"devschool\", target=\"web-02\"}";
const std::string kMaint02 =
    "vigil_pool_member_in_rotation{lb_state=\"MAINT\", pool=\"devschool\", target=\"web-02\"}";
const std::string kInRotation = "vigil_pool_members_in_rotation{pool=\"devschool\"}";
const std::string kSessions01 =
    "vigil_lb_sessions_total{pool=\"devschool\", role=\"primary\", target=\"web-01\"}";
const std::string kLbSuccess = "probe_success{pool=\"devschool\", probe=\"lb\"}";

struct Fixture {
  SeriesStore store;
  vigil::ProbeCounters counters{store, 0};
  vigil::PoolRecorder rec{store, counters, "devschool"};
  Fixture() {
    vigil::metrics::describeAll(store);
    rec.configure(2, 2, {{"web-01", Labels{{"role", "primary"}}}, {"web-02", Labels{}}});
  }
};

}  // namespace

TEST_CASE("a load-balancer result becomes the pool's series with pool and target labels") {
  Fixture f;
  f.rec.recordConfig(1000);
  f.rec.record(lbResult("UP", 10), 1000);
  auto m = scrape(f.store);
  CHECK(m.at("vigil_pool_members{pool=\"devschool\"}") == 2);
  CHECK(m.at("vigil_pool_min_in_rotation{pool=\"devschool\"}") == 2);
  CHECK(m.at(kInRotation) == 2);
  CHECK(m.at(kUp01) == 1);
  CHECK(m.at(kUp02) == 1);
  CHECK(m.at(kSessions01) == 10);
  CHECK(m.at("vigil_lb_http_responses_total{code=\"5xx\", pool=\"devschool\", role=\"primary\", "
             "target=\"web-01\"}") == 3);
  CHECK(m.at("vigil_pool_unknown_servers{pool=\"devschool\"}") == 0);
  // the LB probe's own series: pool and probe, no target
  CHECK(m.at(kLbSuccess) == 1);
  CHECK(m.at("probe_duration_seconds{pool=\"devschool\", probe=\"lb\"}") == 0.002);
  CHECK(f.counters.value("lb", FailureReason::kNone) == 1);
}

TEST_CASE("a member changing state replaces its series: the old lb_state goes stale") {
  Fixture f;
  f.rec.record(lbResult("UP", 10), 1000);
  f.rec.record(lbResult("MAINT", 12), 2000);
  auto m = scrape(f.store);
  CHECK_FALSE(m.contains(kUp02));
  CHECK(m.at(kMaint02) == 0);
  CHECK(m.at(kInRotation) == 1);
  CHECK(m.at(kSessions01) == 12);
  // exactly one series per member, whatever its history
  int web02 = 0;
  for (const auto& [k, v] : m) {
    if (k.find("target=\"web-02\"") != std::string::npos) ++web02;
  }
  CHECK(web02 == 1);
  f.rec.record(lbResult("UP", 14), 3000);
  m = scrape(f.store);
  CHECK_FALSE(m.contains(kMaint02));
  CHECK(m.at(kUp02) == 1);
}

TEST_CASE("a failed stats fetch keeps the last view until it is older than the lookback") {
  Fixture f;
  f.rec.record(lbResult("MAINT", 10), 1000);
  f.rec.record(failed(), 2000);
  auto m = scrape(f.store);
  CHECK(m.at(kLbSuccess) == 0);
  CHECK(f.counters.value("lb", FailureReason::kRefused) == 1);
  // not zeros: RedundancyLost keeps seeing 1 in rotation through a blip
  CHECK(m.at(kInRotation) == 1);
  CHECK(m.at(kMaint02) == 0);
  CHECK(m.at(kSessions01) == 10);

  const int64_t lookback = vigil::kLbStaleAfter.count();
  f.rec.record(failed(), 1000 + lookback - 1);
  CHECK(scrape(f.store).contains(kInRotation));
  f.rec.record(failed(), 1000 + lookback);
  m = scrape(f.store);
  CHECK_FALSE(m.contains(kInRotation));
  CHECK_FALSE(m.contains(kMaint02));
  CHECK_FALSE(m.contains(kSessions01));
  // what the config says stays, and so does the probe's own outcome
  f.rec.recordConfig(1000 + lookback);
  m = scrape(f.store);
  CHECK(m.at("vigil_pool_min_in_rotation{pool=\"devschool\"}") == 2);
  CHECK(m.at(kLbSuccess) == 0);

  // readable again: the view is back
  f.rec.record(lbResult("UP", 20), 2000 + lookback);
  m = scrape(f.store);
  CHECK(m.at(kLbSuccess) == 1);
  CHECK(m.at(kInRotation) == 2);
  CHECK(m.at(kSessions01) == 20);
}

TEST_CASE("a reload that changes a member's labels moves its series to the new labels") {
  Fixture f;
  f.rec.record(lbResult("UP", 10), 1000);
  REQUIRE(scrape(f.store).contains(kSessions01));
  f.rec.configure(2, 2, {{"web-01", Labels{{"role", "spare"}}}, {"web-02", Labels{}}});
  f.rec.record(lbResult("UP", 11), 2000);
  auto m = scrape(f.store);
  CHECK_FALSE(m.contains(kSessions01));
  CHECK(m.at("vigil_lb_sessions_total{pool=\"devschool\", role=\"spare\", target=\"web-01\"}") ==
        11);
}

TEST_CASE("destroying the recorder (pool removed by a reload) removes every pool series") {
  SeriesStore store;
  vigil::ProbeCounters counters{store, 0};
  {
    vigil::PoolRecorder rec{store, counters, "devschool"};
    rec.configure(2, 2, {});
    rec.recordConfig(1000);
    rec.record(lbResult("UP", 10), 1000);
    REQUIRE(scrape(store).contains(kInRotation));
  }
  auto m = scrape(store);
  for (const auto& [k, v] : m) CHECK(k.find("devschool") == std::string::npos);
}
