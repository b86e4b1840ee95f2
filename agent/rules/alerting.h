#pragma once
// Rule evaluation with Prometheus' rules/ semantics: recording rules, the alert state machine
// (inactive -> pending -> firing -> resolved, `for`, `keep_firing_for`, 15 m retention of
// resolved alerts), ALERTS / ALERTS_FOR_STATE samples, stale markers for series that a rule
// stopped producing, and groups whose recorded series are visible to later rules.
// Time is always passed in; nothing here reads a clock.

#include <map>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/error.h"
#include "agent/core/labels.h"
#include "agent/rules/promql/value.h"
#include "agent/rules/rule_file.h"

namespace vigil::rules {

/// The states of an alert, as Prometheus has them. A resolved alert is kInactive with a
/// non-zero resolvedAt.
enum class AlertState { kInactive, kPending, kFiring };

/// "inactive", "pending", "firing".
const char* toString(AlertState s);

/// Resolved alerts are kept this long so that notifiers can still send the resolution
/// (Prometheus' resolvedRetention): a notifier that missed one send gets another chance.
inline constexpr int64_t kResolvedRetentionMs = 15 * 60 * 1000;

/// One alert instance of an alerting rule (a label set the expression returned).
struct Alert {
  AlertState state = AlertState::kPending;
  Labels labels;                                       ///< includes alertname, no __name__
  std::vector<std::pair<std::string, std::string>> annotations;  ///< sorted by name
  double value = 0;
  TimestampMs activeAt = 0;
  TimestampMs firedAt = 0;          ///< 0 until firing
  TimestampMs resolvedAt = 0;       ///< 0 until resolved
  TimestampMs lastSentAt = 0;       ///< set by AlertingRule::alertsToSend()
  TimestampMs validUntil = 0;       ///< endsAt to announce while firing (see alertsToSend)
  TimestampMs keepFiringSince = 0;  ///< 0 unless held firing by keep_firing_for
  /// Restored across a restart: until then, the expression not returning it does not resolve
  /// it (the agent's in-memory series are refilling; rate() over an empty window says nothing).
  TimestampMs holdUntil = 0;
};

/// Prometheus' needsSending: firing alerts are (re)sent every `resendDelayMs`; a resolved
/// alert is sent once more after its resolution; pending alerts are never sent.
bool needsSending(const Alert& a, TimestampMs now, int64_t resendDelayMs);

/// A sample a rule produced: to be written to the series store at its timestamp.
using OutputSample = promql::Sample;

/// An alerting rule and its active alerts. Not thread-safe: owned by the rule thread; copy
/// activeAlerts() to hand state to other threads.
class AlertingRule {
 public:
  AlertingRule(RuleDef def, Labels externalLabels, std::string externalURL);

  /// Runs the expression at `now` against `q` and advances every alert's state. Returns the
  /// ALERTS and ALERTS_FOR_STATE samples for pending and firing alerts.
  Result<std::vector<OutputSample>> eval(TimestampMs now, const promql::Queryable& q);

  /// Pending, firing and recently resolved alerts, sorted by labels.
  std::vector<Alert> activeAlerts() const;

  /// Puts back an alert kept across a restart (the state database): a pending alert keeps its
  /// activeAt, so `for` goes on counting from when it really started; a firing one stays firing
  /// without going through pending again. An alert with these labels that is already active
  /// wins. The next eval() decides whether it still holds.
  void restore(Alert a);

  /// Records that the notifier sent the alert with these labels at `at`.
  void markSent(const Labels& alertLabels, TimestampMs at);

  /// Like Prometheus' sendAlerts after each evaluation: the alerts that need sending at `now`
  /// (see needsSending), with lastSentAt = now and validUntil = now + 4 * max(resendDelay,
  /// group interval), which allows two failed evaluations or sends before Alertmanager resolves
  /// the alert on its own. Marks them as sent.
  std::vector<Alert> alertsToSend(TimestampMs now, int64_t resendDelayMs, int64_t intervalMs);

  const RuleDef& def() const { return def_; }

 private:
  RuleDef def_;
  Labels externalLabels_;
  std::string externalURL_;
  std::map<Labels, Alert> active_;
};

/// A recording rule.
class RecordingRule {
 public:
  explicit RecordingRule(RuleDef def) : def_(std::move(def)) {}
  /// The recorded samples (metric renamed, rule labels applied) at `now`.
  Result<std::vector<OutputSample>> eval(TimestampMs now, const promql::Queryable& q) const;
  const RuleDef& def() const { return def_; }

 private:
  RuleDef def_;
};

/// The outcome of evaluating one group once.
struct GroupEvalResult {
  std::vector<OutputSample> samples;  ///< recorded series, ALERTS*, and stale markers
  std::vector<std::pair<std::string, Error>> failures;  ///< rule name and its error
};

/// A rule group: rules evaluated in order at the same timestamp; a recording rule's output is
/// visible to the rules after it. Not thread-safe (one rule thread owns it).
class RuleGroup {
 public:
  RuleGroup(RuleGroupDef def, Labels externalLabels = {}, std::string externalURL = "");

  /// Evaluates every rule at `now` reading `q` (plus what earlier rules of this evaluation
  /// recorded). A failing rule is reported in `failures` and does not stop the others.
  /// The caller appends `samples` to its store so that later evaluations and groups see them.
  GroupEvalResult eval(TimestampMs now, const promql::Queryable& q);

  const RuleGroupDef& def() const { return def_; }
  const std::vector<AlertingRule>& alertingRules() const { return alerting_; }
  std::vector<AlertingRule>& alertingRules() { return alerting_; }
  /// The last error of each rule, in rule order (empty message when healthy).
  const std::vector<std::string>& lastErrors() const { return lastErrors_; }

 private:
  struct Slot {
    bool alerting;
    size_t index;
  };
  RuleGroupDef def_;
  std::vector<AlertingRule> alerting_;
  std::vector<RecordingRule> recording_;
  std::vector<Slot> order_;
  std::vector<std::vector<Labels>> previous_;  ///< series each rule returned last time
  std::vector<std::string> lastErrors_;
};

/// Loads every rule file and builds its groups in file order (a convenience for the agent and
/// `check-config`). The first invalid file's Error is returned. Thread-safe.
Result<std::vector<RuleGroup>> loadRuleGroups(const std::vector<std::string>& files,
                                              const Labels& externalLabels = {},
                                              const std::string& externalURL = "");

}  // namespace vigil::rules
