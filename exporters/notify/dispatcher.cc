#include "exporters/notify/dispatcher.h"

#include <fmt/format.h>

#include <algorithm>

namespace vigil::notify {

namespace {

/// Whether `b` is a different report of the alert `a` (same labels) for grouping purposes.
/// endsAt only counts once resolved: while firing it is an expiry the notifier ignores.
bool changed(const Alert& a, const Alert& b) {
  return a.resolved != b.resolved || a.startsAt != b.startsAt ||
         (a.resolved && a.endsAt != b.endsAt) || a.annotations != b.annotations ||
         a.generatorURL != b.generatorURL;
}

Error checkReceivers(const Route& r, const std::map<std::string, bool>& names, bool* ok) {
  if (!names.contains(r.opts().receiver)) {
    *ok = false;
    const auto& p = r.position();
    return Error{fmt::format("route uses undefined receiver \"{}\"", r.opts().receiver), p.file,
                 p.line, p.column};
  }
  for (const auto& c : r.routes()) {
    Error e = checkReceivers(*c, names, ok);
    if (!*ok) return e;
  }
  return {};
}

bool isSubset(const std::vector<Fingerprint>& set, const std::vector<Fingerprint>& subset) {
  return std::includes(set.begin(), set.end(), subset.begin(), subset.end());
}

}  // namespace

bool needsUpdate(const NotifyLogEntry* entry, const std::vector<Fingerprint>& firing,
                 const std::vector<Fingerprint>& resolved, bool sendResolved, Duration repeat,
                 TimestampMs now) {
  if (entry == nullptr) return !firing.empty();
  if (!isSubset(entry->firingFingerprints, firing)) return true;
  if (firing.empty()) return !entry->firingFingerprints.empty();
  if (sendResolved && !isSubset(entry->resolvedFingerprints, resolved)) return true;
  return now - entry->sentAt >= repeat.count();
}

Result<std::unique_ptr<Dispatcher>> Dispatcher::create(const config::Alerting& alerting,
                                                       DispatcherOptions opts) {
  std::unique_ptr<Dispatcher> d(new Dispatcher());
  d->opts_ = std::move(opts);
  std::map<std::string, bool> names;
  for (const config::Receiver& r : alerting.receivers) {
    ReceiverInfo info;
    if (r.webhook) {
      auto f = parseFormat(r.webhook->format);
      if (!f || *f == Format::kConsole) {
        return Error{fmt::format("receiver \"{}\": unknown webhook format \"{}\"", r.name,
                                 r.webhook->format),
                     r.position.file, r.position.line, r.position.column};
      }
      info.format = *f;
      info.sendResolved = r.webhook->sendResolved;
    } else {
      info.format = Format::kConsole;
      info.sendResolved = true;
    }
    d->receivers_[r.name] = info;
    names[r.name] = true;
  }
  if (alerting.route) {
    auto root = Route::build(*alerting.route);
    if (!root) return root.error();
    bool ok = true;
    Error e = checkReceivers(**root, names, &ok);
    if (!ok) return e;
    d->root_ = std::move(*root);
  }
  return d;
}

std::vector<Notification> Dispatcher::update(const std::vector<Alert>& alerts, TimestampMs now) {
  const uint64_t gen = ++updates_;
  for (const Alert& in : alerts) {
    Fingerprint fp = fingerprint(in.labels);
    auto [it, added] = known_.try_emplace(fp);
    Known& k = it->second;
    if (!added && k.seenIn == gen) continue;  // a second alert with the same labels
    k.seenIn = gen;
    if (!added && !changed(k.alert, in)) continue;
    k.alert = in;
    if (!k.alert.resolved) k.alert.endsAt = 0;
    insert(k.alert, fp, now);
  }
  for (auto it = known_.begin(); it != known_.end();) {
    Known& k = it->second;
    if (k.seenIn == gen) {
      ++it;
    } else if (!k.alert.resolved) {
      // The rule engine stopped reporting it (rule removed on reload, retention over): it is
      // resolved now, as Alertmanager resolves an alert that is no longer resent.
      k.alert.resolved = true;
      k.alert.endsAt = now;
      insert(k.alert, it->first, now);
      ++it;
    } else {
      it = known_.erase(it);
    }
  }
  return tick(now);
}

void Dispatcher::insert(const Alert& a, Fingerprint fp, TimestampMs now) {
  if (!root_) return;
  for (const Route* route : root_->match(a.labels)) {
    Labels labels = route->groupLabels(a.labels);
    std::string labelsText = labelSetString(labels);
    GroupId id{route->index(), labelsText};
    auto it = groups_.find(id);
    const int64_t wait = route->opts().groupWait.count();
    if (it == groups_.end()) {
      Group g;
      g.route = route;
      g.labels = std::move(labels);
      g.key = route->key() + ":" + labelsText;
      g.next = now + wait;
      it = groups_.emplace(id, std::move(g)).first;
    }
    Group& g = it->second;
    g.alerts[fp] = a;
    // As in Alertmanager: an alert that started longer than group_wait ago (e.g. one that was
    // already firing before a restart or reload) does not wait again.
    if (!g.hasFlushed && a.startsAt + wait < now) g.next = std::min(g.next, now);
  }
}

std::vector<Notification> Dispatcher::tick(TimestampMs now) {
  std::vector<Notification> out;
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& g = it->second;
    if (g.next > now) {
      ++it;
      continue;
    }
    g.next = now + g.route->opts().groupInterval.count();
    g.hasFlushed = true;
    flush(g, now, &out);
    // Resolved alerts leave the group once flushed, whether or not anything was sent.
    std::erase_if(g.alerts, [](const auto& kv) { return kv.second.resolved; });
    if (g.alerts.empty()) {
      it = groups_.erase(it);
    } else {
      ++it;
    }
  }
  auto expired = [now](const auto& kv) {
    return kv.second.sentAt + kNotifyLogRetentionMs <= now;
  };
  std::erase_if(log_, expired);
  std::erase_if(changes_, expired);
  return out;
}

