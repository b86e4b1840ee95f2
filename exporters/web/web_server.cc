#include "exporters/web/web_server.h"

#include <civetweb.h>
#include <fmt/format.h>

#include <cstring>

#include "agent/core/log.h"
#include "exporters/metrics/store_collectable.h"
#include "exporters/web/api.h"
#include "exporters/web/status_page.h"

namespace vigil::web {

namespace {

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

int reply(mg_connection* conn, int status, std::string_view contentType, std::string_view body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
            status, reasonPhrase(status), static_cast<int>(contentType.size()),
            contentType.data(), body.size());
  mg_write(conn, body.data(), body.size());
  return status;
}

constexpr std::string_view kText = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";

std::string queryVar(const mg_request_info* ri, const char* name) {
  if (ri->query_string == nullptr) return {};
  const size_t qlen = std::strlen(ri->query_string);
  std::string buf(qlen + 1, '\0');
  int n = mg_get_var(ri->query_string, qlen, name, buf.data(), buf.size());
  if (n < 0) return {};
  buf.resize(static_cast<size_t>(n));
  return buf;
}

}  // namespace

std::string civetwebPort(const std::string& listenAddress) {
  if (!listenAddress.empty() && listenAddress.front() == ':') return listenAddress.substr(1);
  return listenAddress;
}

WebServer::WebServer(const series::SeriesStore& store, Hooks hooks, Options options)
    : store_(store),
      hooks_(std::move(hooks)),
      options_(std::move(options)),
      auth_(options_.web.basicAuthUsers) {}

WebServer::~WebServer() { stop(); }

Status WebServer::start() {
  if (options_.web.tls()) return Error{kTlsUnavailable};
  const std::string ports = civetwebPort(options_.listenAddress);
  const std::string threads = std::to_string(options_.threads);
  const char* opts[] = {"listening_ports", ports.c_str(), "num_threads", threads.c_str(),
                        "request_timeout_ms", "30000", "enable_keep_alive", "no",
                        nullptr};
  mg_callbacks callbacks{};
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = this;
  init.configuration_options = opts;
  char errText[256] = {0};
  mg_error_data err{};
  err.text = errText;
  err.text_buffer_size = sizeof errText;
  ctx_ = mg_start2(&init, &err);
  if (ctx_ == nullptr) {
    return Error{fmt::format("cannot listen on {}: {}", options_.listenAddress,
                             errText[0] ? errText : "unknown error")};
  }
  mg_set_request_handler(ctx_, "/", &WebServer::dispatch, this);
  LOG_INFO("listening", {"address", options_.listenAddress},
           {"basic_auth", auth_.enabled() ? "true" : "false"});
  return Ok{};
}

void WebServer::stop() {
  if (ctx_ != nullptr) {
    mg_stop(ctx_);
    ctx_ = nullptr;
  }
}

int WebServer::dispatch(mg_connection* conn, void* self) {
  auto* server = static_cast<WebServer*>(self);
  if (server->auth_.enabled() &&
      !server->auth_.check(mg_get_header(conn, "Authorization"))) {
    const std::string_view body = "Unauthorized\n";
    mg_printf(conn,
              "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"vigil\"\r\n"
              "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
              "Connection: close\r\n\r\n",
              body.size());
    mg_write(conn, body.data(), body.size());
    return 401;
  }
  return server->handle(conn);
}

int WebServer::handle(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  const std::string_view method = ri->request_method ? ri->request_method : "";
  const std::string_view path = ri->local_uri ? ri->local_uri : "";
  const bool get = method == "GET" || method == "HEAD";

  if (path == "/metrics") {
    if (!get) return reply(conn, 405, kText, "use GET\n");
    // Streamed with chunked encoding: a 10,000-target scrape is tens of MB, and building it
    // whole would double the agent's peak memory for no benefit.
    mg_printf(conn,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n");
    if (method == "HEAD") {
      mg_send_chunk(conn, "", 0);
      return 200;
    }
    std::string pending;
    metrics::renderMetrics(store_, [&](std::string_view piece) {
      pending += piece;
      if (pending.size() >= (64 << 10)) {
        mg_send_chunk(conn, pending.data(), static_cast<unsigned>(pending.size()));
        pending.clear();
      }
    });
    if (!pending.empty()) mg_send_chunk(conn, pending.data(), static_cast<unsigned>(pending.size()));
    mg_send_chunk(conn, "", 0);
    return 200;
  }
  if (path == "/-/healthy") return reply(conn, 200, kText, "vigil is Healthy.\n");
  if (path == "/-/ready") {
    if (hooks_.ready && hooks_.ready()) return reply(conn, 200, kText, "vigil is Ready.\n");
    return reply(conn, 503, kText, "vigil is not ready: the first round of probes is running.\n");
  }
  if (path == "/-/reload") {
    if (method != "POST" && method != "PUT") return reply(conn, 405, kText, "use POST\n");
    if (!options_.enableLifecycle || !hooks_.reload) {
      return reply(conn, 403, kText, "Lifecycle API is not enabled.\n");
    }
    Status st = hooks_.reload();
    if (!st.ok()) return reply(conn, 500, kText, "failed to reload config: " + st.error().format() + "\n");
    return reply(conn, 200, kText, "config reloaded\n");
  }
  if (path == "/api/v1/targets" && hooks_.checks) {
    return reply(conn, 200, kJson, targetsJson(hooks_.checks()));
  }
  if (path == "/api/v1/alerts" && hooks_.alertsJson) return reply(conn, 200, kJson, hooks_.alertsJson());
  if (path == "/api/v1/rules" && hooks_.rulesJson) return reply(conn, 200, kJson, hooks_.rulesJson());
  if (path == "/probe" && hooks_.probe) {
    const std::string target = queryVar(ri, "target");
    if (target.empty()) return reply(conn, 400, kText, "Target parameter is missing\n");
    if (!target.starts_with("http://") && !target.starts_with("https://")) {
      // blackbox_exporter accepts bare host:port for http modules.
      return reply(conn, 400, kText, "target must be an http:// or https:// URL\n");
    }
    // Like blackbox_exporter: finish half a second before Prometheus gives up on the scrape.
    Duration timeout{5000};
    if (const char* h = mg_get_header(conn, "X-Prometheus-Scrape-Timeout-Seconds")) {
      double s = std::strtod(h, nullptr);
      if (s > 0.6) timeout = Duration{static_cast<int64_t>((s - 0.5) * 1000)};
    }
    return reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8",
                 probeMetricsText(hooks_.probe(target, timeout)));
  }
  if (path == "/" && get) {
    std::vector<CheckStatus> checks;
    if (hooks_.checks) checks = hooks_.checks();
    StatusExtras extras;
    if (hooks_.statusExtras) extras = hooks_.statusExtras();
    return reply(conn, 200, "text/html; charset=utf-8",
                 statusPageHtml(checks, hooks_.ready && hooks_.ready(), extras));
  }
  if (path.starts_with("/api/")) return reply(conn, 404, kJson, errorJson("not_found", "unknown endpoint"));
  return reply(conn, 404, kText, "404 page not found\n");
}

}  // namespace vigil::web
