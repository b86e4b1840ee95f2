#pragma once
// The unit of delivery: one rendered message for one receiver. The dispatcher (routing and
// grouping, dispatcher.h) produces them; the delivery side (outbox, retries, senders) takes them
// from there. A Notification carries no secrets: URLs, bearer tokens and HMAC keys come from the
// receiver's config at send time, so what is persisted in the outbox is safe to keep on disk.

#include <string>

#include "agent/core/clock.h"

namespace vigil::notify {

struct Notification {
  std::string receiver;        ///< receiver name from alerting.receivers
  std::string groupKey;        ///< Alertmanager-style group key, e.g. {}/{severity="page"}:{alertname="X"}
  std::string idempotencyKey;  ///< unique per notification; sent as X-Vigil-Idempotency-Key on every retry
  std::string body;            ///< the rendered payload (JSON for webhooks, text for console)
  std::string contentType = "application/json";
  bool resolved = false;       ///< every alert in it is resolved
  TimestampMs createdAt = 0;
};

}  // namespace vigil::notify
