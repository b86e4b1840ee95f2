#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "agent/scheduler/event_loop.h"
#include "probes/haproxy_probe.h"
#include "test/support/test_http_server.h"
#include "test/unit/parsers/fixtures.h"

using vigil::Duration;
using vigil::FailureReason;
using vigil::LbProbeSpec;
using vigil::ProbeResult;
using vigil::ProbeSample;

namespace {

// "name{labels}" -> value, in the order lbSamples() produced them (also checked separately).
std::map<std::string, double> byKey(const std::vector<ProbeSample>& samples) {
  std::map<std::string, double> out;
  for (const auto& s : samples) {
    const std::string key = s.labels.empty() ? s.name : s.name + vigil::toString(s.labels);
    auto [it, inserted] = out.emplace(key, s.value);
    REQUIRE(inserted);  // no series twice
  }
  return out;
}

std::vector<ProbeSample> samplesOf(const std::string& fixture, const LbProbeSpec& spec) {
  auto rows = vigil::parsers::parseHaproxyCsv(vigil::test::readFixture(fixture), fixture);
  REQUIRE(rows.ok());
  auto s = vigil::lbSamples(*rows, spec, fixture);
  INFO((s.ok() ? "" : s.error().format()));
  REQUIRE(s.ok());
  return *s;
}

LbProbeSpec spec(std::vector<vigil::LbMember> members, std::string backend = "devschool-web") {
  LbProbeSpec s;
  s.pool = "devschool";
  s.statsUrl = "http://127.0.0.1:1/stats;csv";
  s.backend = std::move(backend);
  s.members = std::move(members);
  return s;
}

ProbeResult fetch(const LbProbeSpec& s, Duration timeout = Duration{2000}) {
  vigil::EventLoop loop;
  vigil::HttpProber http(loop);
  vigil::HaproxyProber prober(http);
  ProbeResult out;
  int calls = 0;
  prober.start(s, timeout, [&](ProbeResult r) {
    ++calls;
    out = std::move(r);
    loop.stop();
  });
  loop.run();
  REQUIRE(calls == 1);
  return out;
}

}  // namespace

TEST_CASE("every HAProxy state of a member becomes lb_state and rotation") {
  // Real HAProxy 2.6 output: web-01 UP, web-02 DOWN (checks fail), web-03 MAINT, web-04 DRAIN,
  // web-05 without checks; web-09 is configured but not in the backend.
  auto samples = samplesOf("haproxy_drain.csv",
                           spec({{"web-01", "web-01"}, {"web-02", "web-02"}, {"web-03", "web-03"},
                                 {"web-04", "web-04"}, {"web-05", "web-05"},
                                 {"web-09", "web-09"}}));
  auto m = byKey(samples);
  CHECK(m.at("vigil_pool_members_in_rotation") == 2);
  CHECK(m.at("vigil_pool_member_in_rotation{lb_state=\"UP\", target=\"web-01\"}") == 1);
  CHECK(m.at("vigil_pool_member_in_rotation{lb_state=\"DOWN\", target=\"web-02\"}") == 0);
  CHECK(m.at("vigil_pool_member_in_rotation{lb_state=\"MAINT\", target=\"web-03\"}") == 0);
  CHECK(m.at("vigil_pool_member_in_rotation{lb_state=\"DRAIN\", target=\"web-04\"}") == 0);
  CHECK(m.at("vigil_pool_member_in_rotation{lb_state=\"no check\", target=\"web-05\"}") == 1);
  CHECK(m.at("vigil_pool_member_in_rotation{lb_state=\"absent\", target=\"web-09\"}") == 0);
  CHECK(m.at("vigil_lb_sessions_total{target=\"web-01\"}") == 4);
  CHECK(m.at("vigil_lb_sessions_total{target=\"web-05\"}") == 6);
  CHECK(m.at("vigil_lb_http_responses_total{code=\"2xx\", target=\"web-01\"}") == 4);
  CHECK(m.at("vigil_lb_http_responses_total{code=\"5xx\", target=\"web-01\"}") == 0);
  // an absent member has no traffic series (not zeros that would look like an idle server)
  CHECK_FALSE(m.contains("vigil_lb_sessions_total{target=\"web-09\"}"));
  CHECK(m.at("vigil_pool_unknown_servers") == 0);
  // one state, 1 session counter and 5 response classes per present member, 1 for the absent
  // one, the two pool-wide figures
  CHECK(samples.size() == 5 * 7 + 1 + 2);
  // the order the recorder and the trace rely on: the pool figure first, members in config order
  REQUIRE(samples.front().name == "vigil_pool_members_in_rotation");
  CHECK(samples[1].name == "vigil_pool_member_in_rotation");
  CHECK(vigil::get(samples[1].labels, "target") == "web-01");
  CHECK(samples.back().name == "vigil_pool_unknown_servers");
}

