#include "exporters/notify/delivery.h"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "agent/core/log.h"
#include "exporters/notify/hmac.h"
#include "test/support/test_http_server.h"
#include "test/unit/deliver/metric_value.h"
#include "test/unit/deliver/recording_sink.h"

using vigil::ManualClock;
using vigil::notify::Delivery;
using vigil::notify::DeliveryEvent;
using vigil::notify::MemoryOutboxStore;
using vigil::notify::Notification;
using vigil::testing::metricValue;
using vigil::testing::RecordingSink;

namespace {

// Events from the delivery thread, so a test waits for outcomes instead of sleeping.
class Events {
 public:
  std::function<void(const DeliveryEvent&)> hook() {
    return [this](const DeliveryEvent& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    };
  }
  /// Waits (bounded) until `n` events have arrived; returns whether they did.
  bool waitFor(size_t n, int timeoutMs = 10'000) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                        [&] { return events_.size() >= n; });
  }
  std::vector<DeliveryEvent> all() {
    std::lock_guard lock(mu_);
    return events_;
  }
  size_t count(const std::string& result) {
    std::lock_guard lock(mu_);
    return static_cast<size_t>(std::count_if(events_.begin(), events_.end(),
                                             [&](const auto& e) { return e.result == result; }));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<DeliveryEvent> events_;
};

vigil::config::Receiver webhook(const std::string& name, const std::string& url) {
  vigil::config::Receiver r;
  r.name = name;
  r.webhook = vigil::config::Webhook{};
  r.webhook->url = url;
  r.webhook->timeout = std::chrono::seconds(5);
  return r;
}

Notification note(const std::string& receiver, const std::string& key, const std::string& body) {
  Notification n;
  n.receiver = receiver;
  n.groupKey = "{}:{alertname=\"X\"}";
  n.idempotencyKey = key;
  n.body = body;
  return n;
}

Delivery::Options options(Events& events) {
  Delivery::Options o;
  o.seed = 42;
  o.onEvent = events.hook();
  return o;
}

// Drives retries in virtual time: after every failure, moves the clock past any backoff and
// wakes the thread, until `successes` deliveries happened. Bounded in rounds and real time.
bool deliverAll(Delivery& d, ManualClock& clock, Events& events, size_t successes) {
  for (int round = 0; round < 200; ++round) {
    if (events.count("success") >= successes) return true;
    const size_t seen = events.all().size();
    if (!events.waitFor(seen + 1)) return false;
    if (events.all().back().result == "failure") {
      clock.advance(std::chrono::minutes(5));
      d.poke();
    }
  }
  return events.count("success") >= successes;
}

std::string writeFile(const std::string& name, const std::string& content) {
  char dir[] = "/tmp/vigil-deliver-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/" + name;
  std::ofstream(path) << content;
  return path;
}

double counter(const vigil::series::SeriesStore& s, const std::string& receiver,
               const std::string& result) {
  return metricValue(s, "vigil_notifications_total", {{"receiver", receiver}, {"result", result}})
      .value_or(-1);
}

}  // namespace

TEST_CASE("503 three times then 200 delivers every notification in order, one key each") {
  RecordingSink sink;
  sink.script({503, 503, 503});
  ManualClock clock;
  MemoryOutboxStore store;
  vigil::series::SeriesStore metrics;
  Events events;
  Delivery d(store, &metrics, clock, options(events));
  d.setReceivers({webhook("oncall", sink.url())});
  REQUIRE(d.start().ok());
  d.submit(note("oncall", "k1", "{\"n\":1}"));
  d.submit(note("oncall", "k2", "{\"n\":2}"));
  d.submit(note("oncall", "k3", "{\"n\":3}"));

  REQUIRE(deliverAll(d, clock, events, 3));
  d.stop();

  const auto reqs = sink.requests();
  REQUIRE(reqs.size() == 6);
  const std::vector<std::string> keys = {"k1", "k1", "k1", "k1", "k2", "k3"};
  const std::vector<std::string> bodies = {"{\"n\":1}", "{\"n\":1}", "{\"n\":1}",
                                           "{\"n\":1}", "{\"n\":2}", "{\"n\":3}"};
  for (size_t i = 0; i < reqs.size(); ++i) {
    CHECK(reqs[i].method == "POST");
    CHECK(reqs[i].path == "/hook");
    CHECK(reqs[i].header("x-vigil-idempotency-key") == keys[i]);
    CHECK(reqs[i].header("content-type") == "application/json");
    CHECK(reqs[i].body == bodies[i]);
  }
  CHECK(store.pending()->empty());
  CHECK(store.deliveredIds() == std::vector<int64_t>{1, 2, 3});
  CHECK(counter(metrics, "oncall", "success") == 3);
  CHECK(counter(metrics, "oncall", "failure") == 3);
  CHECK(counter(metrics, "oncall", "rejected") == 0);
  CHECK(counter(metrics, "oncall", "dropped") == 0);
}

TEST_CASE("a failing receiver does not delay another") {
  RecordingSink good;
  ManualClock clock;
  MemoryOutboxStore store;
  Events events;
  Delivery d(store, nullptr, clock, options(events));
  d.setReceivers({webhook("down", "http://127.0.0.1:" +
                                      std::to_string(vigil::testing::closedPort()) + "/hook"),
                  webhook("up", good.url())});
  REQUIRE(d.start().ok());
  d.submit(note("down", "d1", "a"));
  d.submit(note("down", "d2", "b"));
  d.submit(note("up", "u1", "c"));
  // No clock movement: "up" is delivered while "down" waits for its backoff.
  REQUIRE(events.waitFor(2));
  REQUIRE(good.waitForRequests(1));
  bool upDelivered = false;
  for (int i = 0; i < 50 && !upDelivered; ++i) {
    for (const auto& e : events.all()) upDelivered |= e.receiver == "up" && e.result == "success";
    if (!upDelivered) events.waitFor(events.all().size() + 1, 200);
  }
  CHECK(upDelivered);
  d.stop();
  size_t downFailures = 0;
  for (const auto& e : events.all()) {
    if (e.receiver == "down") {
      CHECK(e.result == "failure");
      CHECK(e.id == 1);  // d2 waits behind d1: the head of line keeps order
      CHECK(e.error.find("127.0.0.1") != std::string::npos);
      ++downFailures;
    }
  }
  CHECK(downFailures == 1);
  CHECK(store.pending()->size() == 2);
}

TEST_CASE("a 4xx other than 408/429 is not retried and the answer is kept, truncated") {
  const int status = GENERATE(400, 401, 403, 404, 422);
  RecordingSink sink;
  sink.setDefault(status, std::string(2000, 'x'));
  ManualClock clock;
  MemoryOutboxStore store;
  vigil::series::SeriesStore metrics;
  Events events;
  Delivery d(store, &metrics, clock, options(events));
  d.setReceivers({webhook("oncall", sink.url())});
  REQUIRE(d.start().ok());
  d.submit(note("oncall", "k", "{}"));
  REQUIRE(events.waitFor(1));
  clock.advance(std::chrono::hours(1));
  d.poke();
  // A second notification goes out: had the first been retried, it would come before it.
  d.submit(note("oncall", "k2", "{}"));
  REQUIRE(events.waitFor(2));
  d.stop();
  const auto ev = events.all();
  CHECK(ev[0].result == "rejected");
  CHECK(ev[0].httpStatus == status);
  const auto reqs = sink.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].header("x-vigil-idempotency-key") == "k2");
  const auto dropped = store.dropped();
  REQUIRE(dropped.size() == 2);
  CHECK(dropped[0].second.find("HTTP " + std::to_string(status)) != std::string::npos);
  // The receiver's answer is quoted, cut at 512 bytes.
  CHECK(dropped[0].second.find(std::string(512, 'x') + "...") != std::string::npos);
  CHECK(dropped[0].second.find(std::string(513, 'x')) == std::string::npos);
  CHECK(counter(metrics, "oncall", "rejected") == 2);
  CHECK(counter(metrics, "oncall", "failure") == 0);
}

