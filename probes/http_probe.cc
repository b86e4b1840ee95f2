#include "probes/http_probe.h"

#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "exporters/metrics/names.h"

namespace vigil {

namespace {

// Reused easy handles beyond this are freed: enough for thousands of probes per second, while an
// idle agent does not keep a burst's worth of handles forever.
constexpr size_t kMaxPooledHandles = 256;

constexpr const char* kUserAgent = "vigil/" VIGIL_VERSION;

}  // namespace

/// One running probe. Owned by the prober from start() until finish().
struct HttpProber::Transfer {
  HttpProber* prober = nullptr;
  CURL* easy = nullptr;
  const config::HttpCheck* check = nullptr;
  ProbeCompletion done;
  std::string* bodyOut = nullptr;  // HttpProbeOptions::body
  curl_slist* headers = nullptr;
  curl_slist* connectTo = nullptr;  // tls.server_name: where the renamed host really is
  std::string url;                  // the URL curl fetches (its host renamed for server_name)
  int64_t headerBytes = 0;
  int64_t bodyBytes = 0;
  bool tooLarge = false;
  std::string tooLargeWhat;
  // Streaming search for body_must_contain: the needle may straddle two chunks, so the last
  // needle-1 bytes of the previous chunk are kept (memory stays O(needle), not O(body)).
  bool found = false;
  std::string carry;
  char errbuf[CURL_ERROR_SIZE] = {0};
};

HttpProber::HttpProber(EventLoop& loop) : loop_(loop) {}

HttpProber::~HttpProber() {
  for (CURL* h : pool_) curl_easy_cleanup(h);
}

CURL* HttpProber::takeHandle() {
  if (!pool_.empty()) {
    CURL* h = pool_.back();
    pool_.pop_back();
    curl_easy_reset(h);
    return h;
  }
  return curl_easy_init();
}

void HttpProber::returnHandle(CURL* h) {
  if (pool_.size() < kMaxPooledHandles) {
    pool_.push_back(h);
  } else {
    curl_easy_cleanup(h);
  }
}

bool statusExpected(const std::vector<config::StatusRange>& ranges, int code) {
  for (const auto& r : ranges) {
    if (r.contains(code)) return true;
  }
  return false;
}

int64_t parseCertExpiry(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%b %d %H:%M:%S %Y", &tm);
  if (end == nullptr) return -1;
  return static_cast<int64_t>(timegm(&tm));
}

namespace {

size_t onHeader(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<HttpProber::Transfer*>(userp);
  const size_t len = size * n;
  t->headerBytes += static_cast<int64_t>(len);
  if (t->headerBytes > t->check->maxHeaderBytes) {
    t->tooLarge = true;
    t->tooLargeWhat = fmt::format("response headers exceed {} bytes", t->check->maxHeaderBytes);
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  (void)data;
  return len;
}

size_t onBody(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<HttpProber::Transfer*>(userp);
  const size_t len = size * n;
  t->bodyBytes += static_cast<int64_t>(len);
  if (t->bodyBytes > t->check->maxBodyBytes) {
    t->tooLarge = true;
    t->tooLargeWhat = fmt::format("body exceeds {} bytes", t->check->maxBodyBytes);
    return 0;
  }
  if (t->bodyOut != nullptr) t->bodyOut->append(data, len);
  if (t->check->bodyMustContain && !t->found) {
    const std::string& needle = *t->check->bodyMustContain;
    std::string window = t->carry;
    window.append(data, len);
    if (window.find(needle) != std::string::npos) {
      t->found = true;
      t->carry.clear();
    } else if (needle.size() > 1) {
      size_t keep = std::min(window.size(), needle.size() - 1);
      t->carry.assign(window, window.size() - keep, keep);
    }
  }
  return len;
}

FailureReason reasonFor(CURLcode rc, long osErrno) {
  switch (rc) {
    case CURLE_OK: return FailureReason::kNone;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return FailureReason::kDns;
    case CURLE_COULDNT_CONNECT:
      return osErrno == ECONNREFUSED ? FailureReason::kRefused : FailureReason::kConnect;
    case CURLE_OPERATION_TIMEDOUT: return FailureReason::kTimeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED: return FailureReason::kTls;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: return FailureReason::kReset;
    case CURLE_TOO_MANY_REDIRECTS: return FailureReason::kRedirects;
    case CURLE_FILESIZE_EXCEEDED: return FailureReason::kTooLarge;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_HTTP3: return FailureReason::kProtocol;
    case CURLE_URL_MALFORMAT: return FailureReason::kInternal;
    default: return FailureReason::kConnect;
  }
}

double secondsBetween(curl_off_t a, curl_off_t b) {
  // curl's *_TIME_T values are microseconds since the start; a phase that did not happen is 0.
  return b > a ? static_cast<double>(b - a) / 1e6 : 0.0;
}

}  // namespace

// tls.server_name, as blackbox_exporter's: the name sent in SNI and checked against the
// certificate, while the connection still goes to the URL's host and the Host header still
// names it. curl takes the TLS name from the URL, so the URL's host is renamed and CONNECT_TO
// sends the renamed host's connections to the original address.
std::string HttpProber::applyServerName(Transfer* t, const config::HttpCheck& check) {
  if (!check.url.starts_with("https://") && !check.url.starts_with("HTTPS://")) return {};
  CURLU* u = curl_url();
  char* host = nullptr;
  char* port = nullptr;
  char* renamed = nullptr;
  std::string err;
  if (curl_url_set(u, CURLUPART_URL, check.url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
    err = "cannot parse the URL to apply tls.server_name";
  } else if (curl_url_set(u, CURLUPART_HOST, check.tls.serverName.c_str(), 0) != CURLUE_OK ||
             curl_url_get(u, CURLUPART_URL, &renamed, 0) != CURLUE_OK) {
    err = fmt::format("tls.server_name \"{}\" is not a valid host name", check.tls.serverName);
  } else {
    t->url = renamed;
    t->connectTo = curl_slist_append(
        nullptr, fmt::format("{}:{}:{}:{}", check.tls.serverName, port, host, port).c_str());
    const bool ownHost = std::any_of(check.headers.begin(), check.headers.end(), [](const auto& h) {
      return h.first.size() == 4 && strncasecmp(h.first.c_str(), "host", 4) == 0;
    });
    if (!ownHost) {
      char* explicitPort = nullptr;
      const bool hasPort = curl_url_get(u, CURLUPART_PORT, &explicitPort, 0) == CURLUE_OK;
      t->headers = curl_slist_append(
          t->headers, (hasPort ? fmt::format("Host: {}:{}", host, explicitPort)
                               : fmt::format("Host: {}", host)).c_str());
      curl_free(explicitPort);
    }
  }
  curl_free(host);
  curl_free(port);
  curl_free(renamed);
  curl_url_cleanup(u);
  return err;
}

void HttpProber::start(const config::HttpCheck& check, Duration timeout, ProbeCompletion done) {
  start(check, timeout, std::move(done), HttpProbeOptions{});
}

void HttpProber::start(const config::HttpCheck& check, Duration timeout, ProbeCompletion done,
                       HttpProbeOptions options) {
  auto* t = new Transfer;
  t->prober = this;
  t->check = &check;
  t->done = std::move(done);
  t->bodyOut = options.body;
  t->easy = takeHandle();
  if (t->easy == nullptr) {
    ProbeResult r;
    r.reason = FailureReason::kInternal;
    r.error = "cannot allocate a curl handle";
    auto cb = std::move(t->done);
    delete t;
    cb(std::move(r));
    return;
  }
  CURL* e = t->easy;
  t->url = check.url;
  if (!check.tls.serverName.empty()) {
    if (auto err = applyServerName(t, check); !err.empty()) {
      ProbeResult r;
      r.reason = FailureReason::kInternal;
      r.error = err;
      returnHandle(e);
      auto cb = std::move(t->done);
      delete t;
      cb(std::move(r));
      return;
    }
  }
  curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, check.followRedirects ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(check.maxRedirects));
  curl_easy_setopt(e, CURLOPT_USERAGENT, kUserAgent);
  // "" = every encoding curl can decode; the body callback then counts decoded bytes, so a
  // compression bomb hits max_body_bytes like any other large body.
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  if (check.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (check.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, check.method.c_str());
  }
  if (!check.body.empty()) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(check.body.size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, check.body.c_str());
  }
  for (const auto& [k, v] : check.headers) {
    t->headers = curl_slist_append(t->headers, fmt::format("{}: {}", k, v).c_str());
  }
  if (t->headers != nullptr) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  if (t->connectTo != nullptr) curl_easy_setopt(e, CURLOPT_CONNECT_TO, t->connectTo);
  const bool https = check.url.starts_with("https://") || check.url.starts_with("HTTPS://");
  if (https || check.followRedirects) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, check.tls.insecureSkipVerify ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, check.tls.insecureSkipVerify ? 0L : 2L);
    if (!check.tls.caFile.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, check.tls.caFile.c_str());
    if (!check.tls.certFile.empty()) {
      curl_easy_setopt(e, CURLOPT_SSLCERT, check.tls.certFile.c_str());
    }
    if (!check.tls.keyFile.empty()) curl_easy_setopt(e, CURLOPT_SSLKEY, check.tls.keyFile.c_str());
    // Certificate details are only needed for probe_ssl_earliest_cert_expiry.
    if (https) curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
  }
  loop_.addTransfer(e, [this, t](CURLcode rc) { finish(t, rc); });
}

