#pragma once
// The one HTTP listener (SPEC §7): /metrics, /-/healthy, /-/ready, /-/reload, /api/v1/*, /probe
// and the status page, on civetweb. The server knows nothing of the agent: what it serves comes
// from the series store and from hooks the app provides.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/check_status.h"
#include "agent/core/error.h"
#include "agent/core/probe.h"
#include "agent/series/series_store.h"
#include "exporters/web/status_page.h"
#include "exporters/web/web_config.h"

struct mg_context;
struct mg_connection;

namespace vigil::web {

/// What the app plugs in. Every hook is called from civetweb worker threads and must be
/// thread-safe. Unset hooks make their endpoint answer 404.
struct Hooks {
  std::function<bool()> ready;
  std::function<std::vector<CheckStatus>()> checks;
  /// Reloads the config; returns an Error to report a rejected config.
  std::function<Status()> reload;
  /// Bodies of /api/v1/alerts and /api/v1/rules.
  std::function<std::string()> alertsJson;
  std::function<std::string()> rulesJson;
  /// Alerts and recent events for the status page.
  std::function<StatusExtras()> statusExtras;
  /// Runs one HTTP probe of `url` within `timeout`.
  std::function<ProbeResult(const std::string& url, Duration timeout)> probe;
};

struct Options {
  std::string listenAddress = ":9469";
  bool enableLifecycle = false;
  int threads = 8;
  WebConfig web;  ///< from --web.config.file: TLS and basic auth for every endpoint
};

/// Owns the civetweb context. start() and stop() from one thread.
class WebServer {
 public:
  WebServer(const series::SeriesStore& store, Hooks hooks, Options options);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  /// Binds and starts serving; an Error names the address and the reason (e.g. in use).
  Status start();
  void stop();

 private:
  static int dispatch(mg_connection* conn, void* self);
  int handle(mg_connection* conn);

  const series::SeriesStore& store_;
  Hooks hooks_;
  Options options_;
  BasicAuth auth_;
  mg_context* ctx_ = nullptr;
};

/// ":9469" -> "9469", "127.0.0.1:9469" stays, "[::1]:9469" stays: civetweb's listening_ports.
std::string civetwebPort(const std::string& listenAddress);

}  // namespace vigil::web
