#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "agent/scheduler/event_loop.h"

using vigil::EventLoop;

TEST_CASE("posted tasks and timers run on the loop in order of due time") {
  EventLoop loop;
  std::vector<int> order;
  const int64_t now = EventLoop::monotonicMs();
  loop.addTimer(now + 20, [&] { order.push_back(2); });
  loop.addTimer(now + 10, [&] { order.push_back(1); });
  auto cancelled = loop.addTimer(now + 15, [&] { order.push_back(99); });
  loop.cancelTimer(cancelled);
  loop.addTimer(now + 30, [&] { loop.stop(); });
  loop.post([&] { order.push_back(0); });
  loop.run();
  REQUIRE(order == std::vector<int>{0, 1, 2});
}

TEST_CASE("post from another thread wakes the loop") {
  EventLoop loop;
  std::atomic<bool> ran{false};
  std::thread t([&] {
    loop.post([&] {
      ran = true;
      loop.stop();
    });
  });
  loop.run();
  t.join();
  REQUIRE(ran);
}