void HttpProber::finish(Transfer* t, CURLcode rc) {
  CURL* e = t->easy;
  const config::HttpCheck& check = *t->check;
  ProbeResult r;

  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  long osErrno = 0;
  curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &osErrno);
  long redirects = 0;
  curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &redirects);
  curl_off_t tDns = 0, tConnect = 0, tTls = 0, tPre = 0, tStart = 0, tTotal = 0, cl = -1;
  curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &tDns);
  curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &tConnect);
  curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &tTls);
  curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &tPre);
  curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &tStart);
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &tTotal);
  curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
  char* effective = nullptr;
  curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &effective);
  const bool finalHttps = effective != nullptr && std::strncmp(effective, "https://", 8) == 0;

  r.durationSeconds = static_cast<double>(tTotal) / 1e6;
  r.reason = reasonFor(rc, osErrno);
  if (t->tooLarge) {
    r.reason = FailureReason::kTooLarge;
    r.error = t->tooLargeWhat;
  } else if (rc != CURLE_OK) {
    r.error = t->errbuf[0] != '\0' ? std::string(t->errbuf) : curl_easy_strerror(rc);
  } else if (!statusExpected(check.expectStatus, static_cast<int>(status))) {
    r.reason = FailureReason::kStatus;
    r.error = fmt::format("status {} is not in expect_status", status);
  } else if (check.bodyMustContain && !t->found && check.method != "HEAD") {
    r.reason = FailureReason::kBody;
    r.error = "body does not contain the body_must_contain text";
  }

  // Phases as blackbox_exporter reports them. Without TLS, curl's appconnect is 0 and the
  // request is sent right after connect.
  const curl_off_t afterHandshake = tTls > 0 ? tTls : tConnect;
  auto phase = [&r](std::string_view name, double v) {
    r.samples.push_back(ProbeSample{std::string(names::kProbeHttpDurationSeconds),
                                    Labels{Label{std::string(names::kPhase), std::string(name)}},
                                    v});
  };
  phase("resolve", secondsBetween(0, tDns));
  phase("connect", secondsBetween(tDns, tConnect));
  phase("tls", tTls > 0 ? secondsBetween(tConnect, tTls) : 0.0);
  phase("processing", secondsBetween(std::max(afterHandshake, tPre), tStart));
  phase("transfer", secondsBetween(tStart, tTotal));
  auto add = [&r](std::string_view name, double v) {
    r.samples.push_back(ProbeSample{std::string(name), {}, v});
  };
  add(names::kProbeHttpStatusCode, static_cast<double>(status));
  add(names::kProbeHttpContentLength, static_cast<double>(cl));
  add(names::kProbeHttpUncompressedBodyLength, static_cast<double>(t->bodyBytes));
  add(names::kProbeHttpRedirects, static_cast<double>(redirects));
  add(names::kProbeHttpSsl, finalHttps ? 1.0 : 0.0);
  if (finalHttps) {
    curl_certinfo* ci = nullptr;
    int64_t earliest = -1;
    if (curl_easy_getinfo(e, CURLINFO_CERTINFO, &ci) == CURLE_OK && ci != nullptr) {
      for (int i = 0; i < ci->num_of_certs; ++i) {
        for (curl_slist* s = ci->certinfo[i]; s != nullptr; s = s->next) {
          std::string_view line(s->data);
          if (line.starts_with("Expire date:")) {
            int64_t exp = parseCertExpiry(std::string(line.substr(12)));
            if (exp > 0 && (earliest < 0 || exp < earliest)) earliest = exp;
          }
        }
      }
    }
    if (earliest > 0) add(names::kProbeSslEarliestCertExpiry, static_cast<double>(earliest));
  }

  r.trace.push_back(fmt::format("resolve    {:8.3f} ms", secondsBetween(0, tDns) * 1e3));
  r.trace.push_back(fmt::format("connect    {:8.3f} ms", secondsBetween(tDns, tConnect) * 1e3));
  if (tTls > 0) {
    r.trace.push_back(fmt::format("tls        {:8.3f} ms", secondsBetween(tConnect, tTls) * 1e3));
  }
  r.trace.push_back(fmt::format("first byte {:8.3f} ms", static_cast<double>(tStart) / 1e3));
  r.trace.push_back(fmt::format("total      {:8.3f} ms", static_cast<double>(tTotal) / 1e3));
  r.trace.push_back(fmt::format("status     {}", status));
  r.trace.push_back(fmt::format("body       {} bytes", t->bodyBytes));
  if (redirects > 0) r.trace.push_back(fmt::format("redirects  {}", redirects));

  if (t->headers != nullptr) curl_slist_free_all(t->headers);
  if (t->connectTo != nullptr) curl_slist_free_all(t->connectTo);
  returnHandle(e);
  ProbeCompletion done = std::move(t->done);
  delete t;
  done(std::move(r));
}

}  // namespace vigil
