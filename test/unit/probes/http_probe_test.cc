#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "agent/scheduler/event_loop.h"
#include "probes/http_probe.h"
#include "test/support/test_http_server.h"

using vigil::Duration;
using vigil::FailureReason;
using vigil::ProbeResult;
using vigil::config::HttpCheck;
using vigil::config::StatusRange;

namespace {

ProbeResult probe(const HttpCheck& check, Duration timeout = Duration{2000}) {
  vigil::EventLoop loop;
  vigil::HttpProber prober(loop);
  ProbeResult out;
  bool called = false;
  prober.start(check, timeout, [&](ProbeResult r) {
    REQUIRE_FALSE(called);
    called = true;
    out = std::move(r);
    loop.stop();
  });
  loop.run();
  REQUIRE(called);
  return out;
}

HttpCheck check(const std::string& url) {
  HttpCheck c;
  c.url = url;
  return c;
}

double sample(const ProbeResult& r, const std::string& name, const std::string& phase = "") {
  for (const auto& s : r.samples) {
    if (s.name == name && (phase.empty() || vigil::get(s.labels, "phase") == phase)) return s.value;
  }
  FAIL("no sample " << name);
  return 0;
}

}  // namespace

TEST_CASE("a 200 succeeds and reports blackbox_exporter's figures") {
  vigil::testing::TestHttpServer server;
  auto r = probe(check(server.url("/ok")));
  REQUIRE(r.success());
  REQUIRE(r.error.empty());
  REQUIRE(sample(r, "probe_http_status_code") == 200);
  REQUIRE(sample(r, "probe_http_content_length") == 17);
  REQUIRE(sample(r, "probe_http_redirects") == 0);
  REQUIRE(sample(r, "probe_http_ssl") == 0);
  for (const char* phase : {"resolve", "connect", "tls", "processing", "transfer"}) {
    REQUIRE(sample(r, "probe_http_duration_seconds", phase) >= 0);
  }
  REQUIRE(r.durationSeconds > 0);
  REQUIRE(server.requests() == 1);
}

TEST_CASE("expect_status decides success") {
  vigil::testing::TestHttpServer server;
  auto c = check(server.url("/status/500"));
  auto r = probe(c);
  REQUIRE(r.reason == FailureReason::kStatus);
  REQUIRE(sample(r, "probe_http_status_code") == 500);
  c.expectStatus = {StatusRange{500, 599}};
  REQUIRE(probe(c).success());
  c = check(server.url("/status/404"));
  c.expectStatus = {StatusRange{200, 200}, StatusRange{404, 404}};
  REQUIRE(probe(c).success());
}

TEST_CASE("statusExpected checks every range inclusively") {
  std::vector<StatusRange> ranges{{200, 299}, {404, 404}};
  REQUIRE(vigil::statusExpected(ranges, 200));
  REQUIRE(vigil::statusExpected(ranges, 299));
  REQUIRE(vigil::statusExpected(ranges, 404));
  REQUIRE_FALSE(vigil::statusExpected(ranges, 300));
  REQUIRE_FALSE(vigil::statusExpected(ranges, 0));
}

TEST_CASE("nothing listening is 'refused'") {
  auto r = probe(check("http://127.0.0.1:" + std::to_string(vigil::testing::closedPort()) + "/"));
  REQUIRE(r.reason == FailureReason::kRefused);
  REQUIRE(sample(r, "probe_http_status_code") == 0);
  REQUIRE_FALSE(r.error.empty());
}

TEST_CASE("a slow answer is 'timeout' at the probe's timeout") {
  vigil::testing::TestHttpServer server;
  auto r = probe(check(server.url("/sleep/3000")), Duration{300});
  REQUIRE(r.reason == FailureReason::kTimeout);
  REQUIRE(r.durationSeconds < 1.0);
}

TEST_CASE("headers trickling in forever are cut off by the timeout") {
  vigil::testing::TestHttpServer server;
  auto r = probe(check(server.url("/trickle")), Duration{400});
  REQUIRE(r.reason == FailureReason::kTimeout);
}

TEST_CASE("a connection reset is 'reset'") {
  vigil::testing::TestHttpServer server;
  auto r = probe(check(server.url("/reset")));
  REQUIRE(r.reason == FailureReason::kReset);
  auto r2 = probe(check(server.url("/close")));
  REQUIRE(r2.reason == FailureReason::kReset);
}

