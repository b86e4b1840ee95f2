#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "agent/app/recorder.h"
#include "exporters/metrics/self_metrics.h"
#include "exporters/metrics/store_collectable.h"

using vigil::FailureReason;
using vigil::Labels;
using vigil::ProbeResult;
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

ProbeResult result(FailureReason reason, int status) {
  ProbeResult r;
  r.reason = reason;
  r.durationSeconds = 0.25;
  r.samples.push_back({"probe_http_status_code", {}, static_cast<double>(status)});
  r.samples.push_back({"probe_http_duration_seconds", {{"phase", "connect"}}, 0.01});
  return r;
}

vigil::config::Target target() {
  vigil::config::Target t;
  t.name = "web-01";
  t.pool = "devschool";
  t.labels = Labels{{"role", "primary"}};
  return t;
}

}  // namespace

TEST_CASE("a probe result becomes blackbox-style series with the target's labels") {
  SeriesStore store;
  vigil::metrics::describeAll(store);
  vigil::ProbeCounters counters(store, 0);
  auto t = target();
  vigil::CheckRecorder rec(store, counters, t, "http", "http://web-01/");
  rec.record(result(FailureReason::kNone, 200), 1000);
  auto m = scrape(store);
  const std::string base = "pool=\"devschool\", role=\"primary\", target=\"web-01\", url=\"http://web-01/\"";
  REQUIRE(m.at("probe_success{pool=\"devschool\", probe=\"http\", role=\"primary\", target=\"web-01\", url=\"http://web-01/\"}") == 1);
  REQUIRE(m.at("probe_duration_seconds{pool=\"devschool\", probe=\"http\", role=\"primary\", target=\"web-01\", url=\"http://web-01/\"}") == 0.25);
  REQUIRE(m.at("probe_http_status_code{" + base + "}") == 200);
  REQUIRE(m.at("probe_http_duration_seconds{phase=\"connect\", " + base + "}") == 0.01);
  REQUIRE(m.at("vigil_http_responses_total{code=\"200\", " + base + "}") == 1);
  REQUIRE(m.at("vigil_http_request_duration_seconds_count{" + base + "}") == 1);
  REQUIRE(m.at("vigil_http_request_duration_seconds_bucket{le=\"0.25\", " + base + "}") == 1);
  REQUIRE(m.at("vigil_http_request_duration_seconds_bucket{le=\"0.1\", " + base + "}") == 0);
  REQUIRE(m.at("vigil_probes_total{probe=\"http\", result=\"success\"}") == 1);
  REQUIRE(m.at("vigil_probes_total{probe=\"http\", result=\"timeout\"}") == 0);
}

TEST_CASE("failures count by reason and by response code, 'error' when none arrived") {
  SeriesStore store;
  vigil::ProbeCounters counters(store, 0);
  auto t = target();
  vigil::CheckRecorder rec(store, counters, t, "http", "http://web-01/");
  rec.record(result(FailureReason::kStatus, 500), 1000);
  rec.record(result(FailureReason::kStatus, 500), 2000);
  rec.record(result(FailureReason::kTimeout, 0), 3000);
  auto m = scrape(store);
  const std::string base = "pool=\"devschool\", role=\"primary\", target=\"web-01\", url=\"http://web-01/\"";
  REQUIRE(m.at("vigil_http_responses_total{code=\"500\", " + base + "}") == 2);
  REQUIRE(m.at("vigil_http_responses_total{code=\"error\", " + base + "}") == 1);
  REQUIRE(m.at("vigil_probes_total{probe=\"http\", result=\"status\"}") == 2);
  REQUIRE(m.at("vigil_probes_total{probe=\"http\", result=\"timeout\"}") == 1);
  REQUIRE(m.at("probe_success{pool=\"devschool\", probe=\"http\", role=\"primary\", target=\"web-01\", url=\"http://web-01/\"}") == 0);
  REQUIRE(counters.value("http", FailureReason::kStatus) == 2);
}

TEST_CASE("a new response code starts from an explicit zero so rate() sees the first one") {
  SeriesStore store(SeriesStore::Options{vigil::Duration{60'000}, 64});
  vigil::ProbeCounters counters(store, 0);
  auto t = target();
  vigil::CheckRecorder rec(store, counters, t, "http", "http://web-01/");
  rec.record(result(FailureReason::kStatus, 500), 5000);
  std::vector<Sample> samples;
  store.visitSeries("vigil_http_responses_total", [&](const SeriesStore::SeriesView& v) {
    v.forEachSample([&](const Sample& s) { samples.push_back(s); });
  });
  REQUIRE(samples.size() == 2);
  REQUIRE(samples[0].t == 4999);
  REQUIRE(samples[0].v == 0);
  REQUIRE(samples[1].v == 1);
}

TEST_CASE("destroying a recorder (target removed) removes its series from /metrics") {
  SeriesStore store;
  vigil::metrics::describeAll(store);
  vigil::ProbeCounters counters(store, 0);
  auto t = target();
  {
    vigil::CheckRecorder rec(store, counters, t, "http", "http://web-01/");
    rec.record(result(FailureReason::kNone, 200), 1000);
    REQUIRE(vigil::metrics::renderMetrics(store).find("web-01") != std::string::npos);
  }
  store.compact(2'000'000'000'000);
  REQUIRE(vigil::metrics::renderMetrics(store).find("web-01") == std::string::npos);
}

TEST_CASE("memory results carry probe=\"memory\" and no url") {
  SeriesStore store;
  vigil::ProbeCounters counters(store, 0);
  auto t = target();
  vigil::CheckRecorder rec(store, counters, t, "memory", "");
  ProbeResult r;
  r.reason = FailureReason::kNone;
  r.samples.push_back({"node_memory_MemTotal_bytes", {}, 1024});
  rec.record(r, 1000);
  auto m = scrape(store);
  REQUIRE(m.at("node_memory_MemTotal_bytes{pool=\"devschool\", role=\"primary\", target=\"web-01\"}") == 1024);
  REQUIRE(m.at("probe_success{pool=\"devschool\", probe=\"memory\", role=\"primary\", target=\"web-01\"}") == 1);
  REQUIRE(m.at("vigil_probes_total{probe=\"memory\", result=\"success\"}") == 1);
}

TEST_CASE("a failed memory probe makes the memory figures stale; the next success brings them back") {
  SeriesStore store;
  vigil::ProbeCounters counters(store, 0);
  auto t = target();
  vigil::CheckRecorder rec(store, counters, t, "memory", "");
  const std::string total =
      "node_memory_MemTotal_bytes{pool=\"devschool\", role=\"primary\", target=\"web-01\"}";
  ProbeResult ok;
  ok.samples.push_back({"node_memory_MemTotal_bytes", {}, 1024});
  rec.record(ok, 1000);
  REQUIRE(scrape(store).count(total) == 1);

  ProbeResult failed;
  failed.reason = FailureReason::kTimeout;
  rec.record(failed, 2000);
  auto m = scrape(store);
  CHECK(m.count(total) == 0);
  CHECK(m.at("probe_success{pool=\"devschool\", probe=\"memory\", role=\"primary\", target=\"web-01\"}") == 0);

  rec.record(ok, 3000);
  CHECK(scrape(store).at(total) == 1024);
}
