#pragma once
// The memory probe's node_exporter source (`memory: {node_exporter: URL}`): one scrape of the
// exporter's /metrics through the shared curl loop, parsed as text exposition format and reduced
// to the same node_memory_* / node_vmstat_oom_kill series the SSH and local sources emit.

#include <cstdint>
#include <string>

#include "agent/core/probe.h"
#include "probes/http_probe.h"

namespace vigil {

/// Upper bound on a scrape's body, counted after content decoding. A full node_exporter page
/// with every default collector is a few hundred KiB; 4 MiB leaves room for big hosts while a
/// runaway or hostile endpoint cannot make the agent buffer more than that.
inline constexpr int64_t kMaxNodeExporterBodyBytes = 4 << 20;

/// Runs node_exporter memory probes on an HttpProber's loop. Use only on the loop's thread.
class NodeExporterProber {
 public:
  /// `http` must outlive this object and every probe it started.
  explicit NodeExporterProber(HttpProber& http);

  /// Starts one scrape of `url`; `done` runs exactly once, on the loop, never from inside
  /// start() except when no curl handle can be had. `timeout` covers the whole scrape.
  /// On success the result holds the memorySamplesFromExposition() series (no HTTP figures)
  /// and memoryTrace() lines after the HTTP trace. Failures are values: the HTTP reasons
  /// (kDns, kRefused, kTimeout, kStatus for anything but 2xx, kTooLarge past
  /// kMaxNodeExporterBodyBytes, ...) with their message, or kParse with "URL:LINE:COL: ..."
  /// when the page is not valid exposition text or lacks node_memory_MemTotal_bytes.
  /// `url` is copied; nothing needs to outlive the call.
  void start(const std::string& url, Duration timeout, ProbeCompletion done);

 private:
  HttpProber& http_;
};

}  // namespace vigil
