#pragma once
// The agent's durable state (SPEC §6): one SQLite database in WAL mode in state_dir, holding the
// notification outbox, the notification log (what was sent to whom, for repeat_interval across
// restarts), alert states (so a restart neither re-pages early nor forgets a pending alert) and
// the event history `vigil report` reads. Thread-safe: every method may be called from any thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/error.h"
#include "agent/core/labels.h"

namespace vigil::state {

/// One undelivered notification. No secrets: URL, tokens and HMAC keys come from config at send
/// time.
struct OutboxEntry {
  int64_t id = 0;               ///< assigned by enqueue(); increasing: delivery order per receiver
  std::string receiver;
  std::string groupKey;
  std::string idempotencyKey;   ///< unique
  std::string contentType;
  std::string body;
  bool resolved = false;
  TimestampMs createdAt = 0;
  TimestampMs expiresAt = 0;    ///< dropped (counted, logged) when still undelivered then
  TimestampMs nextAttemptAt = 0;
  int attempts = 0;
  std::string lastError;
};

/// Alertmanager's notification log entry: the last notification of a group to a receiver.
struct NotifyLogEntry {
  std::string receiver;
  std::string groupKey;
  TimestampMs sentAt = 0;
  std::vector<uint64_t> firingFingerprints;    ///< sorted
  std::vector<uint64_t> resolvedFingerprints;  ///< sorted
};

/// One alert instance's state, as the rule engine keeps it.
struct AlertRecord {
  std::string group;            ///< rule group key: "<file>;<group name>"
  std::string rule;             ///< alert name
  Labels labels;                ///< the alert's labels (alertname included)
  std::string state;            ///< "pending" | "firing" | "inactive" (resolved)
  double value = 0;
  TimestampMs activeAt = 0;
  TimestampMs firedAt = 0;
  TimestampMs resolvedAt = 0;
  TimestampMs lastSentAt = 0;
  TimestampMs validUntil = 0;
  TimestampMs keepFiringSince = 0;
};

/// One entry of the event history.
struct Event {
  int64_t id = 0;               ///< assigned by addEvent()
  TimestampMs at = 0;
  std::string kind;             ///< "alert" | "probe" | "reload" | "notification"
  std::string subject;          ///< alertname, target name, config file, receiver
  Labels labels;                ///< the alert's or series' labels
  std::string from;             ///< previous state ("inactive", "pending", "up", ...)
  std::string to;               ///< new state ("firing", "resolved", "down", "ok", "failed", ...)
  std::string detail;           ///< human-readable: summary annotation, failure reason, error
};

class StateDb {
 public:
  /// Opens (creating the directory and the database if absent) `dir`/vigil.db in WAL mode with
  /// synchronous=FULL. A database that exists but is corrupt, not SQLite, of an unknown schema
  /// version, or unwritable is an error naming the file; it is never recreated empty.
  static Result<std::unique_ptr<StateDb>> open(const std::string& dir);
  /// Opens an existing `dir`/vigil.db for reading only (`vigil report`, possibly while the daemon
  /// runs): the same checks as open(), but it creates nothing, a missing or empty database is an
  /// error, and every writing method returns an error.
  static Result<std::unique_ptr<StateDb>> openReadOnly(const std::string& dir);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  /// The database file's path.
  const std::string& path() const;

  // --- outbox ---
  /// Durable (committed and synced) when it returns; returns the new id.
  Result<int64_t> enqueue(const OutboxEntry& e);
  /// Every undelivered entry, by id.
  Result<std::vector<OutboxEntry>> pending();
  Status delivered(int64_t id);
  Status retryLater(int64_t id, int attempts, TimestampMs nextAttemptAt, const std::string& error);
  /// Removes an entry that will not be delivered (expired, rejected with 4xx, receiver gone).
  Status drop(int64_t id, const std::string& reason);

  // --- notification log ---
  Status recordNotified(const NotifyLogEntry& e);  ///< upsert by (receiver, groupKey)
  Result<std::vector<NotifyLogEntry>> notifyLog();

  // --- alert states ---
  /// Replaces every stored alert with `alerts`, in one transaction.
  Status saveAlerts(const std::vector<AlertRecord>& alerts);
  Result<std::vector<AlertRecord>> loadAlerts();

  // --- event history ---
  Status addEvent(const Event& e);
  /// Events with since <= at < until, oldest first.
  Result<std::vector<Event>> events(TimestampMs since, TimestampMs until);
  /// Deletes events older than `before`; returns how many.
  Result<int64_t> pruneEvents(TimestampMs before);

 private:
  struct Impl;
  explicit StateDb(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::state
