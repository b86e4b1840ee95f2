#pragma once
// The memory probe's SSH source (`memory: {ssh: {...}}`): one persistent, authenticated libssh
// session per host, a new channel per probe running `command` (default `cat /proc/meminfo
// /proc/vmstat`), the output parsed by probes/parsers and turned into memorySamples(), the same
// series the node_exporter and local sources emit.
//
// Why a small worker pool and not the probe loop itself: libssh's non-blocking mode still does
// its key exchange, signature checks and known_hosts parsing inside library calls, and it has no
// way to hand its timers to our epoll loop; driving it from the loop would mean a state machine
// per phase around calls that may still take milliseconds of CPU (an RSA signature). Instead a
// bounded pool of worker threads (Options::workers, started lazily) runs SshSession, which is
// non-blocking underneath and polls the socket against the probe's deadline, so every phase
// (connect, kex, auth, channel open, exec, read) ends at the timeout. Rules that keep it fair:
//  - a host is served by at most one worker at a time (its session is never shared), and a host
//    waiting for a worker never holds one;
//  - the probe loop never calls libssh: start() only queues, and the result comes back through
//    EventLoop::post(), so the HTTP probes on the loop are never delayed by SSH;
//  - a probe still queued when its deadline passes fails as a timeout without being tried, and
//    a host's queue is bounded (kMaxQueuedPerHost).
// The cost of the choice: a stalled host holds a worker until its probe's timeout, so more
// stalled hosts than workers delay the probes of the others (never beyond their own timeout).
//
// Sessions that die (peer gone, read error, timeout) are dropped and reconnected on the next
// probe; failed connects back off (sshReconnectBackoff, measured on the injected Clock), and a
// probe during the backoff fails at once with the last failure's reason.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/config/config.h"
#include "agent/core/clock.h"
#include "agent/core/probe.h"
#include "agent/scheduler/event_loop.h"
#include "probes/ssh_session.h"

namespace vigil {

/// Turns one command's output into the memory probe's samples (memorySamples() order) and its
/// trace lines; kParse with "SOURCE:LINE:COL: ..." when it is not meminfo followed by vmstat.
/// Pure; thread-safe. `source` names the text in errors, e.g. "vigil@web-01:/proc/meminfo".
ProbeResult memoryResultFromOutput(std::string_view output, std::string_view source);

class SshProber {
 public:
  struct Options {
    /// Upper bound on worker threads (and so on hosts served at once); started on demand.
    size_t workers = 8;
  };

  /// Probes queued for one host beyond this fail at once (kInternal): with timeout < interval a
  /// host has at most one probe per memory check in flight, so this only trips on a bug.
  static constexpr size_t kMaxQueuedPerHost = 16;

  /// A host not probed for this long (removed by a reload, say) has its session closed and is
  /// forgotten; probed again, it connects anew. Checked at most once per kIdleSweepEvery.
  static constexpr Duration kIdleHostExpiry = std::chrono::minutes(10);
  static constexpr Duration kIdleSweepEvery = std::chrono::minutes(1);

  /// `loop` and `clock` must outlive this object. Completions are posted to `loop`.
  SshProber(EventLoop& loop, const Clock& clock);
  SshProber(EventLoop& loop, const Clock& clock, Options options);
  /// Stops the workers (a worker in a stalled probe notices within 100 ms) and closes every
  /// session. Completions of probes not finished yet are dropped.
  ~SshProber();
  SshProber(const SshProber&) = delete;
  SshProber& operator=(const SshProber&) = delete;

  /// Queues one probe of `cfg`'s host; `done` runs exactly once, on the loop thread (posted,
  /// never from inside start()). `timeout` covers queueing and every phase. On success the
  /// result holds the memory samples and a trace with the host key fingerprint
  /// ("host key   ssh-ed25519 SHA256:..."), the session (new or reused) and the round trip
  /// (channel open). Failures are values, see SshSession. Any thread may call start().
  void start(const config::SshMemory& cfg, Duration timeout, ProbeCompletion done);

  /// Hosts with a session object (connected or backing off), for tests.
  size_t hostCount();
  /// Probes started and not finished yet (queued or running). Thread-safe.
  size_t inFlight();

 private:
  struct Job {
    std::string command;
    SshDeadline deadline;
    std::chrono::steady_clock::time_point queued;
    ProbeCompletion done;
  };
  struct Host {
    config::SshMemory cfg;
    std::deque<Job> jobs;      // guarded by mu_
    bool busy = false;         // guarded by mu_: a worker serves it
    TimestampMs lastUsed = 0;  // guarded by mu_: last start()
    // Only the worker serving the host touches these (busy == true is the ownership).
    std::unique_ptr<SshSession> session;
    TimestampMs connectedAt = 0;
    int failures = 0;
    TimestampMs retryAt = 0;
    FailureReason lastReason = FailureReason::kNone;
    std::string lastError;
  };

  void workerMain();
  ProbeResult runJob(Host& host, const Job& job);
  void finish(Job& job, ProbeResult r);
  static std::string hostKey(const config::SshMemory& cfg);

  EventLoop& loop_;
  const Clock& clock_;
  Options options_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::unique_ptr<Host>> hosts_;
  std::deque<Host*> ready_;  // hosts with jobs and no worker, in arrival order
  std::vector<std::thread> workers_;
  size_t idleWorkers_ = 0;
  size_t inFlight_ = 0;  // guarded by mu_
  TimestampMs lastSweep_ = 0;  // guarded by mu_
};

}  // namespace vigil
