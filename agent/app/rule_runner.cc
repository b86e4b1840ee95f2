#include "agent/app/rule_runner.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "agent/app/store_queryable.h"
#include "agent/core/log.h"
#include "exporters/metrics/names.h"

namespace vigil {

namespace {

const std::vector<double> kEvalBuckets = {0.0005, 0.001, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,   1,    2.5};

// Go's strconv.FormatFloat(v, 'e', -1, 64), which is how Prometheus' API prints alert values.
std::string goFloatE(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  return std::string(buf, res.ptr);
}

nlohmann::json labelsJson(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& l : labels) j[l.name] = l.value;
  return j;
}

// An alert as Prometheus' API shows it.
nlohmann::json alertJson(const rules::Alert& a) {
  nlohmann::json ann = nlohmann::json::object();
  for (const auto& [k, v] : a.annotations) ann[k] = v;
  return {{"labels", labelsJson(a.labels)},
          {"annotations", ann},
          {"state", rules::toString(a.state)},
          {"activeAt", formatRfc3339(a.activeAt)},
          {"value", goFloatE(a.value)}};
}

// Two definitions are the same rule group when every rule reads and says the same: then a
// reload keeps the group object, and with it every alert's state.
bool sameGroup(const rules::RuleGroupDef& a, const rules::RuleGroupDef& b) {
  if (a.name != b.name || a.file != b.file || a.interval != b.interval ||
      a.rules.size() != b.rules.size()) {
    return false;
  }
  for (size_t i = 0; i < a.rules.size(); ++i) {
    const auto& x = a.rules[i];
    const auto& y = b.rules[i];
    if (x.kind != y.kind || x.name != y.name || x.exprText != y.exprText ||
        x.forDuration != y.forDuration || x.keepFiringFor != y.keepFiringFor ||
        x.labels != y.labels || x.annotations != y.annotations) {
      return false;
    }
  }
  return true;
}

}  // namespace

RuleRunner::RuleRunner(series::SeriesStore& store, const Clock& clock)
    : store_(store), clock_(clock) {
  evalDuration_ = std::make_unique<series::StoreHistogram>(
      store_, names::kRuleEvaluationDurationSeconds, Labels{}, kEvalBuckets);
  evalFailures_ = std::make_unique<series::StoreCounter>(store_,
                                                         names::kRuleEvaluationFailuresTotal,
                                                         Labels{});
  evalFailures_->touch(clock_.nowMs());
}

RuleRunner::~RuleRunner() { stop(); }

void RuleRunner::apply(std::vector<rules::RuleGroup> groups, Duration evaluationInterval) {
  std::vector<const promql::Expr*> exprs;
  std::lock_guard lock(mu_);
  std::vector<Group> next;
  const TimestampMs now = clock_.nowMs();
  for (auto& g : groups) {
    const Duration interval =
        g.def().interval.count() > 0 ? g.def().interval : evaluationInterval;
    bool kept = false;
    for (auto& old : groups_) {
      if (old.interval == interval && sameGroup(old.group.def(), g.def())) {
        next.push_back(std::move(old));
        old.interval = Duration{-1};  // taken
        kept = true;
        break;
      }
    }
    if (!kept) next.push_back(Group{std::move(g), interval, now, 0, 0});
  }
  groups_ = std::move(next);
  evaluationInterval_ = evaluationInterval;
  for (const auto& g : groups_) {
    for (const auto& r : g.group.def().rules) exprs.push_back(r.expr.get());
  }
  // Range selectors need history, but only of the metrics they name.
  HistoryNeeded history = historyNeeded(exprs);
  const Duration longest = history.longest();
  const size_t names = history.byName.size();
  store_.setRetention(history.fallback, std::move(history.byName));
  LOG_INFO("rules loaded", {"groups", std::to_string(groups_.size())},
           {"metrics_with_history", std::to_string(names)},
           {"longest_history", std::to_string(longest.count() / 1000) + "s"});
  wake_.notify_all();
}

void RuleRunner::setAlertSink(AlertSink sink, Duration resendDelay) {
  std::lock_guard lock(mu_);
  alertSink_ = std::move(sink);
  resendDelay_ = resendDelay;
}