TEST_CASE("408, 429 and 5xx are retried") {
  const int status = GENERATE(408, 429, 500, 502, 503);
  RecordingSink sink;
  sink.script({status});
  ManualClock clock;
  MemoryOutboxStore store;
  Events events;
  Delivery d(store, nullptr, clock, options(events));
  d.setReceivers({webhook("oncall", sink.url())});
  REQUIRE(d.start().ok());
  d.submit(note("oncall", "k", "{}"));
  REQUIRE(deliverAll(d, clock, events, 1));
  d.stop();
  const auto ev = events.all();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].result == "failure");
  CHECK(ev[0].httpStatus == status);
  CHECK(ev[1].result == "success");
  CHECK(sink.requests().size() == 2);
}

TEST_CASE("a retry waits for its backoff in virtual time") {
  RecordingSink sink;
  sink.script({503});
  ManualClock clock;
  MemoryOutboxStore store;
  Events events;
  Delivery::Options o = options(events);
  o.backoff.initial = std::chrono::seconds(10);
  Delivery d(store, nullptr, clock, o);
  d.setReceivers({webhook("oncall", sink.url())});
  REQUIRE(d.start().ok());
  d.submit(note("oncall", "k", "{}"));
  REQUIRE(events.waitFor(1));
  const auto pending = store.pending();
  REQUIRE(pending->size() == 1);
  const auto& e = pending->front();
  CHECK(e.attempts == 1);
  CHECK(e.nextAttemptAt >= clock.nowMs() + 5'000);
  CHECK(e.nextAttemptAt <= clock.nowMs() + 10'000);
  CHECK(e.lastError.find("HTTP 503") != std::string::npos);
  // Not due yet: a wake-up sends nothing.
  d.poke();
  CHECK_FALSE(events.waitFor(2, 300));
  CHECK(sink.requests().size() == 1);
  clock.set(e.nextAttemptAt);
  d.poke();
  REQUIRE(events.waitFor(2));
  CHECK(events.all()[1].result == "success");
  d.stop();
}

TEST_CASE("after a restart every pending notification is resumed from the outbox") {
  RecordingSink sink;
  sink.setDefault(503);
  ManualClock clock;
  MemoryOutboxStore store;
  {
    Events events;
    Delivery first(store, nullptr, clock, options(events));
    first.setReceivers({webhook("oncall", sink.url())});
    REQUIRE(first.start().ok());
    first.submit(note("oncall", "k1", "one"));
    first.submit(note("oncall", "k2", "two"));
    REQUIRE(events.waitFor(1));
  }  // the process "dies" with both undelivered
  // One more was written to the outbox just before the crash, never attempted.
  vigil::state::OutboxEntry never;
  never.receiver = "oncall";
  never.idempotencyKey = "k3";
  never.body = "three";
  never.contentType = "application/json";
  never.createdAt = never.nextAttemptAt = clock.nowMs();
  never.expiresAt = clock.nowMs() + 3600'000;
  REQUIRE(store.enqueue(never).ok());
  REQUIRE(store.pending()->size() == 3);

  sink.setDefault(200);
  Events events;
  Delivery second(store, nullptr, clock, options(events));
  second.setReceivers({webhook("oncall", sink.url())});
  REQUIRE(second.start().ok());
  clock.advance(std::chrono::minutes(5));  // past the first one's backoff
  second.poke();
  REQUIRE(deliverAll(second, clock, events, 3));
  second.stop();
  CHECK(store.pending()->empty());
  const auto reqs = sink.requests();
  REQUIRE(reqs.size() >= 4);
  // The last three are the resumed ones, in order, with their original keys.
  const std::vector<std::string> keys = {"k1", "k2", "k3"};
  for (size_t i = 0; i < 3; ++i) {
    CHECK(reqs[reqs.size() - 3 + i].header("x-vigil-idempotency-key") == keys[i]);
  }
  CHECK(reqs.front().header("x-vigil-idempotency-key") == "k1");
}

TEST_CASE("bearer token and HMAC signature come from their files at send time") {
  RecordingSink sink;
  ManualClock clock;
  MemoryOutboxStore store;
  Events events;
  const std::string token = "tok-3f9a1c77e2";
  const std::string secret = "hmac-secret-81b2d0";
  const std::string tokenFile = writeFile("token", token + "\n");
  const std::string secretFile = writeFile("hmac", secret + "\r\n");
  auto r = webhook("oncall", sink.url());
  r.webhook->bearerTokenFile = tokenFile;
  r.webhook->hmacSecretFile = secretFile;

  int pipeFds[2];
  REQUIRE(pipe(pipeFds) == 0);
  vigil::log::configure(vigil::log::Level::kDebug, vigil::log::Format::kLogfmt);
  vigil::log::setFd(pipeFds[1]);
  sink.script({401}, "unauthorized");
  Delivery d(store, nullptr, clock, options(events));
  d.setReceivers({r});
  REQUIRE(d.start().ok());
  d.submit(note("oncall", "k1", "{\"a\":1}"));
  REQUIRE(events.waitFor(1));
  // Rotated token: the next send reads the new one.
  std::ofstream(tokenFile) << "rotated-token\n";
  d.submit(note("oncall", "k2", "{\"a\":2}"));
  REQUIRE(events.waitFor(2));
  d.stop();
  vigil::log::setFd(2);
  vigil::log::configure(vigil::log::Level::kInfo, vigil::log::Format::kLogfmt);
  close(pipeFds[1]);
  std::string logs;
  char buf[4096];
  for (ssize_t n; (n = read(pipeFds[0], buf, sizeof buf)) > 0;) logs.append(buf, n);
  close(pipeFds[0]);

  const auto reqs = sink.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].header("authorization") == "Bearer " + token);
  CHECK(reqs[0].header("x-vigil-signature") ==
        "sha256=" + vigil::notify::hmacSha256Hex(secret, "{\"a\":1}"));
  CHECK(reqs[1].header("authorization") == "Bearer rotated-token");
  CHECK(reqs[1].header("x-vigil-signature") ==
        "sha256=" + vigil::notify::hmacSha256Hex(secret, "{\"a\":2}"));
  // The rejection was logged with the receiver's answer, and no secret appears anywhere.
  CHECK(logs.find("unauthorized") != std::string::npos);
  CHECK(logs.find(token) == std::string::npos);
  CHECK(logs.find("rotated-token") == std::string::npos);
  CHECK(logs.find(secret) == std::string::npos);
}

