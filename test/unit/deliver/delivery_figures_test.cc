// Figures, not tests: hidden from the default run ([.]), reported on stdout. Run with
//   build/test/unit/deliver/unit_deliver "[figures]"
#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "exporters/notify/alertmanager_push.h"
#include "exporters/notify/delivery.h"
#include "test/unit/deliver/recording_sink.h"

TEST_CASE("delivery throughput to a local sink", "[.][figures]") {
  constexpr int kReceivers = 4;
  constexpr int kPerReceiver = 500;
  vigil::testing::RecordingSink sink;
  vigil::ManualClock clock;
  vigil::notify::MemoryOutboxStore store;
  vigil::series::SeriesStore metrics;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  vigil::notify::Delivery::Options o;
  o.onEvent = [&](const vigil::notify::DeliveryEvent& e) {
    std::lock_guard lock(mu);
    if (e.result == "success") ++done;
    cv.notify_all();
  };
  vigil::notify::Delivery d(store, &metrics, clock, o);
  std::vector<vigil::config::Receiver> receivers;
  for (int r = 0; r < kReceivers; ++r) {
    vigil::config::Receiver rc;
    rc.name = "r" + std::to_string(r);
    rc.webhook = vigil::config::Webhook{};
    rc.webhook->url = sink.url("/" + rc.name);
    receivers.push_back(rc);
  }
  d.setReceivers(receivers);
  REQUIRE(d.start().ok());
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kPerReceiver; ++i) {
    for (int r = 0; r < kReceivers; ++r) {
      vigil::notify::Notification n;
      n.receiver = "r" + std::to_string(r);
      n.idempotencyKey = n.receiver + "-" + std::to_string(i);
      n.body = std::string(1024, 'x');
      d.submit(n);
    }
  }
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(120),
                        [&] { return done == kReceivers * kPerReceiver; }));
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  d.stop();
  std::printf("delivery: %d notifications (1 KiB, %d receivers, one connection each at a time) "
              "in %.2f s: %.0f/s\n",
              kReceivers * kPerReceiver, kReceivers, s, kReceivers * kPerReceiver / s);
}

TEST_CASE("alertmanager push throughput to a local sink", "[.][figures]") {
  constexpr int kAlerts = 10'000;
  vigil::testing::RecordingSink sink;
  vigil::ManualClock clock;
  vigil::notify::AlertmanagerPush push(nullptr, clock);
  push.configure({sink.url("")}, {{"env", "bench"}});
  std::vector<vigil::notify::PushAlert> alerts;
  for (int i = 0; i < kAlerts; ++i) {
    vigil::notify::PushAlert a;
    a.labels = {{"alertname", "TargetDown"}, {"target", "web-" + std::to_string(i)}};
    a.annotations = {{"summary", "down"}};
    a.startsAt = 1;
    a.endsAt = 2;
    alerts.push_back(a);
  }
  const auto t0 = std::chrono::steady_clock::now();
  push.send(alerts);
  push.start();
  REQUIRE(sink.waitForRequests((kAlerts + 63) / 64, 120'000));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  push.stop();
  std::printf("alertmanager push: %d alerts in batches of 64 in %.2f s: %.0f alerts/s\n", kAlerts,
              s, kAlerts / s);
}