TEST_CASE("a body over max_body_bytes is 'too_large'") {
  vigil::testing::TestHttpServer server;
  auto c = check(server.url("/big/5000"));
  c.maxBodyBytes = 4096;
  auto r = probe(c);
  REQUIRE(r.reason == FailureReason::kTooLarge);
  REQUIRE(r.error.find("4096") != std::string::npos);
  c.maxBodyBytes = 5000;
  REQUIRE(probe(c).success());
}

TEST_CASE("the body is captured only when asked, and never past max_body_bytes") {
  vigil::testing::TestHttpServer server;
  auto run = [](const HttpCheck& c, std::string* body) {
    vigil::EventLoop loop;
    vigil::HttpProber prober(loop);
    ProbeResult out;
    vigil::HttpProbeOptions options;
    options.body = body;
    prober.start(c, Duration{2000}, [&](ProbeResult r) {
      out = std::move(r);
      loop.stop();
    }, options);
    loop.run();
    return out;
  };
  std::string body;
  REQUIRE(run(check(server.url("/ok")), &body).success());
  REQUIRE(body == "<title>ok</title>");
  body.clear();
  auto c = check(server.url("/big/5000"));
  c.maxBodyBytes = 4096;
  REQUIRE(run(c, &body).reason == FailureReason::kTooLarge);
  REQUIRE(body.size() <= 4096);
  // without a buffer the probe behaves as before
  REQUIRE(run(check(server.url("/ok")), nullptr).success());
}

TEST_CASE("a never-ending body stops at the body cap, not at the timeout") {
  vigil::testing::TestHttpServer server;
  auto c = check(server.url("/endless"));
  auto r = probe(c, Duration{5000});
  REQUIRE(r.reason == FailureReason::kTooLarge);
}

TEST_CASE("a header block over max_header_bytes is 'too_large'") {
  vigil::testing::TestHttpServer server;
  auto c = check(server.url("/headers/20000"));
  c.maxHeaderBytes = 8192;
  REQUIRE(probe(c).reason == FailureReason::kTooLarge);
  c.maxHeaderBytes = 64 << 10;
  REQUIRE(probe(c).success());
}

TEST_CASE("body_must_contain finds text, even split across reads") {
  vigil::testing::TestHttpServer server;
  auto c = check(server.url("/ok"));
  c.bodyMustContain = "<title>";
  REQUIRE(probe(c).success());
  c.bodyMustContain = "missing";
  auto r = probe(c);
  REQUIRE(r.reason == FailureReason::kBody);
  // A large body arrives in many chunks; the needle spans the boundary at some point.
  c = check(server.url("/big/200000"));
  c.bodyMustContain = std::string(3000, 'x');
  REQUIRE(probe(c).success());
}

TEST_CASE("redirects are followed, counted and bounded") {
  vigil::testing::TestHttpServer server;
  auto c = check(server.url("/redirect/3"));
  auto r = probe(c);
  REQUIRE(r.success());
  REQUIRE(sample(r, "probe_http_redirects") == 3);
  c.maxRedirects = 2;
  REQUIRE(probe(c).reason == FailureReason::kRedirects);
  c.followRedirects = false;
  auto noFollow = probe(c);
  REQUIRE(noFollow.success());  // 302 is within the default 200-399
  REQUIRE(sample(noFollow, "probe_http_status_code") == 302);
}

TEST_CASE("TLS to a plain-HTTP port is 'tls'") {
  vigil::testing::TestHttpServer server;
  auto r = probe(check("https://127.0.0.1:" + std::to_string(server.port()) + "/ok"));
  REQUIRE(r.reason == FailureReason::kTls);
}

TEST_CASE("a hostile target does not delay the others on the same loop") {
  vigil::testing::TestHttpServer server;
  vigil::EventLoop loop;
  vigil::HttpProber prober(loop);
  auto slow = check(server.url("/sleep/2000"));
  auto fast = check(server.url("/ok"));
  std::map<std::string, int64_t> doneAt;
  const int64_t start = vigil::EventLoop::monotonicMs();
  int pending = 2;
  auto finish = [&](const char* name) {
    return [&, name](ProbeResult) {
      doneAt[name] = vigil::EventLoop::monotonicMs() - start;
      if (--pending == 0) loop.stop();
    };
  };
  prober.start(slow, Duration{1500}, finish("slow"));
  prober.start(fast, Duration{1500}, finish("fast"));
  loop.run();
  // Ordering, not timing: the fast probe completes first, while the slow one is still waiting.
  REQUIRE(doneAt["fast"] < doneAt["slow"]);
}

TEST_CASE("certificate expiry dates parse") {
  REQUIRE(vigil::parseCertExpiry("Jan  1 00:00:00 2030 GMT") == 1893456000);
  REQUIRE(vigil::parseCertExpiry("garbage") == -1);
}
