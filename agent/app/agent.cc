#include "agent/app/agent.h"

#include <fmt/format.h>

#include <optional>
#include <tuple>

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

// A pool's scheduler entry: the unit separator keeps it apart from every target name.
std::string poolEntryName(const std::string& pool) { return "\x1fpool:" + pool; }

// The target under which a pool's `frontend:` URL is probed (series target="<pool>/frontend").
std::string frontendTargetName(const config::Pool& p) { return p.name + "/frontend"; }

// A pool is probed at the smallest interval of its members, with that member's timeout, so the
// rotation is watched at least as often as any member; a pool without members uses global's.
std::pair<Duration, Duration> poolTiming(const config::Config& cfg, const std::string& pool) {
  std::pair<Duration, Duration> out{cfg.global.interval, cfg.global.timeout};
  bool any = false;
  for (const auto& t : cfg.targets) {
    if (t.pool != pool || (any && t.interval >= out.first)) continue;
    out = {t.interval, t.timeout};
    any = true;
  }
  return out;
}

// A pool's `frontend:` is probed like an http check: as a target "<pool>/frontend" in the pool
// (same series, same schedule, same API entry as any target). The config the agent runs is a
// copy of the declared one with those targets appended; members are counted from the declared.
std::shared_ptr<const config::Config> withFrontendTargets(
    std::shared_ptr<const config::Config> cfg) {
  bool any = false;
  for (const auto& p : cfg->pools) any = any || !p.frontend.empty();
  if (!any) return cfg;
  auto out = std::make_shared<config::Config>(*cfg);
  for (const config::Pool& p : cfg->pools) {
    if (p.frontend.empty()) continue;
    config::Target t;
    t.name = frontendTargetName(p);
    t.pool = p.name;
    std::tie(t.interval, t.timeout) = poolTiming(*cfg, p.name);
    t.position = p.position;
    config::HttpCheck h;
    h.url = p.frontend;
    h.position = p.position;
    t.http.push_back(std::move(h));
    out->targets.push_back(std::move(t));
  }
  return out;
}

// The agent's own gauges (process_*, in-flight probes) and the store's compaction: every 5 s is
// fresh enough for any scrape interval in use and costs little when idle (reading /proc/self/*
// every second was a tenth of an idle agent's CPU).
constexpr int64_t kHousekeepingMs = 5000;

}  // namespace

struct Agent::Check {
  uint64_t id = 0;
  std::string probe;  // "http" | "memory"
  const config::HttpCheck* http = nullptr;
  const config::MemoryCheck* memory = nullptr;
  std::unique_ptr<CheckRecorder> recorder;
  bool running = false;
  bool done = false;  // completed at least once
  int lastUp = -1;    // previous outcome for transition events: -1 none, 0 down, 1 up
  CheckStatus status;
};

struct Agent::TargetState {
  const config::Target* target = nullptr;
  std::vector<std::unique_ptr<Check>> checks;
};

// A pool: its config gauges every tick, and its load-balancer probe when it has one.
struct Agent::PoolState {
  uint64_t id = 0;
  const config::Pool* pool = nullptr;
  std::optional<LbProbeSpec> lb;
  std::unique_ptr<PoolRecorder> recorder;
  bool running = false;
  bool done = false;  // the LB probe completed at least once (or there is none)
  int lastUp = -1;
  CheckStatus status;
};

