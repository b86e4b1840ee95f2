#include "exporters/notify/alertmanager_push.h"

#include "exporters/notify/rule_alerts.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "agent/core/log.h"
#include "exporters/metrics/names.h"

namespace vigil::notify {

namespace {

constexpr size_t kLoggedAnswerBytes = 512;
constexpr size_t kMaxAnswerBytes = 4096;

size_t onData(char* p, size_t size, size_t n, void* out) {
  auto* s = static_cast<std::string*>(out);
  const size_t len = size * n;
  if (s->size() < kMaxAnswerBytes) s->append(p, std::min(len, kMaxAnswerBytes - s->size()));
  return len;
}

Labels named(std::string_view name, Labels l = {}) {
  set(l, kMetricNameLabel, name);
  return l;
}

}  // namespace

PushAlert toPushAlert(const rules::Alert& a, std::string_view expr, std::string_view externalURL) {
  PushAlert p;
  p.labels = a.labels;
  p.annotations = a.annotations;
  p.startsAt = a.firedAt;
  p.endsAt = a.resolvedAt != 0 ? a.resolvedAt : a.validUntil;
  p.generatorURL = generatorURL(externalURL, expr);
  return p;
}

std::string alertsBody(const std::vector<PushAlert>& alerts) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& a : alerts) {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& l : a.labels) labels[l.name] = l.value;
    nlohmann::json ann = nlohmann::json::object();
    for (const auto& [k, v] : a.annotations) ann[k] = v;
    arr.push_back({{"labels", labels},
                   {"annotations", ann},
                   {"startsAt", formatRfc3339(a.startsAt)},
                   {"endsAt", formatRfc3339(a.endsAt)},
                   {"generatorURL", a.generatorURL}});
  }
  // Labels and annotations may hold anything a target returned; never throw on bad UTF-8.
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string alertsEndpoint(std::string_view base) {
  std::string s(base);
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s + "/api/v2/alerts";
}

std::string redactUserinfo(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t end = url.find_first_of("/?#", start);
  const size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  return std::string(url.substr(0, start)) + std::string(url.substr(at + 1));
}

struct AlertmanagerPush::Target {
  std::string url;    // the endpoint, as configured (may carry credentials)
  std::string label;  // the endpoint without credentials
  series::StoreCounter sent;
  series::StoreCounter errors;
  std::string lastError;  // logged once per change
};

AlertmanagerPush::AlertmanagerPush(series::SeriesStore* metrics, const Clock& clock)
    : AlertmanagerPush(metrics, clock, Options{}) {}

AlertmanagerPush::AlertmanagerPush(series::SeriesStore* metrics, const Clock& clock,
                                   Options options)
    : metrics_(metrics), clock_(clock), options_(options) {
  multi_ = curl_multi_init();
  if (metrics_ != nullptr) {
    const TimestampMs now = clock_.nowMs();
    droppedCounter_ =
        series::StoreCounter(*metrics_, names::kAlertmanagerNotificationsDroppedTotal, {});
    droppedCounter_.touch(now);
    queueLength_ = metrics_->ref(named(names::kAlertmanagerNotificationQueueLength));
    queueCapacity_ = metrics_->ref(named(names::kAlertmanagerNotificationQueueCapacity));
    metrics_->append(queueLength_, now, 0);
    metrics_->append(queueCapacity_, now, static_cast<double>(options_.capacity));
  }
}

AlertmanagerPush::~AlertmanagerPush() {
  stop();
  {
    std::lock_guard lock(mu_);
    targets_.clear();
  }
  if (metrics_ != nullptr) {
    const TimestampMs now = SystemClock::instance().nowMs();
    metrics_->release(queueLength_, now);
    metrics_->release(queueCapacity_, now);
  }
  curl_multi_cleanup(multi_);
}

void AlertmanagerPush::configure(const std::vector<std::string>& alertmanagers,
                                 const Labels& externalLabels) {
  std::lock_guard lock(mu_);
  externalLabels_ = externalLabels;
  std::vector<std::shared_ptr<Target>> next;
  for (const auto& base : alertmanagers) {
    const std::string url = alertsEndpoint(base);
    auto old = std::find_if(targets_.begin(), targets_.end(),
                            [&](const auto& t) { return t && t->url == url; });
    if (old != targets_.end()) {
      next.push_back(std::move(*old));  // keeps its counters
      continue;
    }
    auto t = std::make_shared<Target>();
    t->url = url;
    t->label = redactUserinfo(url);
    if (metrics_ != nullptr) {
      const TimestampMs now = clock_.nowMs();
      t->sent = series::StoreCounter(*metrics_, names::kAlertmanagerNotificationsTotal,
                                     Labels{{std::string(names::kAlertmanager), t->label}});
      t->errors = series::StoreCounter(*metrics_, names::kAlertmanagerNotificationErrorsTotal,
                                       Labels{{std::string(names::kAlertmanager), t->label}});
      t->sent.touch(now);
      t->errors.touch(now);
    }
    next.push_back(std::move(t));
  }
  targets_ = std::move(next);
}

