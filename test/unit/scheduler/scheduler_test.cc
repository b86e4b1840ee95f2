#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/scheduler/scheduler.h"

using vigil::Duration;
using vigil::ManualClock;
using vigil::Scheduler;
using vigil::TimestampMs;

TEST_CASE("offsets are stable, inside the interval, and spread out") {
  const Duration iv{10'000};
  REQUIRE(vigil::scheduleOffset("web-01", iv) == vigil::scheduleOffset("web-01", iv));
  std::vector<int> perSecond(10, 0);
  for (int i = 0; i < 10'000; ++i) {
    auto off = vigil::scheduleOffset("t" + std::to_string(i), iv);
    REQUIRE(off.count() >= 0);
    REQUIRE(off.count() < iv.count());
    ++perSecond[off.count() / 1000];
  }
  // 10,000 targets over 10 s: every second gets roughly a tenth, none a burst.
  for (int n : perSecond) {
    REQUIRE(n > 850);
    REQUIRE(n < 1150);
  }
}

TEST_CASE("nextSlot lands on offset + k*interval at or after now") {
  REQUIRE(vigil::nextSlot(10'000, Duration{5000}, Duration{1234}) == 11'234);
  REQUIRE(vigil::nextSlot(11'234, Duration{5000}, Duration{1234}) == 11'234);
  REQUIRE(vigil::nextSlot(11'235, Duration{5000}, Duration{1234}) == 16'234);
}

TEST_CASE("each target runs once per interval at its offset, in virtual time") {
  ManualClock clock(1'000'000);
  Scheduler s;
  s.setTargets({{"a", Duration{1000}}, {"b", Duration{5000}}}, clock.nowMs());
  std::map<std::string, std::vector<TimestampMs>> starts;
  std::vector<int64_t> lags;
  const std::vector<std::string> names = {"a", "b"};
  for (int step = 0; step < 20'000; ++step) {
    clock.advance(Duration{1});
    s.runDue(clock.nowMs(), [&](size_t i, TimestampMs due, TimestampMs now) {
      starts[names[i]].push_back(due);
      lags.push_back(now - due);
    });
  }
  REQUIRE(starts["a"].size() == 20);
  REQUIRE(starts["b"].size() == 4);
  for (size_t i = 1; i < starts["a"].size(); ++i) REQUIRE(starts["a"][i] - starts["a"][i - 1] == 1000);
  const auto offA = vigil::scheduleOffset("a", Duration{1000}).count();
  for (auto t : starts["a"]) REQUIRE((t - offA) % 1000 == 0);
  // Stepping 1 ms at a time, every probe starts exactly when due.
  REQUIRE(*std::max_element(lags.begin(), lags.end()) == 0);
}

TEST_CASE("lag is the time between due and start; a stalled loop skips, not bursts") {
  ManualClock clock(0);
  Scheduler s;
  s.setTargets({{"a", Duration{1000}}}, clock.nowMs());
  const TimestampMs first = s.dueOf("a");
  std::vector<std::pair<TimestampMs, TimestampMs>> runs;
  auto record = [&](size_t, TimestampMs due, TimestampMs now) { runs.emplace_back(due, now); };
  clock.set(first + 30);
  s.runDue(clock.nowMs(), record);
  REQUIRE(runs.size() == 1);
  REQUIRE(runs[0].second - runs[0].first == 30);
  // The loop stalls for 5.5 intervals: one start, and the missed rounds are counted.
  clock.set(first + 6500);
  s.runDue(clock.nowMs(), record);
  REQUIRE(runs.size() == 2);
  REQUIRE(s.missedRounds() == 5);
  REQUIRE(s.dueOf("a") == first + 7000);
}

TEST_CASE("a reload keeps the phase of targets that stay and adds new ones at their slot") {
  ManualClock clock(0);
  Scheduler s;
  s.setTargets({{"a", Duration{1000}}}, 0);
  s.runDue(s.dueOf("a"), [](size_t, TimestampMs, TimestampMs) {});
  const TimestampMs dueA = s.dueOf("a");
  s.setTargets({{"b", Duration{2000}}, {"a", Duration{1000}}}, 10);
  REQUIRE(s.dueOf("a") == dueA);
  REQUIRE(s.dueOf("b") == vigil::nextSlot(10, Duration{2000}, vigil::scheduleOffset("b", Duration{2000})));
  s.setTargets({{"b", Duration{2000}}}, 20);
  REQUIRE(s.dueOf("a") == -1);
  REQUIRE(s.size() == 1);
}

TEST_CASE("an empty schedule has nothing due") {
  Scheduler s;
  REQUIRE(s.nextDue() == -1);
  REQUIRE(s.runDue(1000, [](size_t, TimestampMs, TimestampMs) { FAIL("nothing is due"); }) == -1);
}