TEST_CASE("response classes and sessions are HAProxy's cumulative counters") {
  auto m = byKey(samplesOf("haproxy_maint.csv", spec({{"web-01", "web-01"},
                                                       {"web-05", "web-05"}})));
  CHECK(m.at("vigil_lb_sessions_total{target=\"web-01\"}") == 6);
  CHECK(m.at("vigil_lb_http_responses_total{code=\"1xx\", target=\"web-01\"}") == 0);
  CHECK(m.at("vigil_lb_http_responses_total{code=\"2xx\", target=\"web-01\"}") == 4);
  CHECK(m.at("vigil_lb_http_responses_total{code=\"3xx\", target=\"web-01\"}") == 0);
  CHECK(m.at("vigil_lb_http_responses_total{code=\"4xx\", target=\"web-01\"}") == 2);
  CHECK(m.at("vigil_lb_sessions_total{target=\"web-05\"}") == 23);
  CHECK(m.at("vigil_lb_http_responses_total{code=\"4xx\", target=\"web-05\"}") == 1);
  // web-01 is DOWN here: the traffic it served before stays readable
  CHECK(m.at("vigil_pool_member_in_rotation{lb_state=\"DOWN\", target=\"web-01\"}") == 0);
  CHECK(m.at("vigil_pool_members_in_rotation") == 1);
}

TEST_CASE("servers of the backend that no member maps to are reported") {
  // app-1 is web-01 under another name (haproxy_server:); the others are unknown to the config.
  auto m = byKey(samplesOf("haproxy_drain.csv", spec({{"app-1", "web-01"}})));
  CHECK(m.at("vigil_pool_member_in_rotation{lb_state=\"UP\", target=\"app-1\"}") == 1);
  CHECK(m.at("vigil_lb_sessions_total{target=\"app-1\"}") == 4);
  CHECK(m.at("vigil_pool_unknown_servers") == 4);
  CHECK(m.at("vigil_pool_unknown_server_in_rotation{lb_state=\"DOWN\", server=\"web-02\"}") == 0);
  CHECK(m.at("vigil_pool_unknown_server_in_rotation{lb_state=\"MAINT\", server=\"web-03\"}") ==
        0);
  CHECK(m.at("vigil_pool_unknown_server_in_rotation{lb_state=\"DRAIN\", server=\"web-04\"}") ==
        0);
  CHECK(m.at("vigil_pool_unknown_server_in_rotation{lb_state=\"no check\", server=\"web-05\"}") ==
        1);
  // unknown servers do not count as members in rotation: vigil does not watch them
  CHECK(m.at("vigil_pool_members_in_rotation") == 1);
  // servers of other backends are not the pool's
  CHECK_FALSE(m.contains("vigil_pool_unknown_server_in_rotation{lb_state=\"no check\", "
                         "server=\"only\"}"));
}

TEST_CASE("a backend the stats do not have is an error naming the backends there are") {
  auto rows = vigil::parsers::parseHaproxyCsv(vigil::test::readFixture("haproxy_drain.csv"));
  REQUIRE(rows.ok());
  auto s = vigil::lbSamples(*rows, spec({{"web-01", "web-01"}}, "devschool"), "http://lb/stats");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().format() ==
        "http://lb/stats: no backend \"devschool\" in the stats (backends: devschool-web, static)");
  // a backend without servers is found: its members are all absent
  auto empty = vigil::parsers::parseHaproxyCsv(
      "# pxname,svname,status,type\nbe,BACKEND,DOWN,1\n");
  REQUIRE(empty.ok());
  auto none = vigil::lbSamples(*empty, spec({{"web-01", "web-01"}}, "be"));
  REQUIRE(none.ok());
  auto m = byKey(*none);
  CHECK(m.at("vigil_pool_member_in_rotation{lb_state=\"absent\", target=\"web-01\"}") == 0);
  CHECK(m.at("vigil_pool_members_in_rotation") == 0);
}

