#pragma once
// The durable outbox as Delivery sees it (SPEC §5): exactly the outbox methods of
// state::StateDb, so the agent hands Delivery its StateDb through a thin adapter, and unit tests
// use MemoryOutboxStore. Entries carry no secrets (see notification.h).

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "agent/core/error.h"
#include "agent/state/state_db.h"

namespace vigil::notify {

/// Where undelivered notifications live until they are delivered or dropped. Implementations
/// are thread-safe.
class OutboxStore {
 public:
  virtual ~OutboxStore() = default;
  /// Durable when it returns; returns the new, increasing id.
  virtual Result<int64_t> enqueue(const state::OutboxEntry& e) = 0;
  /// Every undelivered entry, by id.
  virtual Result<std::vector<state::OutboxEntry>> pending() = 0;
  virtual Status delivered(int64_t id) = 0;
  virtual Status retryLater(int64_t id, int attempts, TimestampMs nextAttemptAt,
                            const std::string& error) = 0;
  /// Removes an entry that will not be delivered (expired, rejected, receiver gone).
  virtual Status drop(int64_t id, const std::string& reason) = 0;
};

/// An OutboxStore in memory, for tests: it survives a Delivery being destroyed and recreated,
/// which is what a restart looks like to Delivery. Records why entries were dropped. Thread-safe.
class MemoryOutboxStore final : public OutboxStore {
 public:
  Result<int64_t> enqueue(const state::OutboxEntry& e) override;
  Result<std::vector<state::OutboxEntry>> pending() override;
  Status delivered(int64_t id) override;
  Status retryLater(int64_t id, int attempts, TimestampMs nextAttemptAt,
                    const std::string& error) override;
  Status drop(int64_t id, const std::string& reason) override;

  /// (id, reason) of every dropped entry, in drop order.
  std::vector<std::pair<int64_t, std::string>> dropped() const;
  /// Ids removed by delivered(), in order.
  std::vector<int64_t> deliveredIds() const;
  /// Makes the next enqueue() calls fail (a full disk), for tests.
  void failEnqueue(bool fail);

 private:
  mutable std::mutex mu_;
  int64_t nextId_ = 1;
  bool failEnqueue_ = false;
  std::map<int64_t, state::OutboxEntry> entries_;
  std::vector<std::pair<int64_t, std::string>> dropped_;
  std::vector<int64_t> delivered_;
};

}  // namespace vigil::notify
