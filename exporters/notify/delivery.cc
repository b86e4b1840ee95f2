#include "exporters/notify/delivery.h"

#include <algorithm>
#include <utility>

#include "agent/core/log.h"
#include "exporters/metrics/names.h"

namespace vigil::notify {

namespace {

// Results, as the `result` label of vigil_notifications_total has them.
constexpr const char* kSuccess = "success";
constexpr const char* kFailure = "failure";
constexpr const char* kDropped = "dropped";
constexpr const char* kRejected = "rejected";

// The longest the thread sleeps without looking at the clock: an injected clock may jump (tests,
// or the wall clock being set), and a second late is the worst that costs.
constexpr int kMaxPollMs = 1000;

std::string quoteAnswer(const std::string& answer) {
  if (answer.size() <= Delivery::kLoggedAnswerBytes) return answer;
  return answer.substr(0, Delivery::kLoggedAnswerBytes) + "...";
}

Labels receiverLabels(std::string_view name, const std::string& receiver) {
  Labels l;
  set(l, kMetricNameLabel, name);
  set(l, names::kReceiver, receiver);
  return l;
}

}  // namespace

struct Delivery::Queue {
  Queue(series::SeriesStore* store, std::string name, TimestampMs now)
      : receiver(std::move(name)), metrics(store) {
    if (metrics == nullptr) return;
    auto counter = [&](const char* result) {
      Labels l;
      set(l, names::kReceiver, receiver);
      set(l, names::kResult, result);
      series::StoreCounter c(*metrics, names::kNotificationsTotal, std::move(l));
      c.touch(now);
      return c;
    };
    success = counter(kSuccess);
    failure = counter(kFailure);
    dropped = counter(kDropped);
    rejected = counter(kRejected);
    length = metrics->ref(receiverLabels(names::kNotificationQueueLength, receiver));
    oldest = metrics->ref(receiverLabels(names::kNotificationOldestUndeliveredSeconds, receiver));
  }
  ~Queue() {
    if (metrics == nullptr) return;
    const TimestampMs now = SystemClock::instance().nowMs();
    metrics->release(length, now);
    metrics->release(oldest, now);
  }
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  series::StoreCounter& counter(const std::string& result) {
    if (result == kSuccess) return success;
    if (result == kFailure) return failure;
    if (result == kRejected) return rejected;
    return dropped;
  }

  std::string receiver;
  std::deque<state::OutboxEntry> entries;  // by id; the head is the only one ever in flight
  bool busy = false;
  std::string lastErrorKind;  // what was last logged as failing; empty while healthy
  series::SeriesStore* metrics;
  series::StoreCounter success, failure, dropped, rejected;
  series::SeriesRef length = series::kNoSeries;
  series::SeriesRef oldest = series::kNoSeries;
};

struct Delivery::InFlight {
  Queue* queue;
  int64_t id;
  std::unique_ptr<WebhookTransfer> transfer;
};

Delivery::Delivery(OutboxStore& store, series::SeriesStore* metrics, const Clock& clock)
    : Delivery(store, metrics, clock, Options{}) {}

Delivery::Delivery(OutboxStore& store, series::SeriesStore* metrics, const Clock& clock,
                   Options options)
    : store_(store),
      metrics_(metrics),
      clock_(clock),
      options_(std::move(options)),
      rng_(options_.seed != 0 ? options_.seed : std::random_device{}()) {
  multi_ = curl_multi_init();
}

Delivery::~Delivery() {
  stop();
  for (auto& [easy, f] : inFlight_) curl_multi_remove_handle(multi_, easy);
  inFlight_.clear();
  queues_.clear();
  curl_multi_cleanup(multi_);
}

void Delivery::setReceivers(const std::vector<config::Receiver>& receivers) {
  {
    std::lock_guard lock(mu_);
    newReceivers_ = receivers;
  }
  poke();
}

Status Delivery::start() {
  if (started_) return Ok{};
  auto pending = store_.pending();
  if (!pending) return Error{"outbox: " + pending.error().message};
  {
    std::lock_guard lock(mu_);
    // Anything submitted before start() is already in the outbox, hence in `pending`.
    std::vector<state::OutboxEntry> inbox = std::move(pending).value();
    std::sort(inbox.begin(), inbox.end(),
              [](const auto& a, const auto& b) { return a.id < b.id; });
    if (!inbox.empty()) {
      LOG_INFO("resuming undelivered notifications from the outbox",
               {"count", std::to_string(inbox.size())});
    }
    for (auto& e : inbox_) {
      if (e.id < 0) inbox.push_back(std::move(e));
    }
    inbox_ = std::move(inbox);
    stopping_ = false;
  }
  started_ = true;
  thread_ = std::thread([this] { run(); });
  return Ok{};
}

void Delivery::stop() {
  if (!started_) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  poke();
  thread_.join();
  started_ = false;
}

int64_t Delivery::submit(const Notification& n) {
  const TimestampMs now = clock_.nowMs();
  state::OutboxEntry e;
  e.receiver = n.receiver;
  e.groupKey = n.groupKey;
  e.idempotencyKey = n.idempotencyKey;
  e.contentType = n.contentType;
  e.body = n.body;
  e.resolved = n.resolved;
  e.createdAt = n.createdAt != 0 ? n.createdAt : now;
  e.expiresAt = now + options_.expiry.count();
  e.nextAttemptAt = now;
  auto id = store_.enqueue(e);
  {
    std::lock_guard lock(mu_);
    if (id.ok()) {
      e.id = *id;
    } else {
      e.id = nextMemoryId_--;
      LOG_ERROR("cannot write the notification to the outbox; sending it from memory only",
                {"receiver", n.receiver}, {"err", id.error().message});
    }
    inbox_.push_back(e);
  }
  poke();
  return e.id;
}

void Delivery::poke() { curl_multi_wakeup(multi_); }

void Delivery::run() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    takeInbox();
    const TimestampMs now = clock_.nowMs();
    TimestampMs next = 0;
    for (auto& [name, q] : queues_) {
      const TimestampMs t = service(*q, now);
      if (t != 0 && (next == 0 || t < next)) next = t;
    }
    updateGauges(now);
    // Queues of receivers that are gone, once drained, take their series with them.
    for (auto it = queues_.begin(); it != queues_.end();) {
      if (!it->second->busy && it->second->entries.empty() && !receivers_.count(it->first)) {
        it = queues_.erase(it);
      } else {
        ++it;
      }
    }
    int timeout = kMaxPollMs;
    if (next != 0) timeout = static_cast<int>(std::clamp<int64_t>(next - now, 1, kMaxPollMs));
    curl_multi_poll(multi_, nullptr, 0, timeout, nullptr);
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      auto it = inFlight_.find(m->easy_handle);
      if (it == inFlight_.end()) continue;
      const CURLcode code = m->data.result;
      curl_multi_remove_handle(multi_, m->easy_handle);
      std::unique_ptr<InFlight> f = std::move(it->second);
      inFlight_.erase(it);
      finish(*f, code);
    }
  }
}