TEST_CASE("the trace shows each member's state and traffic") {
  auto trace = vigil::lbTrace(samplesOf(
      "haproxy_maint.csv", spec({{"web-01", "web-01"}, {"web-02", "web-02"}, {"x", "x"}})));
  REQUIRE(trace.size() >= 4);
  CHECK(trace[0] == "in rotation 0 member(s)");
  CHECK_THAT(trace[1], Catch::StartsWith("member     web-01") && Catch::Contains("DOWN") &&
                           Catch::Contains("OUT of rotation") &&
                           Catch::Contains("sessions 6 1xx 0 2xx 4 3xx 0 4xx 2 5xx 0"));
  CHECK_THAT(trace[2], Catch::Contains("web-02") && Catch::Contains("MAINT"));
  CHECK_THAT(trace[3], Catch::Contains("x") && Catch::Contains("absent"));
  CHECK_THAT(trace[4], Catch::StartsWith("UNKNOWN    web-03"));
}

TEST_CASE("urlWithoutUserinfo drops credentials only") {
  using vigil::urlWithoutUserinfo;
  CHECK(urlWithoutUserinfo("http://admin:s3cret@lb:8404/stats;csv") == "http://lb:8404/stats;csv");
  CHECK(urlWithoutUserinfo("http://lb:8404/stats;csv") == "http://lb:8404/stats;csv");
  CHECK(urlWithoutUserinfo("http://lb/a@b") == "http://lb/a@b");
  CHECK(urlWithoutUserinfo("https://u@lb") == "https://lb");
  CHECK(urlWithoutUserinfo("not a url") == "not a url");
}

TEST_CASE("the stats page is fetched over HTTP and reduced to the pool's samples") {
  vigil::testing::TestHttpServer server;
  server.setFixture(vigil::test::readFixture("haproxy_drain.csv"));
  auto s = spec({{"web-01", "web-01"}, {"web-03", "web-03"}});
  s.statsUrl = server.url("/fixture");
  auto r = fetch(s);
  INFO(r.error);
  REQUIRE(r.success());
  REQUIRE(r.durationSeconds > 0);
  auto m = byKey(r.samples);
  CHECK(m.at("vigil_pool_members_in_rotation") == 1);
  CHECK(m.at("vigil_pool_member_in_rotation{lb_state=\"MAINT\", target=\"web-03\"}") == 0);
  // no HTTP figures of the stats page among the pool's samples
  for (const auto& smp : r.samples) CHECK(smp.name.rfind("probe_http_", 0) != 0);
  // the HTTP trace, then the pool's lines
  bool sawStatus = false, sawMember = false;
  for (const auto& line : r.trace) {
    sawStatus = sawStatus || line.rfind("status", 0) == 0;
    sawMember = sawMember || line.find("member     web-03") != std::string::npos;
  }
  CHECK(sawStatus);
  CHECK(sawMember);
}

TEST_CASE("a stats fetch fails with the reason, never a credential") {
  vigil::testing::TestHttpServer server;
  const std::string base = "http://admin:s3cret@127.0.0.1:" + std::to_string(server.port());
  struct Case {
    std::string path;
    std::string fixture;
    FailureReason reason;
    std::string message;
  };
  auto c = GENERATE(
      Case{"/fixture", "<html>not csv</html>", FailureReason::kParse, ":1:1: "},
      Case{"/fixture", "# pxname,svname,status\nx,BACKEND,UP\n", FailureReason::kParse,
           "no backend \"devschool-web\""},
      Case{"/status/404", "", FailureReason::kStatus, "404"},
      Case{"/status/503", "", FailureReason::kStatus, "503"},
      Case{"/sleep/3000", "", FailureReason::kTimeout, ""});
  server.setFixture(c.fixture);
  auto s = spec({{"web-01", "web-01"}});
  s.statsUrl = base + c.path;
  auto r = fetch(s, Duration{500});
  INFO(r.error);
  CHECK(r.reason == c.reason);
  CHECK_THAT(r.error, Catch::Contains(c.message));
  CHECK(r.samples.empty());
  CHECK(r.error.find("s3cret") == std::string::npos);
  for (const auto& line : r.trace) CHECK(line.find("s3cret") == std::string::npos);
  if (c.reason == FailureReason::kParse) {
    CHECK_THAT(r.error, Catch::StartsWith("http://127.0.0.1:"));
  }
}

TEST_CASE("a stats listener that is down is refused") {
  auto s = spec({{"web-01", "web-01"}});
  s.statsUrl = "http://127.0.0.1:" + std::to_string(vigil::testing::closedPort()) + "/stats;csv";
  auto r = fetch(s);
  CHECK(r.reason == FailureReason::kRefused);
  CHECK(r.samples.empty());
}
