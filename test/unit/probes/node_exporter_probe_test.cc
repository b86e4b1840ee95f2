#include <catch2/catch.hpp>

#include <string>

#include "agent/scheduler/event_loop.h"
#include "probes/http_probe.h"
#include "probes/node_exporter_probe.h"
#include "test/support/test_http_server.h"

using vigil::Duration;
using vigil::FailureReason;
using vigil::ProbeResult;

namespace {

// A trimmed node_exporter page: HELP/TYPE lines, exponents, a same-named series with labels
// that must be ignored, and families the memory probe does not use.
const std::string kPage = R"(# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 8
# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.
# TYPE node_memory_MemTotal_bytes gauge
node_memory_MemTotal_bytes 1.666807808e+10
node_memory_MemTotal_bytes{numa="1"} 5
# HELP node_memory_MemAvailable_bytes Memory information field MemAvailable_bytes.
# TYPE node_memory_MemAvailable_bytes gauge
node_memory_MemAvailable_bytes 1.2345678848e+10
# TYPE node_memory_MemFree_bytes gauge
node_memory_MemFree_bytes 4.294967296e+09
# TYPE node_memory_SwapTotal_bytes gauge
node_memory_SwapTotal_bytes 2.147479552e+09
# TYPE node_memory_SwapFree_bytes gauge
node_memory_SwapFree_bytes 2.147479552e+09
# HELP node_vmstat_oom_kill /proc/vmstat information field oom_kill.
# TYPE node_vmstat_oom_kill untyped
node_vmstat_oom_kill 3
process_start_time_seconds 1.7e+09
)";

ProbeResult scrape(const std::string& url, Duration timeout = Duration{2000}) {
  vigil::EventLoop loop;
  vigil::HttpProber http(loop);
  vigil::NodeExporterProber prober(http);
  ProbeResult out;
  int calls = 0;
  prober.start(url, timeout, [&](ProbeResult r) {
    ++calls;
    out = std::move(r);
    loop.stop();
  });
  loop.run();
  REQUIRE(calls == 1);
  return out;
}

const vigil::ProbeSample* find(const ProbeResult& r, const std::string& name) {
  for (const auto& s : r.samples) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool traceHas(const ProbeResult& r, const std::string& text) {
  for (const auto& line : r.trace) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a node_exporter page becomes the memory probe's series") {
  vigil::testing::TestHttpServer server;
  server.setFixture(kPage);
  auto r = scrape(server.url("/fixture"));
  INFO(r.error);
  REQUIRE(r.success());
  REQUIRE(r.error.empty());
  REQUIRE(r.durationSeconds > 0);
  // Exactly the memory series, in kMemorySampleNames order, unlabelled; no HTTP figures.
  std::vector<std::string> got;
  for (const auto& s : r.samples) {
    REQUIRE(s.labels.empty());
    got.push_back(s.name);
  }
  REQUIRE(got == std::vector<std::string>{
                     "node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes",
                     "node_memory_MemFree_bytes", "node_memory_SwapTotal_bytes",
                     "node_memory_SwapFree_bytes", "node_vmstat_oom_kill"});
  REQUIRE(find(r, "node_memory_MemTotal_bytes")->value == 16668078080.0);
  REQUIRE(find(r, "node_memory_MemAvailable_bytes")->value == 12345678848.0);
  REQUIRE(find(r, "node_vmstat_oom_kill")->value == 3);
  // the trace has the HTTP lines and then the figures
  REQUIRE(traceHas(r, "status     200"));
  REQUIRE(traceHas(r, "MemTotal 15.5 GiB"));
  REQUIRE(traceHas(r, "oom_kill 3"));
}

TEST_CASE("node_exporter scrape failures keep the HTTP reason") {
  vigil::testing::TestHttpServer server;
  SECTION("refused") {
    auto r = scrape("http://127.0.0.1:" + std::to_string(vigil::testing::closedPort()) +
                    "/metrics");
    REQUIRE(r.reason == FailureReason::kRefused);
    REQUIRE(r.samples.empty());
  }
  SECTION("timeout") {
    auto r = scrape(server.url("/sleep/3000"), Duration{200});
    REQUIRE(r.reason == FailureReason::kTimeout);
    REQUIRE(r.durationSeconds < 2.0);
    REQUIRE(r.samples.empty());
  }
  SECTION("status: anything but 2xx") {
    auto r = scrape(server.url("/status/503"));
    REQUIRE(r.reason == FailureReason::kStatus);
    REQUIRE(r.error == "status 503 is not in expect_status");
    REQUIRE(r.samples.empty());
  }
  SECTION("too large: the body is bounded") {
    auto r = scrape(server.url("/big/" + std::to_string(vigil::kMaxNodeExporterBodyBytes + 1)));
    REQUIRE(r.reason == FailureReason::kTooLarge);
    REQUIRE(r.error == "body exceeds 4194304 bytes");
    REQUIRE(r.samples.empty());
  }
}

TEST_CASE("a page that is not exposition text fails with kParse and its position") {
  vigil::testing::TestHttpServer server;
  const std::string url = server.url("/fixture");
  SECTION("a syntax error names the URL, line and column") {
    server.setFixture(
        "# TYPE node_memory_MemTotal_bytes gauge\nnode_memory_MemTotal_bytes{a=\"x} 1\n");
    auto r = scrape(url);
    REQUIRE(r.reason == FailureReason::kParse);
    INFO(r.error);
    REQUIRE(r.error.starts_with(url + ":2:"));
    REQUIRE(r.samples.empty());
  }
  SECTION("a page without MemTotal (meminfo collector disabled)") {
    server.setFixture("go_goroutines 8\nnode_vmstat_oom_kill 0\n");
    auto r = scrape(url);
    REQUIRE(r.reason == FailureReason::kParse);
    REQUIRE(r.error == url + ": no node_memory_MemTotal_bytes in the scrape (meminfo collector "
                             "disabled?)");
    REQUIRE(r.samples.empty());
  }
  SECTION("an empty page") {
    auto r = scrape(url);
    REQUIRE(r.reason == FailureReason::kParse);
  }
}
