#pragma once
// Rule evaluation inside the agent: every rule group is evaluated every evaluation_interval (or
// its own `interval`) on one rule thread, reading the series store and writing recorded series,
// ALERTS and ALERTS_FOR_STATE back into it. The alert state lives here; /api/v1/alerts and
// /api/v1/rules read snapshots of it.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/core/clock.h"
#include "agent/rules/alerting.h"
#include "agent/series/instruments.h"
#include "agent/series/series_store.h"

namespace vigil {

class RuleRunner {
 public:
  RuleRunner(series::SeriesStore& store, const Clock& clock);
  ~RuleRunner();
  RuleRunner(const RuleRunner&) = delete;
  RuleRunner& operator=(const RuleRunner&) = delete;

  /// Replaces the rule groups; alerts of rules that keep their name and labels keep their
  /// state. Raises the store's retention to what the rules read. Thread-safe.
  void apply(std::vector<rules::RuleGroup> groups, Duration evaluationInterval);

  /// Called on the rule thread after each group evaluation with one alerting rule's alerts that
  /// need sending (Prometheus' sendAlerts: firing alerts every resend delay, resolved ones once
  /// more). Must not block: it hands the alerts to a queue.
  using AlertSink = std::function<void(const rules::RuleDef& rule, std::vector<rules::Alert>)>;

  /// Installs the sink; `resendDelay` is Prometheus' --rules.alert.resend-delay (1m there).
  /// Thread-safe.
  void setAlertSink(AlertSink sink, Duration resendDelay);

  /// One active alert (pending, firing, or recently resolved) with the rule it belongs to.
  struct ActiveAlert {
    std::string group;  ///< "<file>;<group name>": the rule group's identity
    std::string rule;   ///< alert name
    std::string expr;   ///< the rule's expression, for generatorURL
    rules::Alert alert;
  };

  /// Called on the rule thread after every evaluation round with every active alert of every
  /// group (the notifier, alert-state persistence and the event history feed on it).
  using EvaluatedHook = std::function<void(const std::vector<ActiveAlert>& alerts, TimestampMs now)>;
  /// Called on the rule thread on every wake-up; returns when it next wants to be called (the
  /// notifier's group_wait / group_interval flushes, delivery is on its own thread).
  using TickHook = std::function<std::optional<TimestampMs>(TimestampMs now)>;
  /// Installs both hooks. Call before start().
  void setHooks(EvaluatedHook evaluated, TickHook tick);

  /// Evaluation waits until `ready` says true (the agent's first round of probes). Call before
  /// start().
  void setReadyGate(std::function<bool()> ready);

  /// Puts back alerts kept across a restart into the rules they belong to (by group and rule
  /// name; alerts of rules that no longer exist are dropped). Call after apply(), before start().
  /// Returns how many were restored.
  size_t restore(const std::vector<ActiveAlert>& alerts);

  /// New samples are in the store: evaluate now rather than at the next tick (SPEC §4: rules are
  /// evaluated the moment samples arrive). Cheap and thread-safe; the probe loop calls it after
  /// every result. Early evaluations are spaced by at least kMinEarlyGap and by 20 times the
  /// group's last evaluation time, so at most ~5% of a core goes to them however many samples
  /// arrive.
  void samplesArrived();
  static constexpr int64_t kMinEarlyGapMs = 100;

  /// Starts / stops the rule thread.
  void start();
  void stop();

  /// Evaluates every group that is due at `now` (the rule thread calls this; tests may too).
  /// With `early`, also every group whose early-evaluation gap has passed. Returns the earliest
  /// time an early evaluation would be allowed for a group it skipped (0: none skipped).
  TimestampMs evalDue(TimestampMs now, bool early = false);

  /// Every pending and firing alert. Thread-safe.
  std::vector<ActiveAlert> activeAlerts() const;

  /// Prometheus-shaped JSON for /api/v1/alerts and /api/v1/rules. Thread-safe.
  std::string alertsJson() const;
  std::string rulesJson() const;

 private:
  struct Group {
    rules::RuleGroup group;
    Duration interval{0};
    TimestampMs nextDue = 0;
    TimestampMs lastEval = 0;
    double lastDurationSeconds = 0;
  };

  series::SeriesStore& store_;
  const Clock& clock_;
  mutable std::mutex mu_;  // guards groups_ (evaluation holds it; API readers wait briefly)
  std::vector<Group> groups_;
  Duration evaluationInterval_{1000};
  AlertSink alertSink_;        // guarded by mu_
  EvaluatedHook evaluated_;
  std::function<bool()> ready_;
  TickHook tick_;
  std::atomic<bool> arrived_{false};
  Duration resendDelay_{60'000};
  std::unordered_map<std::string, series::SeriesRef> outputRefs_;  // by label string
  std::unique_ptr<series::StoreHistogram> evalDuration_;
  std::unique_ptr<series::StoreCounter> evalFailures_;
  std::thread thread_;
  std::mutex wakeMu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool started_ = false;
};

}  // namespace vigil
