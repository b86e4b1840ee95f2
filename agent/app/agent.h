#pragma once
// The daemon's probing side: the probe loop thread with its scheduler, probers and recorders.
// The config is applied on the loop thread; other threads read status snapshots.

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "agent/app/pool_recorder.h"
#include "agent/app/recorder.h"
#include "agent/config/config.h"
#include "agent/core/check_status.h"
#include "agent/core/clock.h"
#include "agent/scheduler/event_loop.h"
#include "agent/scheduler/scheduler.h"
#include "agent/series/instruments.h"
#include "agent/series/series_store.h"
#include "exporters/metrics/self_metrics.h"
#include "probes/haproxy_probe.h"
#include "probes/http_probe.h"
#include "probes/node_exporter_probe.h"
#include "probes/ssh_probe.h"

namespace vigil {

class Agent {
 public:
  struct Options {
    std::string version = "unknown";
    std::string revision = "unknown";
    std::string buildDate = "unknown";
  };

  Agent(series::SeriesStore& store, const Clock& clock, Options options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  /// A check or pool probe whose outcome changed (and the first outcome of each).
  struct ProbeTransition {
    TimestampMs at = 0;
    std::string target;  ///< target name, or the pool's name for probe "lb"
    std::string probe;   ///< "http" | "memory" | "lb"
    std::string url;     ///< the http check's URL; empty for memory and lb
    bool up = false;
    bool first = false;  ///< the first outcome since the check was configured
    std::string reason;  ///< failure reason and message when down
  };

  /// What the rest of the daemon wants to hear from the probe loop. Both are called on the loop
  /// thread and must not block.
  struct Observer {
    /// After every probe result written to the store (rules evaluate on arrival).
    std::function<void()> samplesArrived;
    std::function<void(const ProbeTransition&)> transition;
  };
  /// Installs the observer. Call before start().
  void setObserver(Observer o) { observer_ = std::move(o); }

  /// Starts the probe loop thread.
  void start();
  /// Stops it and waits; in-flight probes are abandoned.
  void stop();

  /// Replaces the configuration (on the loop thread); returns when it has been applied.
  /// Thread-safe.
  void apply(std::shared_ptr<const config::Config> cfg);

  /// True once every target has completed its first round of probes. Thread-safe.
  bool ready() const { return ready_.load(); }

  /// A copy of every check's status, taken on the loop thread. Thread-safe; blocks briefly.
  std::vector<CheckStatus> status();

  /// Runs one HTTP probe of `check` now on the loop (for /probe). Thread-safe; blocks until the
  /// probe is done.
  ProbeResult probeOnce(const config::HttpCheck& check, Duration timeout);

  /// Records the outcome of a reload attempt in vigil_config_* series. Thread-safe.
  void recordReload(bool ok);

 private:
  struct Check;
  struct TargetState;
  struct PoolState;

  void applyOnLoop(std::shared_ptr<const config::Config> cfg);
  void armTimer();
  void onTick();
  void startTarget(TargetState& t, TimestampMs due, TimestampMs now);
  void startPool(PoolState& p, TimestampMs due, TimestampMs now);
  /// The completion of pool `id`'s load-balancer probe.
  ProbeCompletion poolCompletionFor(uint64_t id);
  /// The completion of an asynchronous probe of check `id`, kept alive by `cfg` meanwhile.
  ProbeCompletion completionFor(uint64_t id, std::shared_ptr<const config::Config> cfg);
  void housekeeping();
  void updateReady();
  /// Tells the observer about a result just recorded; `lastUp` is the check's memory of its
  /// previous outcome (-1: none yet).
  void observed(int* lastUp, const std::string& target, const std::string& probe,
                const std::string& url, const ProbeResult& r, TimestampMs t);

  series::SeriesStore& store_;
  const Clock& clock_;
  Options options_;
  EventLoop loop_;
  std::thread thread_;
  Scheduler scheduler_;
  std::unique_ptr<HttpProber> http_;
  std::unique_ptr<NodeExporterProber> nodeExporter_;  // runs on http_
  std::unique_ptr<SshProber> ssh_;  // its workers post completions to loop_
  std::unique_ptr<HaproxyProber> haproxy_;            // runs on http_
  std::unique_ptr<ProbeCounters> counters_;
  std::unique_ptr<metrics::SelfMetrics> self_;
  std::unique_ptr<series::StoreHistogram> lag_;
  std::unique_ptr<series::StoreCounter> skippedOverrun_;
  std::unique_ptr<series::StoreCounter> skippedLate_;
  series::SeriesRef inFlightRef_ = series::kNoSeries;
  series::SeriesRef targetsRef_ = series::kNoSeries;
  Observer observer_;
  std::shared_ptr<const config::Config> config_;
  std::map<std::string, std::unique_ptr<TargetState>> targets_;
  std::vector<TargetState*> schedule_;  // by scheduler index (= config order)
  std::unordered_map<uint64_t, Check*> checksById_;  // completions find their check in O(1)
  std::map<std::string, std::unique_ptr<PoolState>> pools_;
  std::vector<PoolState*> poolSchedule_;  // scheduler index - schedule_.size() (= config order)
  std::unordered_map<uint64_t, PoolState*> poolsById_;
  EventLoop::TimerId tickTimer_ = 0;
  uint64_t missedSeen_ = 0;
  std::atomic<bool> ready_{false};
  bool started_ = false;

  std::mutex reloadMu_;          // guards the reload series below
  series::SeriesRef reloadOk_ = series::kNoSeries;
  series::SeriesRef reloadTs_ = series::kNoSeries;
  std::unique_ptr<series::StoreCounter> reloadsSuccess_, reloadsFailure_;
};

}  // namespace vigil