void AlertmanagerPush::send(std::vector<PushAlert> alerts) {
  if (alerts.empty()) return;
  std::lock_guard lock(mu_);
  if (targets_.empty()) return;
  for (auto& a : alerts) {
    // Like Prometheus: an alert's own label wins over an external label of the same name.
    for (const auto& l : externalLabels_) {
      if (get(a.labels, l.name).empty()) set(a.labels, l.name, l.value);
    }
  }
  size_t skip = 0;
  if (alerts.size() > options_.capacity) {
    skip = alerts.size() - options_.capacity;
    addDroppedLocked(skip);
  }
  const size_t incoming = alerts.size() - skip;
  if (queue_.size() + incoming > options_.capacity) {
    const size_t drop = queue_.size() + incoming - options_.capacity;
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(drop));
    addDroppedLocked(drop);
  }
  for (size_t i = skip; i < alerts.size(); ++i) queue_.push_back(std::move(alerts[i]));
  updateQueueGaugeLocked();
  cv_.notify_all();
}

void AlertmanagerPush::addDroppedLocked(size_t n) {
  dropped_ += n;
  if (metrics_ != nullptr) droppedCounter_.inc(clock_.nowMs(), static_cast<double>(n));
  LOG_WARN("alert push queue full; oldest alerts dropped", {"count", std::to_string(n)});
}

void AlertmanagerPush::updateQueueGaugeLocked() {
  if (metrics_ != nullptr) {
    metrics_->append(queueLength_, clock_.nowMs(), static_cast<double>(queue_.size()));
  }
}

void AlertmanagerPush::start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void AlertmanagerPush::stop() {
  {
    std::lock_guard lock(mu_);
    if (!started_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  curl_multi_wakeup(multi_);
  thread_.join();
  std::lock_guard lock(mu_);
  started_ = false;
}

size_t AlertmanagerPush::queueLength() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

uint64_t AlertmanagerPush::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void AlertmanagerPush::run() {
  for (;;) {
    std::vector<PushAlert> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      const size_t n = std::min(options_.maxBatch, queue_.size());
      batch.assign(std::make_move_iterator(queue_.begin()),
                   std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      updateQueueGaugeLocked();
    }
    sendBatch(batch);
  }
}

void AlertmanagerPush::sendBatch(const std::vector<PushAlert>& batch) {
  std::vector<std::shared_ptr<Target>> targets;
  {
    std::lock_guard lock(mu_);
    targets = targets_;
  }
  if (targets.empty()) return;
  const std::string body = alertsBody(batch);

  struct Request {
    std::shared_ptr<Target> target;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    std::string answer;
    char errbuf[CURL_ERROR_SIZE] = {};
    CURLcode result = CURLE_OK;
    bool done = false;
  };
  std::vector<std::unique_ptr<Request>> requests;
  for (auto& t : targets) {
    auto r = std::make_unique<Request>();
    r->target = t;
    r->easy = curl_easy_init();
    r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
    r->headers = curl_slist_append(r->headers, "User-Agent: vigil");
    r->headers = curl_slist_append(r->headers, "Expect:");
    curl_easy_setopt(r->easy, CURLOPT_URL, t->url.c_str());
    curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, &onData);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, &r->answer);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_multi_add_handle(multi_, r->easy);
    requests.push_back(std::move(r));
  }
  // Every request ends by its own timeout, so this loop ends too.
  int running = 1;
  while (running > 0) {
    curl_multi_perform(multi_, &running);
    if (running > 0) curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    for (auto& r : requests) {
      if (r->easy == m->easy_handle) {
        r->result = m->data.result;
        r->done = true;
      }
    }
  }

  bool anyOk = false;
  const double n = static_cast<double>(batch.size());
  for (auto& r : requests) {
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    std::string err;
    if (!r->done) {
      err = "transfer did not complete";
    } else if (r->result != CURLE_OK) {
      err = r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(r->result);
    } else if (status / 100 != 2) {
      err = "HTTP " + std::to_string(status) + ": " + r->answer.substr(0, kLoggedAnswerBytes);
    }
    const std::string kind =
        err.empty() ? "" : (r->result != CURLE_OK ? curl_easy_strerror(r->result)
                                                  : "HTTP " + std::to_string(status));
    {
      std::lock_guard lock(mu_);
      Target& t = *r->target;
      const TimestampMs now = clock_.nowMs();
      if (err.empty()) {
        anyOk = true;
        if (metrics_ != nullptr) t.sent.inc(now, n);
        if (!t.lastError.empty()) {
          LOG_INFO("Alertmanager accepts alerts again", {"alertmanager", t.label});
        }
        t.lastError.clear();
      } else {
        if (metrics_ != nullptr) t.errors.inc(now, n);
        if (kind != t.lastError) {
          LOG_WARN("error sending alerts to Alertmanager", {"alertmanager", t.label},
                   {"count", std::to_string(batch.size())}, {"err", err});
        }
        t.lastError = kind;
      }
    }
    curl_multi_remove_handle(multi_, r->easy);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
  }
  if (!anyOk) {
    std::lock_guard lock(mu_);
    dropped_ += batch.size();
    if (metrics_ != nullptr) droppedCounter_.inc(clock_.nowMs(), n);
  }
}

}  // namespace vigil::notify
