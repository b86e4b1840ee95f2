#pragma once
// The notification log as the state database stores it (state::NotifyLogEntry): the agent
// persists Dispatcher::takeLogChanges() with StateDb::recordNotified() and, on start, restores
// Dispatcher::restoreNotificationLog() from StateDb::notifyLog(). Header-only: plain copies.

#include <vector>

#include "agent/state/state_db.h"
#include "exporters/notify/dispatcher.h"

namespace vigil::notify {

inline state::NotifyLogEntry toState(const NotifyLogEntry& e) {
  return state::NotifyLogEntry{e.receiver, e.groupKey, e.sentAt, e.firingFingerprints,
                               e.resolvedFingerprints};
}

inline NotifyLogEntry fromState(const state::NotifyLogEntry& e) {
  return NotifyLogEntry{e.receiver, e.groupKey, e.sentAt, e.firingFingerprints,
                        e.resolvedFingerprints};
}

inline std::vector<NotifyLogEntry> fromState(const std::vector<state::NotifyLogEntry>& entries) {
  std::vector<NotifyLogEntry> out;
  out.reserve(entries.size());
  for (const auto& e : entries) out.push_back(fromState(e));
  return out;
}

}  // namespace vigil::notify