void RuleRunner::start() {
  if (started_) return;
  started_ = true;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lk(wakeMu_);
    TimestampMs quietUntil = 0;
    while (!stopping_) {
      lk.unlock();
      bool gateOpen = true;
      {
        std::lock_guard lock(mu_);
        if (ready_) gateOpen = ready_();
      }
      if (!gateOpen) {
        // No evaluation before the first round of probes: on an empty store every alert would
        // look resolved.
        lk.lock();
        wake_.wait_for(lk, std::chrono::milliseconds(50), [this] { return stopping_; });
        continue;
      }
      // Arrivals wake the thread at most once per kMinEarlyGapMs: samplesArrived() only
      // notifies when the flag goes from false to true, and the flag stays set (so arrivals do
      // not notify again) until the quiet period is over.
      const TimestampMs now = clock_.nowMs();
      const bool early = now >= quietUntil && arrived_.exchange(false);
      const TimestampMs skipped = evalDue(now, early);
      if (early) quietUntil = now + kMinEarlyGapMs;
      if (skipped > 0) {
        // A group's own early-evaluation gap has not passed: come back then.
        arrived_ = true;
        quietUntil = std::max(quietUntil, skipped);
      }
      std::optional<TimestampMs> next;
      if (tick_) next = tick_(clock_.nowMs());
      {
        std::lock_guard lock(mu_);
        for (const auto& g : groups_) {
          if (!next || g.nextDue < *next) next = g.nextDue;
        }
      }
      if (arrived_.load() && (!next || quietUntil < *next)) next = quietUntil;
      lk.lock();
      const int64_t wait = !next ? 1000 : std::max<int64_t>(1, *next - clock_.nowMs());
      wake_.wait_for(lk, std::chrono::milliseconds(wait), [this, quietUntil] {
        return stopping_ || (arrived_.load() && clock_.nowMs() >= quietUntil);
      });
    }
  });
}

void RuleRunner::setReadyGate(std::function<bool()> ready) {
  std::lock_guard lock(mu_);
  ready_ = std::move(ready);
}

void RuleRunner::setHooks(EvaluatedHook evaluated, TickHook tick) {
  std::lock_guard lock(mu_);
  evaluated_ = std::move(evaluated);
  tick_ = std::move(tick);
}

void RuleRunner::samplesArrived() {
  if (arrived_.exchange(true)) return;  // already pending: the thread knows
  std::lock_guard lk(wakeMu_);
  wake_.notify_one();
}

size_t RuleRunner::restore(const std::vector<ActiveAlert>& alerts) {
  std::lock_guard lock(mu_);
  const TimestampMs now = clock_.nowMs();
  size_t n = 0;
  for (const auto& a : alerts) {
    for (auto& g : groups_) {
      if (g.group.def().file + ";" + g.group.def().name != a.group) continue;
      for (auto& rule : g.group.alertingRules()) {
        if (rule.def().name != a.rule) continue;
        // Until the rule's window has refilled with fresh samples, not seeing the alert does
        // not resolve it: the history before the restart is gone from memory.
        rules::Alert restored = a.alert;
        const Duration window = historyNeeded({rule.def().expr.get()}).longest();
        restored.holdUntil = now + window.count() + 2 * g.interval.count();
        rule.restore(std::move(restored));
        ++n;
      }
    }
  }
  return n;
}

