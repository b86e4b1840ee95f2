#include "probes/node_exporter_probe.h"

#include <fmt/format.h>

#include <memory>
#include <utility>

#include "probes/memory_samples.h"
#include "probes/parsers/exposition.h"

namespace vigil {

namespace {

// HttpProber keeps pointers to the check and the body buffer until its completion runs, so
// both live here, owned by that completion.
struct Scrape {
  config::HttpCheck check;
  std::string body;
};

// Only text format 0.0.4 is parsed; asking for it keeps an exporter that could negotiate
// OpenMetrics or protobuf from choosing a format the parser would reject.
constexpr const char* kAccept = "text/plain;version=0.0.4;q=1.0,*/*;q=0.1";

ProbeResult toMemoryResult(const std::string& url, const std::string& body, ProbeResult http) {
  ProbeResult r;
  r.durationSeconds = http.durationSeconds;
  r.trace = std::move(http.trace);
  // The HTTP figures (status, phases...) belong to http checks; a memory check exports the
  // same series whichever source it uses.
  if (!http.success()) {
    r.reason = http.reason;
    r.error = std::move(http.error);
    return r;
  }
  auto page = parsers::parseExposition(body, url);
  if (!page) {
    r.reason = FailureReason::kParse;
    r.error = page.error().format();
    return r;
  }
  auto samples = memorySamplesFromExposition(parsers::nodeMemorySeries(*page));
  if (!samples) {
    r.reason = FailureReason::kParse;
    r.error = fmt::format("{}: {}", url, samples.error().message);
    return r;
  }
  r.samples = std::move(*samples);
  for (auto& line : memoryTrace(r.samples)) r.trace.push_back(std::move(line));
  r.reason = FailureReason::kNone;
  return r;
}

}  // namespace

NodeExporterProber::NodeExporterProber(HttpProber& http) : http_(http) {}

void NodeExporterProber::start(const std::string& url, Duration timeout, ProbeCompletion done) {
  auto scrape = std::make_shared<Scrape>();
  scrape->check.url = url;
  // node_exporter answers 200; a redirect is followed, anything else is a failed scrape.
  scrape->check.expectStatus = {config::StatusRange{200, 299}};
  scrape->check.maxBodyBytes = kMaxNodeExporterBodyBytes;
  scrape->check.headers.emplace_back("Accept", kAccept);
  HttpProbeOptions options;
  options.body = &scrape->body;
  const config::HttpCheck& check = scrape->check;
  http_.start(
      check, timeout,
      [scrape, done = std::move(done)](ProbeResult http) {
        done(toMemoryResult(scrape->check.url, scrape->body, std::move(http)));
      },
      options);
}

}  // namespace vigil