void Delivery::takeInbox() {
  std::vector<state::OutboxEntry> inbox;
  std::optional<std::vector<config::Receiver>> receivers;
  {
    std::lock_guard lock(mu_);
    inbox.swap(inbox_);
    receivers.swap(newReceivers_);
  }
  if (receivers) applyReceivers(std::move(*receivers));
  for (auto& e : inbox) queueFor(e.receiver).entries.push_back(std::move(e));
}

void Delivery::applyReceivers(std::vector<config::Receiver> receivers) {
  receivers_.clear();
  haveReceivers_ = true;
  for (auto& r : receivers) {
    const std::string name = r.name;
    receivers_.emplace(name, std::move(r));
    (void)queueFor(name);  // so a receiver's series exist (at 0) before its first notification
  }
}

Delivery::Queue& Delivery::queueFor(const std::string& receiver) {
  auto it = queues_.find(receiver);
  if (it == queues_.end()) {
    it = queues_.emplace(receiver, std::make_unique<Queue>(metrics_, receiver, clock_.nowMs()))
             .first;
  }
  return *it->second;
}

TimestampMs Delivery::service(Queue& q, TimestampMs now) {
  // Until the receivers are known, nothing can be told apart from a receiver that is gone.
  if (!haveReceivers_) return 0;
  while (!q.busy && !q.entries.empty()) {
    state::OutboxEntry& e = q.entries.front();
    if (e.expiresAt != 0 && e.expiresAt <= now) {
      dropHead(q, "expired undelivered after " + std::to_string(e.attempts) + " attempts" +
                      (e.lastError.empty() ? "" : "; last error: " + e.lastError),
               kDropped);
      continue;
    }
    auto rit = receivers_.find(q.receiver);
    if (rit == receivers_.end()) {
      dropHead(q, "receiver gone from the configuration", kDropped);
      continue;
    }
    if (e.nextAttemptAt > now) return e.nextAttemptAt;
    const config::Receiver& r = rit->second;
    if (r.console) {
      std::string block = e.body;
      if (block.empty() || block.back() != '\n') block.push_back('\n');
      std::fwrite(block.data(), 1, block.size(), options_.console);
      std::fflush(options_.console);
      succeeded(q);
      continue;
    }
    if (!r.webhook) {
      dropHead(q, "receiver has neither webhook nor console", kDropped);
      continue;
    }
    auto req = buildWebhookRequest(e, *r.webhook);
    if (!req) {
      failed(q, now, 0, req.error().message, req.error().message);
      continue;
    }
    auto f = std::make_unique<InFlight>(InFlight{&q, e.id, std::make_unique<WebhookTransfer>(*req)});
    CURL* easy = f->transfer->easy();
    if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
      failed(q, now, 0, "cannot start the transfer", "cannot start the transfer");
      continue;
    }
    inFlight_.emplace(easy, std::move(f));
    q.busy = true;
  }
  return 0;
}

