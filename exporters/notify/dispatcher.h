#pragma once
// Alertmanager's dispatcher and dedup stage in virtual time: alerts are routed through the
// routing tree into aggregation groups (one per route and group-label values); each group is
// flushed group_wait after it was created and every group_interval after that, and a flush
// becomes a notification when Alertmanager's notification log says so (new firing alerts, new
// resolved alerts for receivers with send_resolved, or repeat_interval passed). No threads, no
// clock reads: the caller passes `now` and sleeps until nextWakeup().

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/config/config.h"
#include "agent/core/clock.h"
#include "agent/core/error.h"
#include "exporters/notify/alert.h"
#include "exporters/notify/fingerprint.h"
#include "exporters/notify/notification.h"
#include "exporters/notify/payload.h"
#include "exporters/notify/route.h"

namespace vigil::notify {

/// The last notification of a group to a receiver (Alertmanager's nflog entry). Mirrors
/// state::NotifyLogEntry field for field, so the agent persists it as is.
struct NotifyLogEntry {
  std::string receiver;
  std::string groupKey;
  TimestampMs sentAt = 0;
  std::vector<Fingerprint> firingFingerprints;    ///< sorted
  std::vector<Fingerprint> resolvedFingerprints;  ///< sorted
  bool operator==(const NotifyLogEntry&) const = default;
};

/// Notification-log entries are forgotten this long after they were written (Alertmanager's
/// default --data.retention). A group that still fires rewrites its entry every repeat_interval,
/// so only a repeat_interval longer than this re-pages early.
inline constexpr int64_t kNotifyLogRetentionMs = 120LL * 3600 * 1000;

/// Alertmanager's DedupStage.needsUpdate: whether a flush with these (sorted) firing and
/// resolved fingerprints is to be notified, given the receiver's last notification of the group.
/// - no entry: when something fires;
/// - an alert fires that was not firing in the last notification: yes;
/// - nothing fires any more: yes if the last notification had firing alerts (it clears them,
///   even when send_resolved is off; nothing is then sent but the log is updated);
/// - with send_resolved, an alert resolved that the last notification did not list: yes;
/// - otherwise when repeat_interval has passed since the last notification. Alertmanager
///   compares strictly but logs after the send, so a flush exactly repeat_interval later misses
///   by milliseconds; here equality counts, so a 4h repeat with a 5m group_interval repeats at
///   4h, not 4h05m.
bool needsUpdate(const NotifyLogEntry* entry, const std::vector<Fingerprint>& firing,
                 const std::vector<Fingerprint>& resolved, bool sendResolved, Duration repeat,
                 TimestampMs now);

struct DispatcherOptions {
  std::string externalURL;   ///< the agent's URL, in payloads
  uint64_t instanceSeed = 0; ///< mixed into idempotency keys: differ per process start
  RenderOptions render;
};

/// An aggregation group, for status pages and tests.
struct GroupInfo {
  std::string receiver;
  std::string groupKey;
  size_t alerts = 0;
  TimestampMs nextFlush = 0;
};

/// Not thread-safe: owned by the rule/notify thread. On a config reload, build a new one and
/// hand it the old one's notificationLog(): its groups start empty, the alerts that are still
/// firing flush at once (they started long ago) and the log keeps them from paging again.
class Dispatcher {
 public:
  /// Builds the routing tree of `alerting.route` (no route: nothing is ever notified). Errors
  /// name the route's position (an unknown receiver, a bad regex).
  static Result<std::unique_ptr<Dispatcher>> create(const config::Alerting& alerting,
                                                    DispatcherOptions opts = {});

  /// Takes the rule engine's current alerts (firing and recently resolved; every call carries
  /// the whole set) and returns the notifications due at `now` (update, then tick(now)). An
  /// alert that is new or changed (resolved, restarted, new annotations) enters the groups of
  /// every route it matches; a firing alert missing from `alerts` counts as resolved at `now`;
  /// a resolved alert that was already handled and is reported again unchanged is ignored.
  /// Among alerts with the same labels the first wins.
  std::vector<Notification> update(const std::vector<Alert>& alerts, TimestampMs now);

  /// Flushes every group whose time has come; returns the notifications, in route order then
  /// group key order. Each is recorded in the notification log as sent at `now` (the outbox
  /// makes it durable and delivers it).
  std::vector<Notification> tick(TimestampMs now);

  /// When tick() next has something to do; nullopt when there are no groups.
  std::optional<TimestampMs> nextWakeup() const;

  /// Every notification-log entry, by receiver and group key.
  std::vector<NotifyLogEntry> notificationLog() const;
  /// Replaces the notification log, e.g. with what the state database kept across a restart,
  /// so that a group still firing is not notified again before repeat_interval. Entries older
  /// than the retention at `now` are dropped; fingerprint lists are sorted.
  void restoreNotificationLog(std::vector<NotifyLogEntry> entries, TimestampMs now);
  /// The entries written since the last call (the latest of each group; to persist them), by
  /// receiver and group key. Bounded by the size of the log even if never called.
  std::vector<NotifyLogEntry> takeLogChanges();

  std::vector<GroupInfo> groups() const;
  const Route* root() const { return root_.get(); }

 private:
  struct ReceiverInfo {
    Format format = Format::kAlertmanager;
    bool sendResolved = true;
  };
  struct Group {
    const Route* route = nullptr;
    Labels labels;
    std::string key;
    std::map<Fingerprint, Alert> alerts;
    TimestampMs next = 0;
    bool hasFlushed = false;
  };
  using GroupId = std::pair<int, std::string>;  ///< route index, group labels

  Dispatcher() = default;
  void insert(const Alert& a, Fingerprint fp, TimestampMs now);
  void flush(Group& g, TimestampMs now, std::vector<Notification>* out);
  std::string idempotencyKey(const std::string& receiver, const std::string& groupKey,
                             TimestampMs now);

  DispatcherOptions opts_;
  std::unique_ptr<Route> root_;
  std::map<std::string, ReceiverInfo> receivers_;
  std::map<GroupId, Group> groups_;
  struct Known {
    Alert alert;
    uint64_t seenIn = 0;  ///< the update() call that last reported it
  };
  std::unordered_map<Fingerprint, Known> known_;  ///< every alert reported, by fingerprint
  uint64_t updates_ = 0;
  std::map<std::pair<std::string, std::string>, NotifyLogEntry> log_;
  std::map<std::pair<std::string, std::string>, NotifyLogEntry> changes_;
  uint64_t sequence_ = 0;
};

}  // namespace vigil::notify
