#include "probes/ssh_probe.h"

#include <random>
#include <utility>

#include <fmt/format.h>

#include "agent/core/log.h"
#include "probes/memory_samples.h"
#include "probes/parsers/meminfo.h"

namespace vigil {

namespace {

using SteadyClock = std::chrono::steady_clock;

double secondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

double jitter01() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

ProbeResult memoryResultFromOutput(std::string_view output, std::string_view source) {
  ProbeResult r;
  auto snapshot = parsers::parseMeminfoVmstat(output, source);
  if (!snapshot) {
    r.reason = FailureReason::kParse;
    r.error = snapshot.error().format();
    return r;
  }
  r.reason = FailureReason::kNone;
  r.samples = memorySamples(snapshot->meminfo, snapshot->vmstat);
  r.trace = memoryTrace(r.samples);
  return r;
}

SshProber::SshProber(EventLoop& loop, const Clock& clock) : SshProber(loop, clock, Options{}) {}

SshProber::SshProber(EventLoop& loop, const Clock& clock, Options options)
    : loop_(loop), clock_(clock), options_(options) {
  if (options_.workers == 0) options_.workers = 1;
}

SshProber::~SshProber() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  // Sessions close (SSH_MSG_DISCONNECT, socket closed) as hosts_ goes.
}

std::string SshProber::hostKey(const config::SshMemory& cfg) {
  // Everything the session depends on; the command is per probe, on its own channel.
  return fmt::format("{}\n{}\n{}\n{}\n{}", cfg.user, cfg.host, cfg.port, cfg.identityFile,
                     cfg.knownHosts);
}

size_t SshProber::hostCount() {
  std::lock_guard lock(mu_);
  return hosts_.size();
}

size_t SshProber::inFlight() {
  std::lock_guard lock(mu_);
  return inFlight_;
}

void SshProber::start(const config::SshMemory& cfg, Duration timeout, ProbeCompletion done) {
  Job job;
  job.command = cfg.command;
  job.queued = SteadyClock::now();
  job.deadline = job.queued + timeout;
  job.done = std::move(done);
  bool notify = false;
  std::vector<std::unique_ptr<Host>> expired;  // closed after the lock is released
  {
    std::lock_guard lock(mu_);
    const TimestampMs now = clock_.nowMs();
    if (now - lastSweep_ >= kIdleSweepEvery.count()) {
      lastSweep_ = now;
      for (auto it = hosts_.begin(); it != hosts_.end();) {
        Host& h = *it->second;
        if (!h.busy && h.jobs.empty() && now - h.lastUsed >= kIdleHostExpiry.count()) {
          expired.push_back(std::move(it->second));
          it = hosts_.erase(it);
        } else {
          ++it;
        }
      }
    }
    auto& slot = hosts_[hostKey(cfg)];
    if (!slot) {
      slot = std::make_unique<Host>();
      slot->cfg = cfg;
    }
    Host& host = *slot;
    host.lastUsed = now;
    if (host.jobs.size() >= kMaxQueuedPerHost) {
      ProbeResult r;
      r.reason = FailureReason::kInternal;
      r.error = fmt::format("more than {} probes queued for {}:{}", kMaxQueuedPerHost, cfg.host,
                            cfg.port);
      finish(job, std::move(r));
      return;
    }
    const bool wasIdle = host.jobs.empty() && !host.busy;
    host.jobs.push_back(std::move(job));
    ++inFlight_;
    if (wasIdle) {
      ready_.push_back(&host);
      notify = true;
      if (idleWorkers_ == 0 && workers_.size() < options_.workers && !stopping_) {
        workers_.emplace_back([this] { workerMain(); });
      }
    }
  }
  if (notify) cv_.notify_one();
}

void SshProber::finish(Job& job, ProbeResult r) {
  r.durationSeconds = secondsSince(job.queued);
  loop_.post([done = std::move(job.done), r = std::move(r)]() mutable { done(std::move(r)); });
}

void SshProber::workerMain() {
  std::unique_lock lock(mu_);
  while (true) {
    ++idleWorkers_;
    cv_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
    --idleWorkers_;
    if (stopping_) return;
    Host* host = ready_.front();
    ready_.pop_front();
    host->busy = true;
    Job job = std::move(host->jobs.front());
    host->jobs.pop_front();
    lock.unlock();
    ProbeResult r = runJob(*host, job);
    lock.lock();
    --inFlight_;
    host->busy = false;
    // More probes for this host: this worker (looping) or another idle one takes it.
    if (!host->jobs.empty()) ready_.push_back(host);
    // Posted once the counts are right (post only takes the loop's own lock).
    finish(job, std::move(r));
  }
}

ProbeResult SshProber::runJob(Host& host, const Job& job) {
  ProbeResult r;
  auto fail = [&](FailureReason reason, std::string error) {
    r.reason = reason;
    r.error = std::move(error);
    return std::move(r);
  };
  if (SteadyClock::now() >= job.deadline) {
    return fail(FailureReason::kTimeout,
                fmt::format("timed out waiting {:.0f} ms for a free SSH worker",
                            secondsSince(job.queued) * 1e3));
  }
  const std::string knownHosts =
      host.cfg.knownHosts.empty() ? "~/.ssh/known_hosts" : host.cfg.knownHosts;
  // Two rounds at most: a reused session that turns out dead (the server restarted since the
  // last probe) is replaced at once, within the same deadline, instead of failing one probe.
  for (int round = 0; round < 2; ++round) {
    bool fresh = false;
    if (!host.session || host.session->state() != SshSessionState::kReady) {
      host.session.reset();
      const TimestampMs now = clock_.nowMs();
      if (host.failures > 0 && now < host.retryAt) {
        return fail(host.lastReason,
                    fmt::format("{} (backing off after {} failed connect{}: next attempt in "
                                "{:.1f} s)",
                                host.lastError, host.failures, host.failures == 1 ? "" : "s",
                                static_cast<double>(host.retryAt - now) / 1e3));
      }
      auto session = std::make_unique<SshSession>(host.cfg, &stopping_);
      SshOutcome o = session->connect(job.deadline);
      if (!session->hostKeyFingerprint().empty()) {
        r.trace.push_back(fmt::format("host key   {} {} ({})", session->hostKeyType(),
                                      session->hostKeyFingerprint(), knownHosts));
      }
      if (!o.ok()) {
        ++host.failures;
        host.retryAt = clock_.nowMs() + sshReconnectBackoff(host.failures, jitter01()).count();
        // A new kind of failure is worth a line; the same one again every interval is not.
        if (o.reason != host.lastReason || host.failures == 1) {
          LOG_WARN("ssh connect failed", {"host", session->where()},
                   {"result", std::string(toString(o.reason))}, {"err", o.message});
        }
        host.lastReason = o.reason;
        host.lastError = o.message;
        return fail(o.reason, std::move(o.message));
      }
      if (host.failures > 0) {
        LOG_INFO("ssh session re-established", {"host", session->where()},
                 {"after_failures", std::to_string(host.failures)});
      }
      host.failures = 0;
      host.lastReason = FailureReason::kNone;
      host.lastError.clear();
      host.connectedAt = clock_.nowMs();
      host.session = std::move(session);
      fresh = true;
      r.trace.push_back(fmt::format("connect    {:8.3f} ms", host.session->connectSeconds() * 1e3));
      r.trace.push_back(fmt::format("handshake  {:8.3f} ms (key exchange, host key, auth)",
                                    host.session->handshakeSeconds() * 1e3));
    } else {
      r.trace.push_back(fmt::format("host key   {} {} ({})", host.session->hostKeyType(),
                                    host.session->hostKeyFingerprint(), knownHosts));
      r.trace.push_back(fmt::format("session    reused (connected {:.1f} s ago)",
                                    static_cast<double>(clock_.nowMs() - host.connectedAt) / 1e3));
    }
    const auto execStart = SteadyClock::now();
    std::string out;
    double rtt = 0;
    SshOutcome o = host.session->exec(job.command, job.deadline, out, rtt);
    if (!o.ok()) {
      const bool dead =
          host.session->state() == SshSessionState::kBroken || o.reason == FailureReason::kTooLarge;
      if (dead) host.session.reset();
      if (dead && !fresh && o.reason == FailureReason::kReset &&
          SteadyClock::now() < job.deadline) {
        r.trace.push_back(fmt::format("session    lost ({}); reconnecting", o.message));
        continue;
      }
      return fail(o.reason, std::move(o.message));
    }
    r.trace.push_back(fmt::format("round trip {:8.3f} ms (channel open)", rtt * 1e3));
    r.trace.push_back(
        fmt::format("command    {:8.3f} ms, {} bytes", secondsSince(execStart) * 1e3, out.size()));
    const std::string source = fmt::format("{}:`{}`", host.session->where(), job.command);
    ProbeResult parsed = memoryResultFromOutput(out, source);
    r.reason = parsed.reason;
    r.error = std::move(parsed.error);
    r.samples = std::move(parsed.samples);
    for (auto& line : parsed.trace) r.trace.push_back(std::move(line));
    return r;
  }
  return fail(FailureReason::kReset, "the SSH session was lost twice in one probe");
}

}  // namespace vigil
