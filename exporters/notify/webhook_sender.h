#pragma once
// One webhook POST, as a libcurl easy handle that Delivery drives on its multi handle, plus the
// pure decision of what an answer means. Secrets (bearer token, HMAC key) are read from their
// files when the request is built, i.e. at send time, so rotating a file needs no reload; they go
// into headers only, never into errors or logs.

#include <curl/curl.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/config/config.h"
#include "agent/core/error.h"
#include "agent/state/state_db.h"

namespace vigil::notify {

/// What one attempt's answer means for the notification.
enum class SendOutcome {
  kDelivered,  ///< 2xx: done
  kRetry,      ///< network error, timeout, 408, 429, 5xx, anything else: try again later
  kRejected,   ///< 4xx other than 408/429: the receiver will never accept it; do not retry
};

/// "delivered", "retry", "rejected".
const char* toString(SendOutcome o);

/// `httpStatus` 0 means no HTTP answer (transport error). Pure.
SendOutcome classify(long httpStatus);

/// The file's content with trailing "\n" / "\r\n" removed. Errors name the file, never its
/// content. Thread-safe.
Result<std::string> readSecretFile(const std::string& path);

/// The request for one outbox entry to one webhook: every header, secrets included.
struct WebhookRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Duration timeout{10'000};
  config::TlsConfig tls;
};

/// Builds the request (reads bearer_token_file and hmac_secret_file now). An unreadable secret
/// file is an error naming the file.
Result<WebhookRequest> buildWebhookRequest(const state::OutboxEntry& e, const config::Webhook& w);

/// One transfer in flight: owns its easy handle, header list and the (capped) response body.
/// Not thread-safe; not copyable.
class WebhookTransfer {
 public:
  /// Keeps at most this much of the receiver's answer (enough for any error message).
  static constexpr size_t kMaxResponseBytes = 4096;

  explicit WebhookTransfer(const WebhookRequest& req);
  ~WebhookTransfer();
  WebhookTransfer(const WebhookTransfer&) = delete;
  WebhookTransfer& operator=(const WebhookTransfer&) = delete;

  CURL* easy() const { return easy_; }
  /// The HTTP status after completion (0 when there was no answer).
  long status() const;
  /// The receiver's answer, at most kMaxResponseBytes.
  const std::string& response() const { return response_; }
  /// libcurl's error text for `code` (more precise than curl_easy_strerror when available).
  std::string errorText(CURLcode code) const;

 private:
  static size_t onData(char* p, size_t size, size_t n, void* self);
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string body_;
  std::string response_;
  char errbuf_[CURL_ERROR_SIZE] = {};
};

}  // namespace vigil::notify