void RuleRunner::stop() {
  if (!started_) return;
  {
    std::lock_guard lk(wakeMu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  started_ = false;
}

TimestampMs RuleRunner::evalDue(TimestampMs now, bool early) {
  std::unique_lock lock(mu_);
  const StoreQueryable q(store_);
  TimestampMs skipped = 0;
  bool evaluated = false;
  for (auto& g : groups_) {
    if (g.nextDue > now) {
      if (!early) continue;
      // An early evaluation, for samples that just arrived.
      const int64_t gap = std::max<int64_t>(
          kMinEarlyGapMs, static_cast<int64_t>(g.lastDurationSeconds * 20'000));
      if (now - g.lastEval < gap) {
        const TimestampMs allowed = g.lastEval + gap;
        if (skipped == 0 || allowed < skipped) skipped = allowed;
        continue;
      }
    }
    evaluated = true;
    // Like Prometheus: evaluate at the slot time, and skip missed slots rather than replay.
    const TimestampMs ts = now;
    g.nextDue = now + g.interval.count();
    const auto started = std::chrono::steady_clock::now();
    rules::GroupEvalResult res = g.group.eval(ts, q);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    g.lastEval = ts;
    g.lastDurationSeconds = seconds;
    evalDuration_->observe(ts, seconds);
    for (const auto& [rule, err] : res.failures) {
      evalFailures_->inc(ts);
      LOG_WARN("rule evaluation failed", {"group", g.group.def().name}, {"rule", rule},
               {"err", err.format()});
    }
    if (alertSink_) {
      for (auto& rule : g.group.alertingRules()) {
        auto alerts = rule.alertsToSend(ts, resendDelay_.count(), g.interval.count());
        if (!alerts.empty()) alertSink_(rule.def(), std::move(alerts));
      }
    }
    for (const auto& s : res.samples) {
      const std::string key = toString(s.labels);
      auto it = outputRefs_.find(key);
      if (it == outputRefs_.end()) {
        if (series::isStaleNaN(s.v)) continue;  // never written: nothing to mark
        it = outputRefs_.emplace(key, store_.ref(s.labels)).first;
      }
      if (series::isStaleNaN(s.v)) {
        // The rule stopped producing this series: releasing it writes the staleness marker.
        store_.release(it->second, s.t);
        outputRefs_.erase(it);
      } else {
        store_.append(it->second, s.t, s.v);
      }
    }
  }
  if (!evaluated || !evaluated_) return skipped;
  std::vector<ActiveAlert> active;
  for (const auto& g : groups_) {
    const std::string key = g.group.def().file + ";" + g.group.def().name;
    for (const auto& rule : g.group.alertingRules()) {
      for (auto& a : rule.activeAlerts()) {
        active.push_back(ActiveAlert{key, rule.def().name, rule.def().exprText, std::move(a)});
      }
    }
  }
  EvaluatedHook hook = evaluated_;
  lock.unlock();
  hook(active, now);
  return skipped;
}

std::vector<RuleRunner::ActiveAlert> RuleRunner::activeAlerts() const {
  std::vector<ActiveAlert> out;
  std::lock_guard lock(mu_);
  for (const auto& g : groups_) {
    const std::string key = g.group.def().file + ";" + g.group.def().name;
    for (const auto& rule : g.group.alertingRules()) {
      for (auto& a : rule.activeAlerts()) {
        if (a.state == rules::AlertState::kInactive) continue;
        out.push_back(ActiveAlert{key, rule.def().name, rule.def().exprText, std::move(a)});
      }
    }
  }
  return out;
}

std::string RuleRunner::alertsJson() const {
  nlohmann::json alerts = nlohmann::json::array();
  std::lock_guard lock(mu_);
  for (const auto& g : groups_) {
    for (const auto& rule : g.group.alertingRules()) {
      for (const auto& a : rule.activeAlerts()) {
        if (a.state != rules::AlertState::kInactive) alerts.push_back(alertJson(a));
      }
    }
  }
  return nlohmann::json{{"status", "success"}, {"data", {{"alerts", alerts}}}}.dump();
}

std::string RuleRunner::rulesJson() const {
  nlohmann::json groups = nlohmann::json::array();
  std::lock_guard lock(mu_);
  for (const auto& g : groups_) {
    nlohmann::json rulesJ = nlohmann::json::array();
    const auto& defs = g.group.def().rules;
    const auto& errors = g.group.lastErrors();
    size_t alertIdx = 0;
    for (size_t i = 0; i < defs.size(); ++i) {
      const auto& d = defs[i];
      const std::string err = i < errors.size() ? errors[i] : "";
      nlohmann::json r = {
          {"name", d.name},
          {"query", d.exprText},
          {"labels", labelsJson(d.labels)},
          {"health", g.lastEval == 0 ? "unknown" : (err.empty() ? "ok" : "err")},
          {"lastError", err},
          {"evaluationTime", g.lastDurationSeconds},
          {"lastEvaluation", formatRfc3339(g.lastEval)},
      };
      if (d.kind == rules::RuleDef::Kind::kAlerting) {
        nlohmann::json alerts = nlohmann::json::array();
        std::string state = "inactive";
        if (alertIdx < g.group.alertingRules().size()) {
          for (const auto& a : g.group.alertingRules()[alertIdx].activeAlerts()) {
            if (a.state == rules::AlertState::kInactive) continue;
            if (a.state == rules::AlertState::kFiring) state = "firing";
            if (a.state == rules::AlertState::kPending && state != "firing") state = "pending";
            alerts.push_back(alertJson(a));
          }
        }
        ++alertIdx;
        r["type"] = "alerting";
        r["state"] = state;
        r["duration"] = static_cast<double>(d.forDuration.count()) / 1000.0;
        r["keepFiringFor"] = static_cast<double>(d.keepFiringFor.count()) / 1000.0;
        r["annotations"] = labelsJson(d.annotations);
        r["alerts"] = alerts;
      } else {
        r["type"] = "recording";
      }
      rulesJ.push_back(r);
    }
    groups.push_back({{"name", g.group.def().name},
                      {"file", g.group.def().file},
                      {"rules", rulesJ},
                      {"interval", static_cast<double>(g.interval.count()) / 1000.0},
                      {"limit", g.group.def().limit},
                      {"evaluationTime", g.lastDurationSeconds},
                      {"lastEvaluation", formatRfc3339(g.lastEval)}});
  }
  return nlohmann::json{{"status", "success"}, {"data", {{"groups", groups}}}}.dump();
}

}  // namespace vigil