Agent::Agent(series::SeriesStore& store, const Clock& clock, Options options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  metrics::describeAll(store_);
  http_ = std::make_unique<HttpProber>(loop_);
  nodeExporter_ = std::make_unique<NodeExporterProber>(*http_);
  ssh_ = std::make_unique<SshProber>(loop_, clock_);
  haproxy_ = std::make_unique<HaproxyProber>(*http_);
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
  pools_.clear();
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
  const std::shared_ptr<const config::Config> declared = cfg;
  cfg = withFrontendTargets(std::move(cfg));
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
  std::map<std::string, std::unique_ptr<PoolState>> nextPools;
  for (const config::Pool& p : cfg->pools) {
    auto ps = std::make_unique<PoolState>();
    ps->pool = &p;
    // The same pool keeps its recorder (its LB series continue without a staleness gap) and
    // its id, so a probe in flight across the reload is recorded.
    if (auto it = pools_.find(p.name); it != pools_.end()) {
      PoolState& old = *it->second;
      ps->id = old.id;
      ps->recorder = std::move(old.recorder);
      ps->running = old.running;
      ps->status = old.status;
    } else {
      ps->id = nextCheckId++;
      ps->recorder = std::make_unique<PoolRecorder>(store_, *counters_, p.name);
    }
    std::map<std::string, Labels> memberLabels;
    for (const auto& t : declared->targets) {
      if (t.pool == p.name) memberLabels.emplace(t.name, t.labels);
    }
    const int members = static_cast<int>(memberLabels.size());
    ps->recorder->configure(members, p.minInRotation, std::move(memberLabels));
    ps->recorder->recordConfig(now);
    const auto [interval, timeout] = poolTiming(*declared, p.name);
    if (p.loadBalancer) {
      ps->lb = lbProbeSpec(*declared, p);
      ps->done = ps->status.lastRun > 0;
      ps->status.target = p.name;
      ps->status.probe = "lb";
      ps->status.url = urlWithoutUserinfo(p.loadBalancer->haproxyStats);
      ps->status.labels = Labels{{std::string(names::kPool), p.name}};
      ps->status.interval = interval;
      ps->status.timeout = timeout;
    } else {
      ps->done = true;
    }
    entries.push_back(Scheduler::Entry{poolEntryName(p.name), interval});
    nextPools.emplace(p.name, std::move(ps));
  }
  pools_ = std::move(nextPools);
  poolSchedule_.clear();
  poolsById_.clear();
  for (const config::Pool& p : cfg->pools) {
    PoolState* ps = pools_.at(p.name).get();
    poolSchedule_.push_back(ps);
    poolsById_.emplace(ps->id, ps);
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
           {"targets", std::to_string(targets_.size())}, {"pools", std::to_string(pools_.size())});
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
    if (index < schedule_.size()) {
      startTarget(*schedule_[index], due, started);
    } else if (index - schedule_.size() < poolSchedule_.size()) {
      startPool(*poolSchedule_[index - schedule_.size()], due, started);
    }
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
      observed(&c.lastUp, c.status.target, c.probe, c.status.url, r, t);
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

void Agent::startPool(PoolState& ps, TimestampMs due, TimestampMs now) {
  lag_->observe(now, static_cast<double>(now - due) / 1000.0);
  ps.recorder->recordConfig(now);
  if (!ps.lb) return;
  if (ps.running) {
    skippedOverrun_->inc(now);
    return;
  }
  ps.running = true;
  haproxy_->start(*ps.lb, ps.status.timeout, poolCompletionFor(ps.id));
}

ProbeCompletion Agent::poolCompletionFor(uint64_t id) {
  // The spec was copied into the probe: only the pool's state is looked up, by id.
  return [this, id](ProbeResult r) {
    auto it = poolsById_.find(id);
    if (it == poolsById_.end()) return;  // removed by a reload while in flight
    PoolState& ps = *it->second;
    const TimestampMs t = clock_.nowMs();
    ps.running = false;
    ps.recorder->record(r, t);
    observed(&ps.lastUp, ps.status.target, "lb", "", r, t);
    if (!r.success()) {
      LOG_DEBUG("probe failed", {"pool", ps.status.target}, {"probe", "lb"},
                {"result", std::string(toString(r.reason))}, {"err", r.error});
    }
    ps.status.lastRun = t;
    ps.status.lastDurationSeconds = r.durationSeconds;
    ps.status.lastReason = r.reason;
    ps.status.lastError = r.error;
    if (!ps.done) {
      ps.done = true;
      updateReady();
    }
  };
}

ProbeCompletion Agent::completionFor(uint64_t id, std::shared_ptr<const config::Config> cfg) {
  return [this, cfg = std::move(cfg), id](ProbeResult r) {
    auto it = checksById_.find(id);
    if (it == checksById_.end()) return;  // removed by a reload while in flight
    Check& c = *it->second;
    const TimestampMs t = clock_.nowMs();
    c.running = false;
    c.recorder->record(r, t);
    observed(&c.lastUp, c.status.target, c.probe, c.status.url, r, t);
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

void Agent::observed(int* lastUp, const std::string& target, const std::string& probe,
                     const std::string& url, const ProbeResult& r, TimestampMs t) {
  if (observer_.samplesArrived) observer_.samplesArrived();
  const int up = r.success() ? 1 : 0;
  if (up == *lastUp) return;
  const bool first = *lastUp < 0;
  *lastUp = up;
  if (!observer_.transition || (first && up == 1)) return;  // a healthy start is no event
  ProbeTransition e{t, target, probe, probe == "http" ? url : "", up == 1, first, ""};
  if (!up) e.reason = std::string(toString(r.reason)) + ": " + r.error;
  observer_.transition(e);
}

void Agent::updateReady() {
  if (ready_.load()) return;
  for (const auto& [name, ts] : targets_) {
    for (const auto& c : ts->checks) {
      if (!c->done) return;
    }
  }
  for (const auto& [name, ps] : pools_) {
    if (!ps->done) return;
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
  loop_.addTimer(EventLoop::monotonicMs() + kHousekeepingMs, [this] { housekeeping(); });
}

std::vector<CheckStatus> Agent::status() {
  // Check state belongs to the loop thread; a copy is made there rather than sharing it
  // behind a lock that every probe completion would have to take.
  auto collect = [this] {
    std::vector<CheckStatus> out;
    for (const auto& [name, ts] : targets_) {
      for (const auto& c : ts->checks) out.push_back(c->status);
    }
    for (const auto& [name, ps] : pools_) {
      if (ps->lb) out.push_back(ps->status);
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
