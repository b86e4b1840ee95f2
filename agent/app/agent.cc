#include "agent/app/agent.h"

#include <fmt/format.h>

#include "agent/core/log.h"
#include "exporters/metrics/names.h"
#include "probes/local_memory.h"

namespace vigil {

namespace {

// Schedule lag is normally well under a millisecond; the upper buckets exist to show a loop
// that is saturated or stalled.
const std::vector<double> kLagBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};

Labels named(std::string_view name, Labels l = {}) {
  set(l, kMetricNameLabel, name);
  return l;
}

}  // namespace

struct Agent::Check {
  uint64_t id = 0;
  std::string probe;  // "http" | "memory"
  const config::HttpCheck* http = nullptr;
  const config::MemoryCheck* memory = nullptr;
  std::unique_ptr<CheckRecorder> recorder;
  bool running = false;
  bool done = false;  // completed at least once
  CheckStatus status;
};

struct Agent::TargetState {
  const config::Target* target = nullptr;
  std::vector<std::unique_ptr<Check>> checks;
};

Agent::Agent(series::SeriesStore& store, const Clock& clock, Options options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  metrics::describeAll(store_);
  http_ = std::make_unique<HttpProber>(loop_);
  nodeExporter_ = std::make_unique<NodeExporterProber>(*http_);
  ssh_ = std::make_unique<SshProber>(loop_, clock_);
  counters_ = std::make_unique<ProbeCounters>(store_, clock_.nowMs());
  self_ = std::make_unique<metrics::SelfMetrics>(store_, options_.version, options_.revision,
                                                 options_.buildDate);
  lag_ = std::make_unique<series::StoreHistogram>(store_, names::kProbeScheduleLagSeconds,
                                                  Labels{}, kLagBuckets);
  skippedOverrun_ = std::make_unique<series::StoreCounter>(
      store_, names::kProbesSkippedTotal, Labels{{"reason", "previous_still_running"}});
  skippedLate_ = std::make_unique<series::StoreCounter>(store_, names::kProbesSkippedTotal,
                                                        Labels{{"reason", "loop_late"}});
  inFlightRef_ = store_.ref(named(names::kProbesInFlight));
  targetsRef_ = store_.ref(named(names::kTargets));
  reloadOk_ = store_.ref(named(names::kConfigLastReloadSuccessful));
  reloadTs_ = store_.ref(named(names::kConfigLastReloadSuccessTimestampSeconds));
  reloadsSuccess_ = std::make_unique<series::StoreCounter>(store_, names::kConfigReloadsTotal,
                                                           Labels{{"result", "success"}});
  reloadsFailure_ = std::make_unique<series::StoreCounter>(store_, names::kConfigReloadsTotal,
                                                           Labels{{"result", "failure"}});
}

Agent::~Agent() {
  stop();
  // Recorders release their series into the store, which outlives the agent.
  targets_.clear();
}

void Agent::start() {
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] {
    loop_.addTimer(EventLoop::monotonicMs(), [this] { housekeeping(); });
    loop_.run();
  });
}

void Agent::stop() {
  if (!started_) return;
  loop_.stop();
  if (thread_.joinable()) thread_.join();
  started_ = false;
}

void Agent::apply(std::shared_ptr<const config::Config> cfg) {
  if (!started_) {
    applyOnLoop(std::move(cfg));
    return;
  }
  std::promise<void> applied;
  auto fut = applied.get_future();
  loop_.post([this, cfg = std::move(cfg), &applied]() mutable {
    applyOnLoop(std::move(cfg));
    applied.set_value();
  });
  fut.wait();
}

