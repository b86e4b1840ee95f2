#pragma once
// Delivery: what happens after a Notification exists (SPEC §5, STYLE rule 7's outbox and
// send/retry stages). Each notification is written to the durable outbox before its first
// attempt, then sent on the delivery thread through one libcurl multi handle:
//
//   - one FIFO queue per receiver; only the head of a queue is in flight, so a receiver gets its
//     notifications in order, and a slow or failing receiver never delays another;
//   - 2xx: delivered (removed from the outbox); 4xx other than 408/429: rejected, not retried,
//     logged with the receiver's answer; anything else: retried with jittered exponential
//     backoff (capped) until delivered or expired (default 24 h), then dropped and logged;
//   - on start, everything pending in the outbox is resumed: after a crash nothing is lost, and
//     the idempotency key, the same on every attempt, lets receivers drop duplicates.
//
// Time (backoff, expiry) comes from the injected Clock; the HTTP part is real.

#include <curl/curl.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/config/config.h"
#include "agent/core/clock.h"
#include "agent/core/error.h"
#include "agent/series/instruments.h"
#include "agent/series/series_store.h"
#include "exporters/notify/backoff.h"
#include "exporters/notify/notification.h"
#include "exporters/notify/outbox_store.h"
#include "exporters/notify/webhook_sender.h"

namespace vigil::notify {

/// What became of one attempt (or of an entry without one: expired, receiver gone). The result
/// names are the `result` label of vigil_notifications_total.
struct DeliveryEvent {
  std::string receiver;
  int64_t id = 0;
  std::string result;  ///< "success" | "failure" | "dropped" | "rejected"
  long httpStatus = 0; ///< 0 when there was no HTTP answer (or for console / drops)
  std::string error;   ///< empty on success
};

class Delivery {
 public:
  /// The length of a receiver's answer quoted in logs when it rejects a notification.
  static constexpr size_t kLoggedAnswerBytes = 512;

  struct Options {
    /// Undelivered notifications older than this are dropped (counted and logged).
    Duration expiry{24 * 3600'000};
    BackoffPolicy backoff;
    /// Where the console receiver prints (stdout in the agent).
    std::FILE* console = stdout;
    /// Seed of the jitter's random draws; 0: from std::random_device.
    uint64_t seed = 0;
    /// Called on the delivery thread after every outcome (tests wait on it). Must not call back
    /// into Delivery.
    std::function<void(const DeliveryEvent&)> onEvent;
  };

  /// `metrics` may be null (no metrics). Neither `store`, `metrics` nor `clock` is owned; they
  /// must outlive this object.
  Delivery(OutboxStore& store, series::SeriesStore* metrics, const Clock& clock,
           Options options);
  Delivery(OutboxStore& store, series::SeriesStore* metrics, const Clock& clock);
  /// Stops the thread; transfers in flight are abandoned (they stay in the outbox).
  ~Delivery();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  /// Replaces the receivers (from alerting.receivers), at start and on every reload. Entries for
  /// a receiver that no longer exists are dropped with reason "receiver gone" when they come up.
  /// Nothing is sent (or dropped) before the first call. Thread-safe.
  void setReceivers(const std::vector<config::Receiver>& receivers);

  /// Loads every pending entry of the outbox (by id) and starts the delivery thread. Errors when
  /// the outbox cannot be read.
  Status start();
  /// Stops the thread. Idempotent.
  void stop();

  /// Writes `n` to the outbox (durable when this returns) and queues it for sending. Returns its
  /// outbox id. When the outbox cannot be written the error is logged and the notification is
  /// still sent from memory (better than not at all), with a negative id. Thread-safe.
  int64_t submit(const Notification& n);

  /// Wakes the delivery thread to look at the clock again (tests that advance a ManualClock).
  /// Thread-safe.
  void poke();

 private:
  struct Queue;
  struct InFlight;

  void run();
  void takeInbox();
  void applyReceivers(std::vector<config::Receiver> receivers);
  Queue& queueFor(const std::string& receiver);
  /// Starts or finishes what is due in `q`; returns the next time it needs attention (or 0).
  TimestampMs service(Queue& q, TimestampMs now);
  void finish(InFlight& f, CURLcode code);
  void succeeded(Queue& q);
  /// `kind` is what the log compares to decide whether the error changed (no timings in it).
  void failed(Queue& q, TimestampMs now, long status, const std::string& error,
              const std::string& kind);
  void rejected(Queue& q, long status, const std::string& answer);
  void dropHead(Queue& q, const std::string& reason, const std::string& result);
  void emit(Queue& q, int64_t id, const std::string& result, long status,
            const std::string& error);
  void updateGauges(TimestampMs now);

  OutboxStore& store_;
  series::SeriesStore* metrics_;
  const Clock& clock_;
  Options options_;
  std::mt19937_64 rng_;

  CURLM* multi_ = nullptr;

  std::mutex mu_;  // guards inbox_, newReceivers_, stopping_, nextMemoryId_
  std::vector<state::OutboxEntry> inbox_;
  std::optional<std::vector<config::Receiver>> newReceivers_;
  bool stopping_ = false;
  int64_t nextMemoryId_ = -1;
  bool started_ = false;
  std::thread thread_;

  // Owned by the delivery thread once started.
  std::map<std::string, config::Receiver> receivers_;
  bool haveReceivers_ = false;
  std::map<std::string, std::unique_ptr<Queue>> queues_;
  std::map<CURL*, std::unique_ptr<InFlight>> inFlight_;
};

}  // namespace vigil::notify