void Delivery::finish(InFlight& f, CURLcode code) {
  Queue& q = *f.queue;
  q.busy = false;
  if (q.entries.empty() || q.entries.front().id != f.id) return;  // cannot happen: head only
  const TimestampMs now = clock_.nowMs();
  if (code != CURLE_OK) {
    failed(q, now, 0, f.transfer->errorText(code), curl_easy_strerror(code));
    return;
  }
  const long status = f.transfer->status();
  switch (classify(status)) {
    case SendOutcome::kDelivered:
      succeeded(q);
      return;
    case SendOutcome::kRejected:
      rejected(q, status, f.transfer->response());
      return;
    case SendOutcome::kRetry:
      failed(q, now, status,
             "HTTP " + std::to_string(status) +
                 (f.transfer->response().empty() ? "" : ": " + quoteAnswer(f.transfer->response())),
             "HTTP " + std::to_string(status));
      return;
  }
}

void Delivery::succeeded(Queue& q) {
  const state::OutboxEntry e = std::move(q.entries.front());
  q.entries.pop_front();
  if (e.id > 0) {
    if (Status st = store_.delivered(e.id); !st.ok()) {
      LOG_ERROR("outbox: cannot mark a notification delivered; it may be sent again",
                {"receiver", q.receiver}, {"err", st.error().message});
    }
  }
  if (!q.lastErrorKind.empty()) {
    LOG_INFO("receiver accepts notifications again", {"receiver", q.receiver},
             {"attempts", std::to_string(e.attempts + 1)});
    q.lastErrorKind.clear();
  }
  LOG_DEBUG("notification delivered", {"receiver", q.receiver},
            {"idempotency_key", e.idempotencyKey}, {"attempts", std::to_string(e.attempts + 1)});
  emit(q, e.id, kSuccess, 0, "");
}

void Delivery::failed(Queue& q, TimestampMs now, long status, const std::string& error,
                      const std::string& kind) {
  state::OutboxEntry& e = q.entries.front();
  e.attempts += 1;
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  const Duration delay = options_.backoff.delay(e.attempts, u);
  e.nextAttemptAt = now + delay.count();
  e.lastError = error;
  if (e.id > 0) {
    if (Status st = store_.retryLater(e.id, e.attempts, e.nextAttemptAt, error); !st.ok()) {
      LOG_ERROR("outbox: cannot record a failed attempt", {"receiver", q.receiver},
                {"err", st.error().message});
    }
  }
  // One line per change of error, not per attempt: a receiver down for hours logs once.
  if (kind != q.lastErrorKind) {
    LOG_WARN("notification not delivered; will retry", {"receiver", q.receiver},
             {"attempts", std::to_string(e.attempts)},
             {"retry_in", std::to_string(delay.count()) + "ms"}, {"err", error});
    q.lastErrorKind = kind;
  }
  emit(q, e.id, kFailure, status, error);
}

void Delivery::rejected(Queue& q, long status, const std::string& answer) {
  const state::OutboxEntry e = std::move(q.entries.front());
  q.entries.pop_front();
  const std::string reason = "rejected with HTTP " + std::to_string(status);
  LOG_ERROR("receiver rejected the notification; not retrying", {"receiver", q.receiver},
            {"status", std::to_string(status)}, {"answer", quoteAnswer(answer)},
            {"idempotency_key", e.idempotencyKey});
  if (e.id > 0) {
    if (Status st = store_.drop(e.id, reason + ": " + quoteAnswer(answer)); !st.ok()) {
      LOG_ERROR("outbox: cannot drop a rejected notification", {"receiver", q.receiver},
                {"err", st.error().message});
    }
  }
  emit(q, e.id, kRejected, status, reason);
}

void Delivery::dropHead(Queue& q, const std::string& reason, const std::string& result) {
  const state::OutboxEntry e = std::move(q.entries.front());
  q.entries.pop_front();
  LOG_WARN("notification dropped", {"receiver", q.receiver}, {"reason", reason},
           {"idempotency_key", e.idempotencyKey}, {"group_key", e.groupKey});
  if (e.id > 0) {
    if (Status st = store_.drop(e.id, reason); !st.ok()) {
      LOG_ERROR("outbox: cannot drop a notification", {"receiver", q.receiver},
                {"err", st.error().message});
    }
  }
  emit(q, e.id, result, 0, reason);
}

void Delivery::emit(Queue& q, int64_t id, const std::string& result, long status,
                    const std::string& error) {
  if (metrics_ != nullptr) q.counter(result).inc(clock_.nowMs());
  if (options_.onEvent) options_.onEvent(DeliveryEvent{q.receiver, id, result, status, error});
}

void Delivery::updateGauges(TimestampMs now) {
  if (metrics_ == nullptr) return;
  for (auto& [name, q] : queues_) {
    TimestampMs oldest = 0;
    for (const auto& e : q->entries) {
      if (oldest == 0 || e.createdAt < oldest) oldest = e.createdAt;
    }
    metrics_->append(q->length, now, static_cast<double>(q->entries.size()));
    metrics_->append(q->oldest, now,
                     oldest == 0 ? 0.0 : static_cast<double>(std::max<TimestampMs>(0, now - oldest)) / 1000.0);
  }
}

}  // namespace vigil::notify