void Agent::applyOnLoop(std::shared_ptr<const config::Config> cfg) {
  static uint64_t nextCheckId = 1;
  const TimestampMs now = clock_.nowMs();
  std::map<std::string, std::unique_ptr<TargetState>> next;
  std::vector<Scheduler::Entry> entries;
  for (const config::Target& t : cfg->targets) {
    auto ts = std::make_unique<TargetState>();
    ts->target = &t;
    // Reuse a check's recorder (and so its counters) when the same target keeps the same URL
    // with the same labels: a reload must not reset vigil_http_responses_total.
    TargetState* old = nullptr;
    if (auto it = targets_.find(t.name); it != targets_.end()) old = it->second.get();
    auto takeOld = [&](const std::string& probe, const std::string& url,
                       const Labels& base) -> std::unique_ptr<CheckRecorder> {
      if (old == nullptr) return nullptr;
      for (auto& c : old->checks) {
        if (c->recorder && c->probe == probe && c->status.url == url &&
            c->recorder->baseLabels() == base && !c->running) {
          return std::move(c->recorder);
        }
      }
      return nullptr;
    };
    auto addCheck = [&](std::string probe, const config::HttpCheck* http,
                        const config::MemoryCheck* mem) {
      auto c = std::make_unique<Check>();
      c->id = nextCheckId++;
      c->probe = probe;
      c->http = http;
      c->memory = mem;
      const std::string url = http ? http->url : "";
      Labels base = t.labels;
      set(base, names::kTarget, t.name);
      set(base, names::kPool, t.pool);
      set(base, names::kUrl, url);
      c->recorder = takeOld(probe, url, base);
      if (!c->recorder) {
        c->recorder = std::make_unique<CheckRecorder>(store_, *counters_, t, probe, url);
      }
      c->status.target = t.name;
      c->status.probe = probe;
      c->status.url = url;
      c->status.labels = base;
      c->status.interval = t.interval;
      c->status.timeout = http && http->timeout.count() > 0 ? http->timeout : t.timeout;
      ts->checks.push_back(std::move(c));
    };
    for (const auto& h : t.http) addCheck("http", &h, nullptr);
    if (t.memory) addCheck("memory", nullptr, &*t.memory);
    entries.push_back(Scheduler::Entry{t.name, t.interval});
    next.emplace(t.name, std::move(ts));
  }
  // Old targets (and checks not carried over) are destroyed here; their recorders release
  // their series. Probes still in flight for them find no check when they complete.
  targets_ = std::move(next);
  schedule_.clear();
  for (const config::Target& t : cfg->targets) {
    schedule_.push_back(targets_.at(t.name).get());
  }
  checksById_.clear();
  for (auto& [name, ts] : targets_) {
    for (auto& c : ts->checks) checksById_.emplace(c->id, c.get());
  }
  config_ = std::move(cfg);
  scheduler_.setTargets(entries, now);
  store_.append(targetsRef_, now, static_cast<double>(targets_.size()));
  LOG_INFO("configuration applied", {"file", config_->file},
           {"targets", std::to_string(targets_.size())});
  updateReady();
  armTimer();
}

void Agent::armTimer() {
  if (tickTimer_ != 0) loop_.cancelTimer(tickTimer_);
  tickTimer_ = 0;
  const TimestampMs next = scheduler_.nextDue();
  if (next < 0) return;
  const int64_t wait = std::max<int64_t>(0, next - clock_.nowMs());
  tickTimer_ = loop_.addTimer(EventLoop::monotonicMs() + wait, [this] {
    tickTimer_ = 0;
    onTick();
  });
}

void Agent::onTick() {
  const TimestampMs now = clock_.nowMs();
  scheduler_.runDue(now, [this](size_t index, TimestampMs due, TimestampMs started) {
    if (index < schedule_.size()) startTarget(*schedule_[index], due, started);
  });
  armTimer();
}

