#include "exporters/notify/webhook_sender.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "exporters/notify/hmac.h"

namespace vigil::notify {

const char* toString(SendOutcome o) {
  switch (o) {
    case SendOutcome::kDelivered: return "delivered";
    case SendOutcome::kRetry: return "retry";
    case SendOutcome::kRejected: return "rejected";
  }
  return "unknown";
}

SendOutcome classify(long httpStatus) {
  if (httpStatus >= 200 && httpStatus < 300) return SendOutcome::kDelivered;
  // 408 and 429 say "not now": the same request may succeed later. Every other 4xx says the
  // request itself is wrong (bad token, bad payload), and repeating it only repeats the error.
  if (httpStatus >= 400 && httpStatus < 500 && httpStatus != 408 && httpStatus != 429) {
    return SendOutcome::kRejected;
  }
  return SendOutcome::kRetry;
}

Result<std::string> readSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path + ": " + std::strerror(errno)};
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

Result<WebhookRequest> buildWebhookRequest(const state::OutboxEntry& e,
                                           const config::Webhook& w) {
  WebhookRequest r;
  r.url = w.url;
  r.body = e.body;
  r.timeout = w.timeout;
  r.tls = w.tls;
  r.headers.emplace_back("Content-Type", e.contentType.empty() ? "application/json"
                                                               : e.contentType);
  r.headers.emplace_back("User-Agent", "vigil");
  r.headers.emplace_back("X-Vigil-Idempotency-Key", e.idempotencyKey);
  if (!w.routingKeyFile.empty()) {
    // The key goes into the body only here, on the way out: the outbox never holds it.
    auto key = readSecretFile(w.routingKeyFile);
    if (!key) return Error{"routing_key_file: " + key.error().message};
    auto body = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) {
      return Error{"routing_key_file: the notification body is not a JSON object"};
    }
    body["routing_key"] = *key;
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (!w.bearerTokenFile.empty()) {
    auto token = readSecretFile(w.bearerTokenFile);
    if (!token) return Error{"bearer_token_file: " + token.error().message};
    r.headers.emplace_back("Authorization", "Bearer " + *token);
  }
  if (!w.hmacSecretFile.empty()) {
    auto secret = readSecretFile(w.hmacSecretFile);
    if (!secret) return Error{"hmac_secret_file: " + secret.error().message};
    r.headers.emplace_back("X-Vigil-Signature", signatureHeaderValue(*secret, r.body));
  }
  return r;
}

WebhookTransfer::WebhookTransfer(const WebhookRequest& req) : body_(req.body) {
  easy_ = curl_easy_init();
  for (const auto& [k, v] : req.headers) headers_ = curl_slist_append(headers_, (k + ": " + v).c_str());
  // No "Expect: 100-continue" round trip for bodies over 1 KiB.
  headers_ = curl_slist_append(headers_, "Expect:");
  curl_easy_setopt(easy_, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(easy_, CURLOPT_POST, 1L);
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.data());
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &WebhookTransfer::onData);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_);
  // Redirects are not followed: a POST to a moved hook is a configuration error to surface.
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, req.tls.insecureSkipVerify ? 0L : 1L);
  curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, req.tls.insecureSkipVerify ? 0L : 2L);
  if (!req.tls.caFile.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, req.tls.caFile.c_str());
  if (!req.tls.certFile.empty()) {
    curl_easy_setopt(easy_, CURLOPT_SSLCERT, req.tls.certFile.c_str());
  }
  if (!req.tls.keyFile.empty()) curl_easy_setopt(easy_, CURLOPT_SSLKEY, req.tls.keyFile.c_str());
}

WebhookTransfer::~WebhookTransfer() {
  curl_easy_cleanup(easy_);
  curl_slist_free_all(headers_);
}

long WebhookTransfer::status() const {
  long code = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

std::string WebhookTransfer::errorText(CURLcode code) const {
  // The error buffer can name the URL's host and port, never its path or query (where a hook's
  // token would be).
  return errbuf_[0] != '\0' ? std::string(errbuf_) : std::string(curl_easy_strerror(code));
}

size_t WebhookTransfer::onData(char* p, size_t size, size_t n, void* self) {
  auto* t = static_cast<WebhookTransfer*>(self);
  const size_t len = size * n;
  const size_t room = kMaxResponseBytes - std::min(kMaxResponseBytes, t->response_.size());
  t->response_.append(p, std::min(room, len));
  return len;
}

}  // namespace vigil::notify