TEST_CASE("an unreadable token file fails the attempt, naming the file, and is retried") {
  RecordingSink sink;
  ManualClock clock;
  MemoryOutboxStore store;
  Events events;
  auto r = webhook("oncall", sink.url());
  r.webhook->bearerTokenFile = "/nonexistent/vigil-token";
  Delivery d(store, nullptr, clock, options(events));
  d.setReceivers({r});
  REQUIRE(d.start().ok());
  d.submit(note("oncall", "k", "{}"));
  REQUIRE(events.waitFor(1));
  d.stop();
  const auto e = events.all().front();
  CHECK(e.result == "failure");
  CHECK(e.error.find("/nonexistent/vigil-token") != std::string::npos);
  CHECK(sink.requests().empty());
  CHECK(store.pending()->size() == 1);
}

TEST_CASE("an undelivered notification expires, dropped and counted") {
  RecordingSink sink;
  sink.setDefault(503);
  ManualClock clock;
  MemoryOutboxStore store;
  vigil::series::SeriesStore metrics;
  Events events;
  Delivery::Options o = options(events);
  o.expiry = std::chrono::hours(1);
  Delivery d(store, &metrics, clock, o);
  d.setReceivers({webhook("oncall", sink.url())});
  REQUIRE(d.start().ok());
  d.submit(note("oncall", "k", "{}"));
  REQUIRE(events.waitFor(1));
  clock.advance(std::chrono::minutes(59));
  d.poke();
  REQUIRE(events.waitFor(2));  // retried while not expired
  CHECK(events.all()[1].result == "failure");
  clock.advance(std::chrono::minutes(2));
  d.poke();
  REQUIRE(events.waitFor(3));
  d.stop();
  CHECK(events.all()[2].result == "dropped");
  CHECK(sink.requests().size() == 2);
  REQUIRE(store.dropped().size() == 1);
  CHECK(store.dropped()[0].second.find("expired") != std::string::npos);
  CHECK(store.dropped()[0].second.find("HTTP 503") != std::string::npos);
  CHECK(store.pending()->empty());
  CHECK(counter(metrics, "oncall", "dropped") == 1);
  CHECK(counter(metrics, "oncall", "failure") == 2);
}