void Agent::startTarget(TargetState& ts, TimestampMs due, TimestampMs now) {
  lag_->observe(now, static_cast<double>(now - due) / 1000.0);
  auto cfg = config_;  // keeps the checks alive while probes run, even across a reload
  for (auto& cp : ts.checks) {
    Check& c = *cp;
    if (c.running) {
      // timeout < interval makes this rare; when the loop is saturated it is counted, not queued.
      skippedOverrun_->inc(now);
      continue;
    }
    if (c.memory != nullptr && c.memory->source == config::MemoryCheck::Source::kLocal) {
      // Two small /proc reads: quicker than a round trip through the loop.
      ProbeResult r = probeLocalMemory();
      const TimestampMs t = clock_.nowMs();
      c.recorder->record(r, t);
      c.status.lastRun = t;
      c.status.lastDurationSeconds = r.durationSeconds;
      c.status.lastReason = r.reason;
      c.status.lastError = r.error;
      c.done = true;
      continue;
    }
    c.running = true;
    const Duration timeout = c.status.timeout;
    if (c.memory != nullptr && c.memory->source == config::MemoryCheck::Source::kSsh) {
      ssh_->start(c.memory->ssh, timeout, completionFor(c.id, cfg));
    } else if (c.memory != nullptr) {
      nodeExporter_->start(c.memory->nodeExporter, timeout, completionFor(c.id, cfg));
    } else {
      http_->start(*c.http, timeout, completionFor(c.id, cfg));
    }
  }
  updateReady();
}

ProbeCompletion Agent::completionFor(uint64_t id, std::shared_ptr<const config::Config> cfg) {
  return [this, cfg = std::move(cfg), id](ProbeResult r) {
    auto it = checksById_.find(id);
    if (it == checksById_.end()) return;  // removed by a reload while in flight
    Check& c = *it->second;
    const TimestampMs t = clock_.nowMs();
    c.running = false;
    c.recorder->record(r, t);
    if (!r.success()) {
      LOG_DEBUG("probe failed", {"target", c.status.target}, {"probe", c.probe},
                {"url", c.status.url}, {"result", std::string(toString(r.reason))},
                {"err", r.error});
    }
    c.status.lastRun = t;
    c.status.lastDurationSeconds = r.durationSeconds;
    c.status.lastReason = r.reason;
    c.status.lastError = r.error;
    if (!c.done) {
      c.done = true;
      updateReady();
    }
  };
}

void Agent::updateReady() {
  if (ready_.load()) return;
  for (const auto& [name, ts] : targets_) {
    for (const auto& c : ts->checks) {
      if (!c->done) return;
    }
  }
  ready_ = true;
  LOG_INFO("first round of probes finished; ready");
}

void Agent::housekeeping() {
  const TimestampMs now = clock_.nowMs();
  self_->update(now);
  store_.append(inFlightRef_, now,
                static_cast<double>(loop_.transfersInFlight() + ssh_->inFlight()));
  store_.append(targetsRef_, now, static_cast<double>(targets_.size()));
  const uint64_t missed = scheduler_.missedRounds();
  if (missed > missedSeen_) {
    skippedLate_->inc(now, static_cast<double>(missed - missedSeen_));
    missedSeen_ = missed;
  } else {
    skippedLate_->touch(now);
  }
  skippedOverrun_->touch(now);
  store_.compact(now);
  loop_.addTimer(EventLoop::monotonicMs() + 1000, [this] { housekeeping(); });
}

std::vector<CheckStatus> Agent::status() {
  // Check state belongs to the loop thread; a copy is made there rather than sharing it
  // behind a lock that every probe completion would have to take.
  auto collect = [this] {
    std::vector<CheckStatus> out;
    for (const auto& [name, ts] : targets_) {
      for (const auto& c : ts->checks) out.push_back(c->status);
    }
    return out;
  };
  if (!started_) return collect();
  std::promise<std::vector<CheckStatus>> p;
  auto fut = p.get_future();
  loop_.post([&] { p.set_value(collect()); });
  return fut.get();
}

ProbeResult Agent::probeOnce(const config::HttpCheck& check, Duration timeout) {
  std::promise<ProbeResult> p;
  auto fut = p.get_future();
  loop_.post([this, &check, timeout, &p] {
    http_->start(check, timeout, [&p](ProbeResult r) { p.set_value(std::move(r)); });
  });
  return fut.get();
}

void Agent::recordReload(bool ok) {
  std::lock_guard lock(reloadMu_);
  const TimestampMs now = clock_.nowMs();
  store_.append(reloadOk_, now, ok ? 1 : 0);
  if (ok) {
    store_.append(reloadTs_, now, static_cast<double>(now) / 1000.0);
    reloadsSuccess_->inc(now);
  } else {
    reloadsFailure_->inc(now);
  }
}

}  // namespace vigil
