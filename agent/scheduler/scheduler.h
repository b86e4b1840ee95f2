#pragma once
// When each target is probed. Every target runs on its own interval at a stable offset inside it
// (a hash of its name, like Prometheus' scrape offsets), so 10,000 targets spread evenly over the
// interval instead of firing in one burst, and a restart keeps each target's phase.
//
// Pure bookkeeping: the caller passes `now` and gets back what to start, so tests drive it in
// virtual time.

#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/core/clock.h"

namespace vigil {

/// The target's offset within its interval: stable across restarts and hosts.
Duration scheduleOffset(std::string_view name, Duration interval);

/// The first time >= now at which (t - offset) is a multiple of interval.
TimestampMs nextSlot(TimestampMs now, Duration interval, Duration offset);

/// Not thread-safe: owned by the probe loop.
class Scheduler {
 public:
  struct Entry {
    std::string name;
    Duration interval{0};
  };

  /// Called for each target that is due: its index in the setTargets() list, the time it was due
  /// and the time it started.
  using StartFn = std::function<void(size_t index, TimestampMs due, TimestampMs now)>;

  /// Replaces the schedule. Targets that stay (same name and interval) keep their next due time,
  /// so a reload neither probes everything at once nor skips a round; new ones start at their
  /// first slot after `now`.
  void setTargets(const std::vector<Entry>& targets, TimestampMs now);

  /// Starts every target due at or before `now` (a target more than one interval late starts
  /// once, and the missed rounds are counted, not replayed). Returns the next due time, or -1
  /// when there is no target.
  TimestampMs runDue(TimestampMs now, const StartFn& start);

  /// The earliest due time of any target, or -1 when there is none.
  TimestampMs nextDue();
  /// The next due time of `name`, or -1.
  TimestampMs dueOf(const std::string& name) const;
  size_t size() const { return entries_.size(); }
  /// Rounds skipped because the loop was more than an interval late.
  uint64_t missedRounds() const { return missed_; }

 private:
  struct State {
    std::string name;
    Duration interval{0};
    Duration offset{0};
    TimestampMs due = 0;
  };
  struct HeapItem {
    TimestampMs due;
    uint32_t index;
    bool operator>(const HeapItem& o) const { return due > o.due; }
  };

  std::vector<State> entries_;
  std::unordered_map<std::string, uint32_t> byName_;
  std::priority_queue<HeapItem, std::vector<HeapItem>, std::greater<>> heap_;
  uint64_t missed_ = 0;
};

}  // namespace vigil