void Dispatcher::flush(Group& g, TimestampMs now, std::vector<Notification>* out) {
  if (g.alerts.empty()) return;
  std::vector<Alert> alerts;
  std::vector<Fingerprint> firing, resolved;
  for (const auto& [fp, a] : g.alerts) {
    alerts.push_back(a);
    (a.resolved ? resolved : firing).push_back(fp);  // g.alerts is ordered: sorted already
  }
  sortAlerts(alerts);
  const std::string& receiver = g.route->opts().receiver;
  const ReceiverInfo& info = receivers_.at(receiver);
  auto logKey = std::make_pair(receiver, g.key);
  auto entry = log_.find(logKey);
  if (!needsUpdate(entry == log_.end() ? nullptr : &entry->second, firing, resolved,
                   info.sendResolved, g.route->opts().repeatInterval, now)) {
    return;
  }
  NotifyLogEntry e{receiver, g.key, now, firing, resolved};
  log_[logKey] = e;
  changes_[logKey] = std::move(e);

  if (!info.sendResolved) {
    std::erase_if(alerts, [](const Alert& a) { return a.resolved; });
    // Every alert resolved and the receiver does not want to hear it: logged, not sent.
    if (alerts.empty()) return;
  }
  Message m{receiver, g.key, g.labels, std::move(alerts), opts_.externalURL};
  Rendered r = render(info.format, m, opts_.render);
  Notification n;
  n.receiver = receiver;
  n.groupKey = g.key;
  n.idempotencyKey = idempotencyKey(receiver, g.key, now);
  n.body = std::move(r.body);
  n.contentType = std::move(r.contentType);
  n.resolved = std::string_view(groupStatus(m)) == "resolved";
  n.createdAt = now;
  out->push_back(std::move(n));
}

std::string Dispatcher::idempotencyKey(const std::string& receiver, const std::string& groupKey,
                                       TimestampMs now) {
  // Unique per notification: the group, the creation time, and a sequence number with a
  // per-process seed so that a restart within the same millisecond cannot repeat a key.
  Fingerprint group = fingerprint(Labels{{"g", groupKey}, {"r", receiver}});
  Fingerprint instance = fingerprint(Labels{{"n", std::to_string(sequence_++)},
                                            {"s", std::to_string(opts_.instanceSeed)},
                                            {"t", std::to_string(now)}});
  return toHex(group) + toHex(instance);
}

std::optional<TimestampMs> Dispatcher::nextWakeup() const {
  std::optional<TimestampMs> next;
  for (const auto& [id, g] : groups_) {
    if (!next || g.next < *next) next = g.next;
  }
  return next;
}

std::vector<NotifyLogEntry> Dispatcher::notificationLog() const {
  std::vector<NotifyLogEntry> out;
  out.reserve(log_.size());
  for (const auto& [k, e] : log_) out.push_back(e);
  return out;
}

void Dispatcher::restoreNotificationLog(std::vector<NotifyLogEntry> entries, TimestampMs now) {
  log_.clear();
  for (NotifyLogEntry& e : entries) {
    if (e.sentAt + kNotifyLogRetentionMs <= now) continue;
    std::sort(e.firingFingerprints.begin(), e.firingFingerprints.end());
    std::sort(e.resolvedFingerprints.begin(), e.resolvedFingerprints.end());
    auto key = std::make_pair(e.receiver, e.groupKey);
    log_[key] = std::move(e);
  }
}

std::vector<NotifyLogEntry> Dispatcher::takeLogChanges() {
  std::vector<NotifyLogEntry> out;
  out.reserve(changes_.size());
  for (auto& [k, e] : changes_) out.push_back(std::move(e));
  changes_.clear();
  return out;
}

std::vector<GroupInfo> Dispatcher::groups() const {
  std::vector<GroupInfo> out;
  for (const auto& [id, g] : groups_) {
    out.push_back(GroupInfo{g.route->opts().receiver, g.key, g.alerts.size(), g.next});
  }
  return out;
}

}  // namespace vigil::notify