TEST_CASE("queue length and the oldest undelivered age are exported per receiver") {
  RecordingSink sink;
  sink.setDefault(503);
  ManualClock clock;
  MemoryOutboxStore store;
  vigil::series::SeriesStore metrics;
  Events events;
  Delivery d(store, &metrics, clock, options(events));
  d.setReceivers({webhook("oncall", sink.url())});
  REQUIRE(d.start().ok());
  d.submit(note("oncall", "k1", "{}"));
  d.submit(note("oncall", "k2", "{}"));
  REQUIRE(events.waitFor(1));
  clock.advance(std::chrono::seconds(30));
  d.poke();
  // The gauges are written by the delivery thread on its next round.
  std::optional<double> age;
  for (int i = 0; i < 100; ++i) {
    age = metricValue(metrics, "vigil_notification_oldest_undelivered_seconds",
                      {{"receiver", "oncall"}});
    if (age && *age >= 30) break;
    events.waitFor(100, 20);  // a bounded pause: nothing else signals a gauge write
  }
  d.stop();
  CHECK(age.value_or(0) >= 30);
  CHECK(metricValue(metrics, "vigil_notification_queue_length", {{"receiver", "oncall"}}) == 2.0);
}

TEST_CASE("the console receiver prints each notification and counts it delivered") {
  ManualClock clock;
  MemoryOutboxStore store;
  vigil::series::SeriesStore metrics;
  Events events;
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  Delivery::Options o = options(events);
  o.console = out;
  Delivery d(store, &metrics, clock, o);
  vigil::config::Receiver console;
  console.name = "console";
  console.console = true;
  d.setReceivers({console});
  REQUIRE(d.start().ok());
  d.submit(note("console", "k1", "[FIRING:1] TargetDown"));
  d.submit(note("console", "k2", "[RESOLVED] TargetDown\n"));
  REQUIRE(events.waitFor(2));
  d.stop();
  std::rewind(out);
  std::string printed;
  char buf[512];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;) printed.append(buf, n);
  std::fclose(out);
  CHECK(printed == "[FIRING:1] TargetDown\n[RESOLVED] TargetDown\n");
  CHECK(counter(metrics, "console", "success") == 2);
  CHECK(store.pending()->empty());
}

