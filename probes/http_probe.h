#pragma once
// The HTTP probe: one request per probe on a fresh connection (as blackbox_exporter does), run on
// the shared probe loop. Everything the target controls is bounded: the whole probe by its
// timeout (DNS, connect, TLS, headers and body alike), the header block by max_header_bytes, the
// body by max_body_bytes counted after content decoding, and redirects by max_redirects.

#include <curl/curl.h>

#include <memory>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/core/probe.h"
#include "agent/scheduler/event_loop.h"

namespace vigil {

/// What a caller of HttpProber::start() wants beyond the probe's figures.
struct HttpProbeOptions {
  /// When set, the response body (after content decoding, so at most check.maxBodyBytes) is
  /// appended here as it arrives; a body over the limit fails the probe with kTooLarge and
  /// leaves a truncated copy. Must stay alive until the completion runs. Null: the body is
  /// only counted and searched, never kept (the plain HTTP probe's case).
  std::string* body = nullptr;
};

/// Runs HTTP probes on an EventLoop. Use only on the loop's thread.
class HttpProber {
 public:
  explicit HttpProber(EventLoop& loop);
  ~HttpProber();
  HttpProber(const HttpProber&) = delete;
  HttpProber& operator=(const HttpProber&) = delete;

  /// Starts one probe; `done` runs exactly once, on the loop, with the result. `timeout` covers
  /// every phase. The check must stay alive until `done` runs (the scheduler guarantees it).
  void start(const config::HttpCheck& check, Duration timeout, ProbeCompletion done);

  /// As above, with `options` (e.g. capturing the body for the node_exporter memory probe).
  void start(const config::HttpCheck& check, Duration timeout, ProbeCompletion done,
             HttpProbeOptions options);

  /// Easy handles kept for reuse (bounded).
  size_t pooledHandles() const { return pool_.size(); }

  /// The state of one running probe (internal; public for curl's C callbacks).
  struct Transfer;

 private:
  CURL* takeHandle();
  void returnHandle(CURL* h);
  void finish(Transfer* t, CURLcode rc);
  /// Applies check.tls.server_name to the transfer; an error message, or "".
  static std::string applyServerName(Transfer* t, const config::HttpCheck& check);

  EventLoop& loop_;
  std::vector<CURL*> pool_;
};

/// True when `code` is in any of `ranges`.
bool statusExpected(const std::vector<config::StatusRange>& ranges, int code);

/// Parses an OpenSSL "Expire date:" value such as "Jan  1 00:00:00 2030 GMT" (curl's certinfo)
/// into seconds since the epoch; -1 when it cannot be parsed.
int64_t parseCertExpiry(const std::string& s);

}  // namespace vigil
