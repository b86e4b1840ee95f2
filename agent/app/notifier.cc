#include "agent/app/notifier.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <set>

#include "agent/core/log.h"
#include "exporters/notify/notify_log.h"
#include "exporters/notify/rule_alerts.h"

namespace vigil {

namespace {

std::string stateName(const rules::Alert& a) {
  switch (a.state) {
    case rules::AlertState::kPending: return "pending";
    case rules::AlertState::kFiring: return "firing";
    case rules::AlertState::kInactive: return "resolved";
  }
  return "resolved";
}

rules::AlertState parseState(const std::string& s) {
  if (s == "pending") return rules::AlertState::kPending;
  if (s == "firing") return rules::AlertState::kFiring;
  return rules::AlertState::kInactive;
}

std::string annotation(const rules::Alert& a, std::string_view name) {
  for (const auto& [k, v] : a.annotations) {
    if (k == name) return v;
  }
  return "";
}

std::string alertNames(const notify::Notification& n) {
  // The group key ends with the group labels: enough to tell pages apart in the history.
  return n.groupKey;
}

}  // namespace

Notifier::Notifier(series::SeriesStore& store, const Clock& clock, state::StateDb& db,
                   std::string externalUrl)
    : store_(store), clock_(clock), db_(db), externalUrl_(std::move(externalUrl)), outbox_(db) {
  notify::Delivery::Options opts;
  opts.onEvent = [this](const notify::DeliveryEvent& e) {
    if (e.result == "failure") return;  // retried: only the outcome goes into the history
    addEvent(state::Event{0, clock_.nowMs(), "notification", e.receiver, {}, "queued",
                          e.result == "success" ? "delivered" : e.result,
                          e.error.empty() ? fmt::format("outbox id {}", e.id)
                                          : fmt::format("outbox id {}: {}", e.id, e.error)});
  };
  delivery_ = std::make_unique<notify::Delivery>(outbox_, &store_, clock_, std::move(opts));
}

Notifier::~Notifier() { stop(); }

Status Notifier::configure(const config::Config& cfg) {
  notify::DispatcherOptions opts;
  opts.externalURL = externalUrl_;
  opts.instanceSeed = static_cast<uint64_t>(clock_.nowMs()) ^ (static_cast<uint64_t>(::getpid()) << 32);
  auto next = notify::Dispatcher::create(cfg.alerting, opts);
  if (!next.ok()) return next.error();
  std::lock_guard lock(mu_);
  const TimestampMs now = clock_.nowMs();
  if (dispatcher_) {
    (*next)->restoreNotificationLog(dispatcher_->notificationLog(), now);
  } else if (auto log = db_.notifyLog(); log.ok()) {
    (*next)->restoreNotificationLog(notify::fromState(*log), now);
  } else {
    LOG_ERROR("cannot read the notification log; firing alerts may be paged again",
              {"err", log.error().format()});
  }
  dispatcher_ = std::move(next).value();
  externalLabels_ = cfg.global.externalLabels;
  delivery_->setReceivers(cfg.alerting.receivers);
  return Ok{};
}

std::vector<RuleRunner::ActiveAlert> Notifier::restoredAlerts() {
  std::vector<RuleRunner::ActiveAlert> out;
  auto records = db_.loadAlerts();
  if (!records.ok()) {
    LOG_ERROR("cannot read the saved alert states; alerts start over",
              {"err", records.error().format()});
    return out;
  }
  std::lock_guard lock(mu_);
  for (const auto& r : *records) {
    rules::Alert a;
    a.state = parseState(r.state);
    a.labels = r.labels;
    a.value = r.value;
    a.activeAt = r.activeAt;
    a.firedAt = r.firedAt;
    a.resolvedAt = r.resolvedAt;
    a.lastSentAt = r.lastSentAt;
    a.validUntil = r.validUntil;
    a.keepFiringSince = r.keepFiringSince;
    states_[{r.group, r.labels}] = stateName(a);
    out.push_back(RuleRunner::ActiveAlert{r.group, r.rule, "", std::move(a)});
  }
  statesLoaded_ = true;
  return out;
}

Status Notifier::start() { return delivery_->start(); }

void Notifier::stop() {
  flushEvents();
  if (delivery_) delivery_->stop();
}

void Notifier::evaluated(const std::vector<RuleRunner::ActiveAlert>& alerts, TimestampMs now) {
  std::vector<notify::Notification> out;
  {
    std::lock_guard lock(mu_);
    // 1. Transitions, for the history; states, for the next start.
    bool changed = false;
    std::set<std::pair<std::string, Labels>> seen;
    for (const auto& a : alerts) {
      auto key = std::make_pair(a.group, a.alert.labels);
      seen.insert(key);
      const std::string to = stateName(a.alert);
      auto it = states_.find(key);
      const std::string from = it == states_.end() ? "inactive" : it->second;
      if (from == to) continue;
      changed = true;
      states_[key] = to;
      std::string detail = annotation(a.alert, "summary");
      addEvent(state::Event{0, now, "alert", a.rule, a.alert.labels, from, to, std::move(detail)});
    }
    for (auto it = states_.begin(); it != states_.end();) {
      if (seen.count(it->first)) {
        ++it;
        continue;
      }
      // Gone from the rule: a pending alert whose expression turned false, or a resolved one
      // past its retention.
      if (it->second == "pending") {
        std::string name = "";
        for (const auto& l : it->first.second) {
          if (l.name == "alertname") name = l.value;
        }
        addEvent(state::Event{0, now, "alert", name, it->first.second, "pending", "inactive", ""});
      }
      changed = true;
      it = states_.erase(it);
    }
    if (changed) {
      std::vector<state::AlertRecord> records;
      for (const auto& a : alerts) {
        const auto& x = a.alert;
        records.push_back(state::AlertRecord{a.group, a.rule, x.labels, stateName(x) == "resolved" ? "inactive" : stateName(x),
                                             x.value, x.activeAt, x.firedAt, x.resolvedAt,
                                             x.lastSentAt, x.validUntil, x.keepFiringSince});
      }
      if (Status st = db_.saveAlerts(records); !st.ok()) {
        LOG_ERROR("cannot save alert states", {"err", st.error().format()});
      }
    }
    // 2. Routing and grouping.
    if (dispatcher_) {
      std::vector<notify::Alert> forNotifier;
      for (const auto& a : alerts) {
        auto converted = notify::fromRuleAlerts({a.alert}, externalLabels_,
                                                notify::generatorURL(externalUrl_, a.expr));
        for (auto& c : converted) forNotifier.push_back(std::move(c));
      }
      out = dispatcher_->update(forNotifier, now);
    }
  }
  submit(std::move(out), now);
  flushEvents();
}

std::optional<TimestampMs> Notifier::tick(TimestampMs now) {
  std::vector<notify::Notification> out;
  std::optional<TimestampMs> next;
  {
    std::lock_guard lock(mu_);
    if (dispatcher_) {
      out = dispatcher_->tick(now);
      next = dispatcher_->nextWakeup();
    }
  }
  submit(std::move(out), now);
  flushEvents();
  return next;
}

void Notifier::submit(std::vector<notify::Notification> ns, TimestampMs now) {
  for (auto& n : ns) {
    if (n.createdAt == 0) n.createdAt = now;
    const int64_t id = delivery_->submit(n);
    LOG_INFO("notification queued", {"receiver", n.receiver}, {"group", alertNames(n)},
             {"status", n.resolved ? "resolved" : "firing"}, {"outbox_id", std::to_string(id)});
    addEvent(state::Event{0, now, "notification", n.receiver, {}, "", "queued",
                          fmt::format("{} {} (outbox id {})", n.resolved ? "resolved" : "firing",
                                      alertNames(n), id)});
  }
  persistLog();
}

void Notifier::persistLog() {
  std::vector<notify::NotifyLogEntry> changes;
  {
    std::lock_guard lock(mu_);
    if (dispatcher_) changes = dispatcher_->takeLogChanges();
  }
  for (const auto& e : changes) {
    if (Status st = db_.recordNotified(notify::toState(e)); !st.ok()) {
      LOG_ERROR("cannot save the notification log", {"err", st.error().format()});
    }
  }
}

void Notifier::probeTransition(const Agent::ProbeTransition& t) {
  Labels labels{{"probe", t.probe}};
  if (!t.url.empty()) labels.push_back({"url", t.url});
  std::sort(labels.begin(), labels.end());
  state::Event e{0, t.at, "probe", t.target, std::move(labels), t.first ? "" : (t.up ? "down" : "up"),
                 t.up ? "up" : "down", t.reason};
  std::lock_guard lock(eventsMu_);
  if (queued_.size() < 10'000) queued_.push_back(std::move(e));
}

void Notifier::reloaded(bool ok, const std::string& file, const std::string& detail) {
  addEvent(state::Event{0, clock_.nowMs(), "reload", file, {}, "", ok ? "ok" : "failed", detail});
}

void Notifier::addEvent(const state::Event& e) {
  std::lock_guard lock(eventsMu_);
  if (queued_.size() < 10'000) queued_.push_back(e);
}

void Notifier::flushEvents() {
  std::vector<state::Event> events;
  {
    std::lock_guard lock(eventsMu_);
    events.swap(queued_);
  }
  for (const auto& e : events) {
    if (Status st = db_.addEvent(e); !st.ok()) {
      LOG_ERROR("cannot record an event in the history", {"err", st.error().format()});
      return;
    }
  }
}

}  // namespace vigil
