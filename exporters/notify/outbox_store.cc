#include "exporters/notify/outbox_store.h"

namespace vigil::notify {

namespace {

Error unknown(int64_t id) { return Error{"outbox entry " + std::to_string(id) + " not found"}; }

}  // namespace

Result<int64_t> MemoryOutboxStore::enqueue(const state::OutboxEntry& e) {
  std::lock_guard lock(mu_);
  if (failEnqueue_) return Error{"outbox: enqueue failed (test)"};
  state::OutboxEntry copy = e;
  copy.id = nextId_++;
  entries_[copy.id] = copy;
  return copy.id;
}

Result<std::vector<state::OutboxEntry>> MemoryOutboxStore::pending() {
  std::lock_guard lock(mu_);
  std::vector<state::OutboxEntry> out;
  for (const auto& [id, e] : entries_) out.push_back(e);
  return out;
}

Status MemoryOutboxStore::delivered(int64_t id) {
  std::lock_guard lock(mu_);
  if (entries_.erase(id) == 0) return unknown(id);
  delivered_.push_back(id);
  return Ok{};
}

Status MemoryOutboxStore::retryLater(int64_t id, int attempts, TimestampMs nextAttemptAt,
                                     const std::string& error) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return unknown(id);
  it->second.attempts = attempts;
  it->second.nextAttemptAt = nextAttemptAt;
  it->second.lastError = error;
  return Ok{};
}

Status MemoryOutboxStore::drop(int64_t id, const std::string& reason) {
  std::lock_guard lock(mu_);
  if (entries_.erase(id) == 0) return unknown(id);
  dropped_.emplace_back(id, reason);
  return Ok{};
}

std::vector<std::pair<int64_t, std::string>> MemoryOutboxStore::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

std::vector<int64_t> MemoryOutboxStore::deliveredIds() const {
  std::lock_guard lock(mu_);
  return delivered_;
}

void MemoryOutboxStore::failEnqueue(bool fail) {
  std::lock_guard lock(mu_);
  failEnqueue_ = fail;
}

}  // namespace vigil::notify
