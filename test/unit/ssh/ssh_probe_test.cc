#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/core/clock.h"
#include "agent/scheduler/event_loop.h"
#include "exporters/metrics/names.h"
#include "probes/ssh_probe.h"

using vigil::Duration;
using vigil::FailureReason;
using vigil::ProbeResult;

namespace {

int listenLoopback(int& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  port = ntohs(a.sin_port);
  return fd;
}

// A TCP peer on 127.0.0.1 that is not an SSH server: it accepts and then says nothing, closes
// at once, or sends a fixed greeting. Counts the connections it accepted.
class RawServer {
 public:
  enum class Mode { kSilent, kClose, kGreet };

  explicit RawServer(Mode mode, std::string greeting = "") : mode_(mode), greeting_(greeting) {
    fd_ = listenLoopback(port_);
    REQUIRE(listen(fd_, 16) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~RawServer() {
    stop_ = true;
    thread_.join();
    for (int c : held_) close(c);
    close(fd_);
  }
  int port() const { return port_; }
  int accepts() const { return accepts_.load(); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++accepts_;
      if (mode_ == Mode::kGreet) (void)!write(c, greeting_.data(), greeting_.size());
      if (mode_ == Mode::kClose || mode_ == Mode::kGreet) {
        close(c);
      } else {
        held_.push_back(c);
      }
    }
  }

  Mode mode_;
  std::string greeting_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepts_{0};
  std::vector<int> held_;
  std::thread thread_;
};

// The probe loop on its own thread, as in the agent.
struct LoopThread {
  vigil::EventLoop loop;
  std::thread thread;
  LoopThread() : thread([this] { loop.run(); }) {}
  ~LoopThread() {
    loop.stop();
    thread.join();
  }
};

vigil::config::SshMemory target(int port) {
  vigil::config::SshMemory c;
  c.host = "127.0.0.1";
  c.port = port;
  c.user = "nobody";
  c.identityFile = "/nonexistent/never-read-before-the-host-key";
  c.knownHosts = "/nonexistent/known_hosts";
  return c;
}

std::future<ProbeResult> start(vigil::SshProber& prober, const vigil::config::SshMemory& cfg,
                               Duration timeout, std::thread::id* ranOn = nullptr) {
  auto p = std::make_shared<std::promise<ProbeResult>>();
  auto f = p->get_future();
  prober.start(cfg, timeout, [p, ranOn](ProbeResult r) {
    if (ranOn != nullptr) *ranOn = std::this_thread::get_id();
    p->set_value(std::move(r));
  });
  return f;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("output of cat /proc/meminfo /proc/vmstat becomes the memory series") {
  std::stringstream text;
  text << std::ifstream("/proc/meminfo").rdbuf() << std::ifstream("/proc/vmstat").rdbuf();
  ProbeResult r = vigil::memoryResultFromOutput(text.str(), "host:`cat`");
  REQUIRE(r.success());
  REQUIRE_FALSE(r.samples.empty());
  REQUIRE(r.samples.front().name == vigil::names::kNodeMemoryMemTotalBytes);
  REQUIRE(r.samples.front().value > 0);
  REQUIRE_FALSE(r.trace.empty());
  REQUIRE(contains(r.trace.front(), "MemTotal"));
}

TEST_CASE("output that is not meminfo fails as a parse error with its position") {
  ProbeResult r = vigil::memoryResultFromOutput("MemTotal: 12 kB\nMemFree: lots\n", "h:`cat`");
  REQUIRE(r.reason == FailureReason::kParse);
  REQUIRE(r.error.rfind("h:`cat`:2:", 0) == 0);
  REQUIRE(r.samples.empty());
  REQUIRE(vigil::memoryResultFromOutput("", "h").reason == FailureReason::kParse);
}

TEST_CASE("a host that accepts TCP and never speaks times out in the handshake, off the loop") {
  RawServer silent(RawServer::Mode::kSilent);
  LoopThread lt;
  vigil::SshProber prober(lt.loop, vigil::SystemClock::instance());
  // The loop keeps running timers while the probe waits: it is never blocked by SSH.
  std::atomic<int> ticks{0};
  std::function<void()> tick = [&] {
    ++ticks;
    lt.loop.addTimer(vigil::EventLoop::monotonicMs() + 10, tick);
  };
  lt.loop.post(tick);
  std::thread::id completedOn;
  auto f = start(prober, target(silent.port()), Duration{300}, &completedOn);
  REQUIRE(prober.inFlight() == 1);
  ProbeResult r = f.get();
  REQUIRE(prober.inFlight() == 0);
  REQUIRE(r.reason == FailureReason::kTimeout);
  REQUIRE(contains(r.error, "timed out in phase handshake"));
  REQUIRE(contains(r.error, "[127.0.0.1]:" + std::to_string(silent.port())));
  REQUIRE(r.samples.empty());
  REQUIRE(completedOn == lt.thread.get_id());
  REQUIRE(ticks.load() >= 2);
  REQUIRE(silent.accepts() == 1);
}

TEST_CASE("a stalled host does not hold up another host's probe") {
  RawServer silent(RawServer::Mode::kSilent);
  RawServer closing(RawServer::Mode::kClose);
  LoopThread lt;
  vigil::SshProber prober(lt.loop, vigil::SystemClock::instance());
  auto stalled = start(prober, target(silent.port()), Duration{5000});
  auto other = start(prober, target(closing.port()), Duration{5000});
  // The other host's probe completes while the stalled one is still waiting for its banner.
  ProbeResult r = other.get();
  REQUIRE(r.reason == FailureReason::kReset);
  REQUIRE(stalled.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  REQUIRE(stalled.get().reason == FailureReason::kTimeout);
}

TEST_CASE("with every worker taken, a queued probe fails as a timeout without being tried") {
  RawServer a(RawServer::Mode::kSilent);
  RawServer b(RawServer::Mode::kSilent);
  LoopThread lt;
  vigil::SshProber prober(lt.loop, vigil::SystemClock::instance(), vigil::SshProber::Options{1});
  auto fa = start(prober, target(a.port()), Duration{300});
  auto fb = start(prober, target(b.port()), Duration{100});  // spent before a is done
  ProbeResult ra = fa.get();
  ProbeResult rb = fb.get();
  REQUIRE(ra.reason == FailureReason::kTimeout);
  REQUIRE(rb.reason == FailureReason::kTimeout);
  REQUIRE(contains(rb.error, "free SSH worker"));
  REQUIRE(b.accepts() == 0);
}

TEST_CASE("connection refused") {
  int port = 0;
  close(listenLoopback(port));  // bound once, now free: nothing listens there
  LoopThread lt;
  vigil::SshProber prober(lt.loop, vigil::SystemClock::instance());
  ProbeResult r = start(prober, target(port), Duration{2000}).get();
  REQUIRE(r.reason == FailureReason::kRefused);
  REQUIRE(r.error == "connect to [127.0.0.1]:" + std::to_string(port) + ": connection refused");
}

TEST_CASE("a peer that is not an SSH-2 server is a protocol error") {
  RawServer old(RawServer::Mode::kGreet, "SSH-1.5-ancient\r\n");
  LoopThread lt;
  vigil::SshProber prober(lt.loop, vigil::SystemClock::instance());
  ProbeResult r = start(prober, target(old.port()), Duration{2000}).get();
  INFO(r.error);
  REQUIRE(r.reason == FailureReason::kProtocol);
  REQUIRE(contains(r.error, "handshake with [127.0.0.1]:"));
}

TEST_CASE("failed connects back off on the injected clock, with the last reason") {
  RawServer closing(RawServer::Mode::kClose);
  vigil::ManualClock clock;
  LoopThread lt;
  vigil::SshProber prober(lt.loop, clock);
  auto cfg = target(closing.port());

  ProbeResult first = start(prober, cfg, Duration{2000}).get();
  REQUIRE(first.reason == FailureReason::kReset);
  REQUIRE(closing.accepts() == 1);

  // Within the backoff: fails at once with the same reason, without connecting.
  clock.advance(Duration{500});
  ProbeResult second = start(prober, cfg, Duration{2000}).get();
  REQUIRE(second.reason == FailureReason::kReset);
  REQUIRE(contains(second.error, first.error));
  REQUIRE(contains(second.error, "backing off after 1 failed connect"));
  REQUIRE(closing.accepts() == 1);

  // After it (1 s at most for a first failure): tries again.
  clock.advance(Duration{500});
  ProbeResult third = start(prober, cfg, Duration{2000}).get();
  REQUIRE(third.reason == FailureReason::kReset);
  REQUIRE(closing.accepts() == 2);
  // Two failures now: the next wait is longer than 1 s (1.6 s at least).
  clock.advance(Duration{1500});
  REQUIRE(contains(start(prober, cfg, Duration{2000}).get().error, "after 2 failed connects"));
  REQUIRE(closing.accepts() == 2);
  REQUIRE(prober.hostCount() == 1);
}

TEST_CASE("hosts not probed for a while are forgotten, their sessions closed") {
  RawServer gone(RawServer::Mode::kClose);
  RawServer kept(RawServer::Mode::kClose);
  vigil::ManualClock clock;
  LoopThread lt;
  vigil::SshProber prober(lt.loop, clock);
  start(prober, target(gone.port()), Duration{2000}).get();
  start(prober, target(kept.port()), Duration{2000}).get();
  REQUIRE(prober.hostCount() == 2);
  clock.advance(vigil::SshProber::kIdleHostExpiry - Duration{1});
  start(prober, target(kept.port()), Duration{2000}).get();
  REQUIRE(prober.hostCount() == 2);  // not idle long enough yet
  clock.advance(Duration{2});
  start(prober, target(kept.port()), Duration{2000}).get();
  REQUIRE(prober.hostCount() == 2);  // swept a minute ago: not yet looked at again
  clock.advance(vigil::SshProber::kIdleSweepEvery);
  start(prober, target(kept.port()), Duration{2000}).get();
  REQUIRE(prober.hostCount() == 1);
}
