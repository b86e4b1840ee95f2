#include "agent/scheduler/scheduler.h"

namespace vigil {

Duration scheduleOffset(std::string_view name, Duration interval) {
  if (interval.count() <= 0) return Duration{0};
  // FNV-1a, then a final mix: names like t1, t2, ... must land far apart, not in neighbouring
  // milliseconds.
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return Duration{static_cast<int64_t>(h % static_cast<uint64_t>(interval.count()))};
}

TimestampMs nextSlot(TimestampMs now, Duration interval, Duration offset) {
  const int64_t iv = interval.count();
  if (iv <= 0) return now;
  int64_t base = now - offset.count();
  int64_t rem = ((base % iv) + iv) % iv;
  return rem == 0 ? now : now + (iv - rem);
}

void Scheduler::setTargets(const std::vector<Entry>& targets, TimestampMs now) {
  ++generation_;
  std::unordered_map<std::string, State> next;
  next.reserve(targets.size());
  for (const auto& t : targets) {
    State s;
    s.interval = t.interval;
    s.offset = scheduleOffset(t.name, t.interval);
    auto old = entries_.find(t.name);
    if (old != entries_.end() && old->second.interval == t.interval) {
      s.due = old->second.due;
    } else {
      s.due = nextSlot(now, t.interval, s.offset);
    }
    s.generation = generation_;
    next.emplace(t.name, s);
  }
  entries_ = std::move(next);
  heap_ = {};
  for (const auto& [name, s] : entries_) heap_.push(HeapItem{s.due, s.generation, name});
}

TimestampMs Scheduler::runDue(TimestampMs now, const StartFn& start) {
  while (!heap_.empty() && heap_.top().due <= now) {
    HeapItem item = heap_.top();
    heap_.pop();
    auto it = entries_.find(item.name);
    if (it == entries_.end() || it->second.generation != item.generation ||
        it->second.due != item.due) {
      continue;  // stale heap entry from before a reload
    }
    State& s = it->second;
    start(item.name, s.due, now);
    TimestampMs next = s.due + s.interval.count();
    if (next <= now) {
      // More than an interval late (a stalled loop, a suspended VM): skip to the next slot
      // instead of firing a burst of catch-up probes.
      const int64_t late = now - next;
      missed_ += static_cast<uint64_t>(late / s.interval.count() + 1);
      next = nextSlot(now + 1, s.interval, s.offset);
    }
    s.due = next;
    heap_.push(HeapItem{s.due, s.generation, item.name});
  }
  return heap_.empty() ? -1 : heap_.top().due;
}

TimestampMs Scheduler::nextDue() {
  // Drop heap entries made stale by setTargets before answering.
  while (!heap_.empty()) {
    const HeapItem& top = heap_.top();
    auto it = entries_.find(top.name);
    if (it != entries_.end() && it->second.generation == top.generation &&
        it->second.due == top.due) {
      return top.due;
    }
    heap_.pop();
  }
  return -1;
}

TimestampMs Scheduler::dueOf(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? -1 : it->second.due;
}

}  // namespace vigil
