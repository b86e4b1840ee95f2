#pragma once
// The daemon's notification side (SPEC §5, §6): after every rule evaluation it takes the active
// alerts, records their transitions in the event history and their states in the state
// database, routes and groups them (notify::Dispatcher, Alertmanager's semantics) and hands the
// resulting notifications to the durable outbox (notify::Delivery, its own thread). The
// notification log is persisted too, so a restart neither re-pages early nor loses a resolve.
//
// Threads: evaluated() and tick() run on the rule thread; configure() on the reload path;
// probeTransition() on the probe loop (it only queues: the loop never waits for the disk).

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/app/agent.h"
#include "agent/app/rule_runner.h"
#include "agent/config/config.h"
#include "agent/core/clock.h"
#include "agent/state/state_db.h"
#include "exporters/notify/delivery.h"
#include "exporters/notify/dispatcher.h"

namespace vigil {

/// notify::OutboxStore on the state database.
class StateDbOutbox final : public notify::OutboxStore {
 public:
  explicit StateDbOutbox(state::StateDb& db) : db_(db) {}
  Result<int64_t> enqueue(const state::OutboxEntry& e) override { return db_.enqueue(e); }
  Result<std::vector<state::OutboxEntry>> pending() override { return db_.pending(); }
  Status delivered(int64_t id) override { return db_.delivered(id); }
  Status retryLater(int64_t id, int attempts, TimestampMs next, const std::string& err) override {
    return db_.retryLater(id, attempts, next, err);
  }
  Status drop(int64_t id, const std::string& reason) override { return db_.drop(id, reason); }

 private:
  state::StateDb& db_;
};

class Notifier {
 public:
  Notifier(series::SeriesStore& store, const Clock& clock, state::StateDb& db,
           std::string externalUrl);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  /// Applies alerting.route / alerting.receivers and the external labels. On a reload the
  /// notification log carries over, so unchanged firing groups are not paged again.
  Status configure(const config::Config& cfg);

  /// Alerts kept in the state database by the previous run, for RuleRunner::restore().
  std::vector<RuleRunner::ActiveAlert> restoredAlerts();

  /// Resumes the outbox (everything undelivered before a crash is sent) and starts delivery.
  Status start();
  /// Writes what is queued and stops delivery (undelivered notifications stay in the outbox).
  void stop();

  /// Rule thread: after each evaluation round, every active alert.
  void evaluated(const std::vector<RuleRunner::ActiveAlert>& alerts, TimestampMs now);
  /// Rule thread: group flushes that are due; returns when it next has something to do.
  std::optional<TimestampMs> tick(TimestampMs now);

  /// Probe loop: queues an up/down event for the history.
  void probeTransition(const Agent::ProbeTransition& t);
  /// Records a configuration reload in the history.
  void reloaded(bool ok, const std::string& file, const std::string& detail);

 private:
  void submit(std::vector<notify::Notification> ns, TimestampMs now);
  void persistLog();
  void flushEvents();
  void addEvent(const state::Event& e);

  series::SeriesStore& store_;
  const Clock& clock_;
  state::StateDb& db_;
  const std::string externalUrl_;
  StateDbOutbox outbox_;
  std::unique_ptr<notify::Delivery> delivery_;

  std::mutex mu_;  // guards everything below (rule thread vs reload)
  std::unique_ptr<notify::Dispatcher> dispatcher_;
  Labels externalLabels_;
  /// Last known state of each alert ("pending", "firing", "resolved"), by group and labels.
  std::map<std::pair<std::string, Labels>, std::string> states_;
  bool statesLoaded_ = false;

  std::mutex eventsMu_;  // guards queued_ (probe loop vs rule thread)
  std::vector<state::Event> queued_;
};

}  // namespace vigil
