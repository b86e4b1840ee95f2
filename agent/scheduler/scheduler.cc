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
  std::vector<State> next;
  std::unordered_map<std::string, uint32_t> byName;
  next.reserve(targets.size());
  byName.reserve(targets.size());
  for (const auto& t : targets) {
    State s;
    s.name = t.name;
    s.interval = t.interval;
    s.offset = scheduleOffset(t.name, t.interval);
    auto old = byName_.find(t.name);
    if (old != byName_.end() && entries_[old->second].interval == t.interval) {
      s.due = entries_[old->second].due;
    } else {
      s.due = nextSlot(now, t.interval, s.offset);
    }
    byName.emplace(t.name, static_cast<uint32_t>(next.size()));
    next.push_back(std::move(s));
  }
  entries_ = std::move(next);
  byName_ = std::move(byName);
  std::vector<HeapItem> items;
  items.reserve(entries_.size());
  for (uint32_t i = 0; i < entries_.size(); ++i) items.push_back(HeapItem{entries_[i].due, i});
  heap_ = decltype(heap_)(std::greater<>{}, std::move(items));
}

TimestampMs Scheduler::runDue(TimestampMs now, const StartFn& start) {
  while (!heap_.empty() && heap_.top().due <= now) {
    HeapItem item = heap_.top();
    heap_.pop();
    State& s = entries_[item.index];
    start(item.index, s.due, now);
    TimestampMs next = s.due + s.interval.count();
    if (next <= now) {
      // More than an interval late (a stalled loop, a suspended VM): skip to the next slot
      // instead of firing a burst of catch-up probes.
      const int64_t late = now - next;
      missed_ += static_cast<uint64_t>(late / s.interval.count() + 1);
      next = nextSlot(now + 1, s.interval, s.offset);
    }
    s.due = next;
    heap_.push(HeapItem{s.due, item.index});
  }
  return nextDue();
}

TimestampMs Scheduler::nextDue() { return heap_.empty() ? -1 : heap_.top().due; }

TimestampMs Scheduler::dueOf(const std::string& name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? -1 : entries_[it->second].due;
}

}  // namespace vigil