TEST_CASE("a notification for a receiver no longer configured is dropped") {
  ManualClock clock;
  MemoryOutboxStore store;
  Events events;
  Delivery d(store, nullptr, clock, options(events));
  d.setReceivers({});
  REQUIRE(d.start().ok());
  d.submit(note("gone", "k", "{}"));
  REQUIRE(events.waitFor(1));
  d.stop();
  CHECK(events.all()[0].result == "dropped");
  REQUIRE(store.dropped().size() == 1);
  CHECK(store.dropped()[0].second.find("receiver gone") != std::string::npos);
}

TEST_CASE("when the outbox cannot be written the notification is still sent") {
  RecordingSink sink;
  ManualClock clock;
  MemoryOutboxStore store;
  store.failEnqueue(true);
  Events events;
  Delivery d(store, nullptr, clock, options(events));
  d.setReceivers({webhook("oncall", sink.url())});
  REQUIRE(d.start().ok());
  CHECK(d.submit(note("oncall", "k", "{}")) < 0);
  REQUIRE(events.waitFor(1));
  d.stop();
  CHECK(events.all()[0].result == "success");
  CHECK(sink.requests().size() == 1);
}

TEST_CASE("nothing is sent or dropped before the receivers are known") {
  RecordingSink sink;
  ManualClock clock;
  MemoryOutboxStore store;
  Events events;
  Delivery d(store, nullptr, clock, options(events));
  REQUIRE(d.start().ok());
  d.submit(note("oncall", "k", "{}"));
  CHECK_FALSE(events.waitFor(1, 300));
  CHECK(store.pending()->size() == 1);
  d.setReceivers({webhook("oncall", sink.url())});
  REQUIRE(events.waitFor(1));
  d.stop();
  CHECK(events.all()[0].result == "success");
  CHECK(sink.requests().size() == 1);
}
