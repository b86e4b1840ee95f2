#pragma once
// Pushing alerts to Alertmanager the way Prometheus' notifier does (SPEC §5): the rule thread
// hands over the alerts that need sending (AlertingRule::alertsToSend: firing ones every resend
// delay, resolved ones once more), which go onto one bounded queue (capacity 10000; when full the
// oldest are dropped and counted); a sender thread takes batches of up to 64 and POSTs each batch
// as JSON to /api/v2/alerts of EVERY configured Alertmanager at once, with a 10 s timeout. There
// are no retries: the next resend covers a failed one, and endsAt (4 x the resend delay ahead)
// keeps Alertmanager from resolving the alert in between. Alertmanagers deduplicate what several
// agents of an HA pair push.

#include <curl/curl.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/labels.h"
#include "agent/rules/alerting.h"
#include "agent/series/instruments.h"
#include "agent/series/series_store.h"

namespace vigil::notify {

/// One alert as Alertmanager's API v2 takes it (Prometheus' notifier.Alert).
struct PushAlert {
  Labels labels;
  std::vector<std::pair<std::string, std::string>> annotations;
  TimestampMs startsAt = 0;
  TimestampMs endsAt = 0;
  std::string generatorURL;
};

/// Prometheus' sendAlerts conversion: startsAt = firedAt; endsAt = resolvedAt once resolved,
/// else validUntil (ahead of now while firing); generatorURL as generatorURL() in rule_alerts.h.
PushAlert toPushAlert(const rules::Alert& a, std::string_view expr, std::string_view externalURL);

/// The body of POST /api/v2/alerts: a JSON array of {labels, annotations, startsAt, endsAt,
/// generatorURL}. Pure.
std::string alertsBody(const std::vector<PushAlert>& alerts);

/// "<base>/api/v2/alerts" (one slash between them, whatever `base` ends with). Pure.
std::string alertsEndpoint(std::string_view base);

/// `url` without "user:password@", for metric labels and logs. Pure.
std::string redactUserinfo(std::string_view url);

class AlertmanagerPush {
 public:
  struct Options {
    /// Prometheus' default --alertmanager.notification-queue-capacity.
    size_t capacity = 10000;
    /// Prometheus' maxBatchSize.
    size_t maxBatch = 64;
    /// Per request; Prometheus' default alertmanager timeout.
    Duration timeout{10'000};
  };

  /// `metrics` may be null. Neither it nor `clock` is owned.
  AlertmanagerPush(series::SeriesStore* metrics, const Clock& clock, Options options);
  AlertmanagerPush(series::SeriesStore* metrics, const Clock& clock);
  ~AlertmanagerPush();
  AlertmanagerPush(const AlertmanagerPush&) = delete;
  AlertmanagerPush& operator=(const AlertmanagerPush&) = delete;

  /// Sets the Alertmanagers (base URLs, e.g. http://am:9093) and the external labels added to
  /// every alert that lacks them. Thread-safe; called at start and on every reload.
  void configure(const std::vector<std::string>& alertmanagers, const Labels& externalLabels);

  /// Queues `alerts` (external labels added now) and returns at once. With no Alertmanager
  /// configured it does nothing. Thread-safe.
  void send(std::vector<PushAlert> alerts);

  /// Starts / stops the sender thread. stop() waits for a batch in flight (at most the timeout);
  /// what is still queued is dropped: the resend after a restart covers it.
  void start();
  void stop();

  /// Alerts waiting. Thread-safe.
  size_t queueLength() const;
  /// Alerts dropped so far (queue full, or no Alertmanager took them). Thread-safe.
  uint64_t dropped() const;

 private:
  struct Target;
  void run();
  void sendBatch(const std::vector<PushAlert>& batch);
  void addDroppedLocked(size_t n);
  void updateQueueGaugeLocked();

  series::SeriesStore* metrics_;
  const Clock& clock_;
  Options options_;
  CURLM* multi_ = nullptr;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  std::deque<PushAlert> queue_;
  std::vector<std::shared_ptr<Target>> targets_;
  Labels externalLabels_;
  uint64_t dropped_ = 0;
  bool stopping_ = false;
  bool started_ = false;
  series::StoreCounter droppedCounter_;
  series::SeriesRef queueLength_ = series::kNoSeries;
  series::SeriesRef queueCapacity_ = series::kNoSeries;
  std::thread thread_;
};

}  // namespace vigil::notify
