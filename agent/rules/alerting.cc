#include "agent/rules/alerting.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "agent/rules/promql/engine.h"
#include "agent/rules/promql/storage.h"
#include "agent/rules/template.h"

namespace vigil::rules {

const char* toString(AlertState s) {
  switch (s) {
    case AlertState::kInactive: return "inactive";
    case AlertState::kPending: return "pending";
    case AlertState::kFiring: return "firing";
  }
  return "?";
}

namespace {

/// Evaluates like Prometheus' EngineQueryFunc: a scalar becomes a one-element vector without
/// labels; other non-vector results are errors.
Result<promql::Vector> queryVector(const promql::Expr& expr, TimestampMs now,
                                   const promql::Queryable& q) {
  auto v = promql::evalInstant(expr, now, q);
  if (!v) return v.error();
  if (auto* vec = std::get_if<promql::Vector>(&*v)) return std::move(*vec);
  if (auto* s = std::get_if<promql::Scalar>(&*v)) {
    return promql::Vector{promql::Sample{{}, now, s->v}};
  }
  return Error{"rule result is not a vector or scalar", "", 0, 0};
}

}  // namespace

AlertingRule::AlertingRule(RuleDef def, Labels externalLabels, std::string externalURL)
    : def_(std::move(def)),
      externalLabels_(std::move(externalLabels)),
      externalURL_(std::move(externalURL)) {}

Result<std::vector<OutputSample>> AlertingRule::eval(TimestampMs now, const promql::Queryable& q) {
  auto res = queryVector(*def_.expr, now, q);
  if (!res) return res.error();
  std::map<Labels, Alert> current;
  for (const auto& s : *res) {
    TemplateData data{s.labels, s.v, externalLabels_, externalURL_};
    auto expand = [&](const std::string& text) {
      auto r = expandTemplate(text, data);
      return r ? *r : "<error expanding template: " + r.error().message + ">";
    };
    Labels labels = s.labels;
    set(labels, kMetricNameLabel, "");
    for (const auto& l : def_.labels) set(labels, l.name, expand(l.value));
    set(labels, "alertname", def_.name);
    Alert a;
    a.state = AlertState::kPending;
    for (const auto& an : def_.annotations) a.annotations.emplace_back(an.name, expand(an.value));
    a.activeAt = now;
    a.value = s.v;
    a.labels = labels;
    if (!current.emplace(labels, std::move(a)).second) {
      return Error{"vector contains metrics with the same labelset after applying alert labels",
                   "", 0, 0};
    }
  }
  for (auto& [labels, a] : current) {
    auto it = active_.find(labels);
    if (it != active_.end() && it->second.state != AlertState::kInactive) {
      it->second.value = a.value;
      it->second.annotations = a.annotations;
      continue;
    }
    active_[labels] = a;
  }
  std::vector<OutputSample> out;
  for (auto it = active_.begin(); it != active_.end();) {
    Alert& a = it->second;
    if (!current.count(it->first) && a.holdUntil > now && a.state != AlertState::kInactive) {
      // Restored after a restart and the series are still refilling: keep it as it was.
    } else if (!current.count(it->first)) {
      // The expression no longer returns this alert. A firing alert may be held by
      // keep_firing_for; a resolved one is kept for kResolvedRetentionMs.
      bool keepFiring = false;
      if (a.state == AlertState::kFiring && def_.keepFiringFor.count() > 0) {
        if (a.keepFiringSince == 0) a.keepFiringSince = now;
        if (now - a.keepFiringSince < def_.keepFiringFor.count()) keepFiring = true;
      }
      bool drop = a.state == AlertState::kPending ||
                  (a.resolvedAt != 0 && now - a.resolvedAt > kResolvedRetentionMs);
      if (!drop && a.state != AlertState::kInactive && !keepFiring) {
        a.state = AlertState::kInactive;
        a.resolvedAt = now;
      }
      if (drop) {
        it = active_.erase(it);
        continue;
      }
      if (!keepFiring) {
        ++it;
        continue;
      }
    } else if (current.count(it->first)) {
      a.keepFiringSince = 0;
      a.holdUntil = 0;
    }
    if (a.state == AlertState::kPending && now - a.activeAt >= def_.forDuration.count() &&
        current.count(it->first)) {
      a.state = AlertState::kFiring;
      a.firedAt = now;
    }
    Labels alerts = a.labels;
    set(alerts, kMetricNameLabel, "ALERTS");
    set(alerts, "alertstate", toString(a.state));
    out.push_back(OutputSample{std::move(alerts), now, 1});
    Labels forState = a.labels;
    set(forState, kMetricNameLabel, "ALERTS_FOR_STATE");
    // Prometheus stores whole seconds (ActiveAt.Unix()).
    double activeSec = static_cast<double>(a.activeAt >= 0 ? a.activeAt / 1000
                                                           : -((-a.activeAt + 999) / 1000));
    out.push_back(OutputSample{std::move(forState), now, activeSec});
    ++it;
  }
  return out;
}

bool needsSending(const Alert& a, TimestampMs now, int64_t resendDelayMs) {
  switch (a.state) {
    case AlertState::kPending: return false;
    case AlertState::kInactive:
    case AlertState::kFiring: break;
  }
  if (a.resolvedAt > a.lastSentAt) return true;
  // 0 means "never sent" (Prometheus' zero time is long before any `now`).
  if (a.lastSentAt == 0) return true;
  return a.lastSentAt + resendDelayMs < now;
}

std::vector<Alert> AlertingRule::alertsToSend(TimestampMs now, int64_t resendDelayMs,
                                              int64_t intervalMs) {
  std::vector<Alert> out;
  for (auto& [l, a] : active_) {
    if (!needsSending(a, now, resendDelayMs)) continue;
    a.lastSentAt = now;
    a.validUntil = now + 4 * std::max(resendDelayMs, intervalMs);
    out.push_back(a);
  }
  return out;
}

std::vector<Alert> AlertingRule::activeAlerts() const {
  std::vector<Alert> out;
  for (const auto& [l, a] : active_) out.push_back(a);
  return out;
}

void AlertingRule::restore(Alert a) {
  Labels key = a.labels;
  active_.emplace(std::move(key), std::move(a));
}

void AlertingRule::markSent(const Labels& alertLabels, TimestampMs at) {
  auto it = active_.find(alertLabels);
  if (it != active_.end()) it->second.lastSentAt = at;
}

Result<std::vector<OutputSample>> RecordingRule::eval(TimestampMs now,
                                                      const promql::Queryable& q) const {
  auto res = queryVector(*def_.expr, now, q);
  if (!res) return res.error();
  std::vector<OutputSample> out;
  std::set<Labels> seen;
  for (auto& s : *res) {
    Labels l = std::move(s.labels);
    set(l, kMetricNameLabel, def_.name);
    for (const auto& rl : def_.labels) set(l, rl.name, rl.value);
    if (!seen.insert(l).second) {
      return Error{"vector contains metrics with the same labelset after applying rule labels",
                   "", 0, 0};
    }
    out.push_back(OutputSample{std::move(l), now, s.v});
  }
  return out;
}

RuleGroup::RuleGroup(RuleGroupDef def, Labels externalLabels, std::string externalURL)
    : def_(std::move(def)) {
  for (const auto& r : def_.rules) {
    switch (r.kind) {
      case RuleDef::Kind::kAlerting:
        order_.push_back(Slot{true, alerting_.size()});
        alerting_.emplace_back(r, externalLabels, externalURL);
        break;
      case RuleDef::Kind::kRecording:
        order_.push_back(Slot{false, recording_.size()});
        recording_.emplace_back(r);
        break;
    }
  }
  previous_.resize(order_.size());
  lastErrors_.resize(order_.size());
}

GroupEvalResult RuleGroup::eval(TimestampMs now, const promql::Queryable& q) {
  GroupEvalResult result;
  promql::MemoryStorage fresh;
  promql::UnionQueryable view(q, fresh);
  for (size_t i = 0; i < order_.size(); ++i) {
    const Slot& slot = order_[i];
    auto samples = slot.alerting ? alerting_[slot.index].eval(now, view)
                                 : recording_[slot.index].eval(now, view);
    if (!samples) {
      lastErrors_[i] = samples.error().message;
      result.failures.emplace_back(
          slot.alerting ? alerting_[slot.index].def().name : recording_[slot.index].def().name,
          samples.error());
      continue;
    }
    lastErrors_[i].clear();
    std::vector<Labels> now_series;
    std::set<Labels> nowSet;
    for (const auto& s : *samples) {
      fresh.append(s.labels, s.t, s.v);
      nowSet.insert(s.labels);
      now_series.push_back(s.labels);
      result.samples.push_back(s);
    }
    // Series this rule produced last time but not now go stale, as in Prometheus' Group.Eval.
    for (const auto& l : previous_[i]) {
      if (!nowSet.count(l)) {
        fresh.append(l, now, promql::staleNaN());
        result.samples.push_back(OutputSample{l, now, promql::staleNaN()});
      }
    }
    previous_[i] = std::move(now_series);
  }
  return result;
}

Result<std::vector<RuleGroup>> loadRuleGroups(const std::vector<std::string>& files,
                                              const Labels& externalLabels,
                                              const std::string& externalURL) {
  std::vector<RuleGroup> out;
  for (const auto& f : files) {
    auto rf = loadRuleFile(f);
    if (!rf) return rf.error();
    for (auto& g : rf->groups) out.emplace_back(std::move(g), externalLabels, externalURL);
  }
  return out;
}

}  // namespace vigil::rules
