#include "agent/app/demo.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/config/default_config.h"

namespace vigil {

namespace {

using Steady = std::chrono::steady_clock;

constexpr double kMemTotalBytes = 2.0 * 1024 * 1024 * 1024;  // 2 GiB, like the incident's VMs
constexpr int kUserRequestsPerTick = 5;                       // every 100 ms: 50 requests/s
constexpr const char* kBackend = "devschool-web";

/// One simulated web server as the load balancer and its own /proc see it.
struct Server {
  std::string name;
  std::string lbState = "UP";    // HAProxy's status word
  bool failing = false;          // answers 500 on every route
  double memAvailable = 0.55;    // fraction of MemTotal
  double drainPerSecond = 0;     // memory lost per second while carrying traffic
  uint64_t oomKills = 0;
  uint64_t sessions = 0;         // HAProxy stot
  uint64_t hrsp2xx = 0, hrsp5xx = 0;
};

/// Something that happened, for the timeline at the end.
struct Entry {
  double at = 0;  // seconds since the scenario started
  std::string what;
  bool page = false;
};

/// The simulated machines and the webhook that receives pages, behind one civetweb listener.
class Simulation {
 public:
  Simulation() {
    servers_.push_back(Server{.name = "web-01"});
    servers_.push_back(Server{.name = "web-02"});
  }
  ~Simulation() { stop(); }

  bool start(std::string* error) {
    const char* options[] = {"listening_ports", "127.0.0.1:0", "num_threads", "8",
                             "request_timeout_ms", "5000", nullptr};
    mg_callbacks callbacks{};
    ctx_ = mg_start(&callbacks, this, options);
    if (ctx_ == nullptr) {
      *error = "cannot start the simulated servers on 127.0.0.1";
      return false;
    }
    mg_set_request_handler(ctx_, "/", &Simulation::handle, this);
    mg_server_port ports[1]{};
    if (mg_get_server_ports(ctx_, 1, ports) < 1) {
      *error = "the simulated servers have no port";
      return false;
    }
    port_ = ports[0].port;
    return true;
  }

  void stop() {
    if (ctx_ != nullptr) mg_stop(ctx_);
    ctx_ = nullptr;
  }

  int port() const { return port_; }

  template <typename F>
  void with(const std::string& name, F&& f) {
    std::lock_guard lock(mu_);
    for (auto& s : servers_) {
      if (s.name == name) f(s);
    }
  }

  /// 100 ms of user traffic through the load balancer, and of memory pressure.
  void tick(double seconds, double now) {
    std::lock_guard lock(mu_);
    for (int i = 0; i < kUserRequestsPerTick; ++i) {
      Server* s = pickLocked();
      if (s == nullptr) continue;
      ++s->sessions;
      if (s->failing) {
        ++s->hrsp5xx;
        if (!firstUserError_) firstUserError_ = now;
      } else {
        ++s->hrsp2xx;
      }
    }
    for (auto& s : servers_) {
      if (s.drainPerSecond <= 0) continue;
      s.memAvailable = std::max(0.02, s.memAvailable - s.drainPerSecond * seconds);
    }
  }

  std::optional<double> firstUserError() const {
    std::lock_guard lock(mu_);
    return firstUserError_;
  }

  /// Pages the agent's webhook delivered since the last call, one line per alert.
  std::vector<std::string> takePages() {
    std::lock_guard lock(mu_);
    return std::exchange(pages_, {});
  }

  /// Alert names seen per status ("firing"/"resolved").
  std::set<std::string> seen(const std::string& status) const {
    std::lock_guard lock(mu_);
    auto it = seen_.find(status);
    return it == seen_.end() ? std::set<std::string>{} : it->second;
  }

 private:
  static int handle(mg_connection* conn, void* self) {
    return static_cast<Simulation*>(self)->serve(conn);
  }

  Server* pickLocked() {
    for (size_t i = 0; i < servers_.size(); ++i) {
      Server& s = servers_[(next_ + i) % servers_.size()];
      if (s.lbState == "UP") {
        next_ = (next_ + i + 1) % servers_.size();
        return &s;
      }
    }
    return nullptr;
  }

  static int reply(mg_connection* conn, int status, const char* type, const std::string& body) {
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Connection: close\r\n\r\n",
              status, status == 200 ? "OK" : status == 500 ? "Internal Server Error" : "Other",
              type, body.size());
    mg_write(conn, body.data(), body.size());
    return status;
  }

  int serve(mg_connection* conn) {
    const mg_request_info* ri = mg_get_request_info(conn);
    std::string uri = ri->local_uri != nullptr ? ri->local_uri : "";
    if (std::strcmp(ri->request_method, "POST") == 0 && uri == "/hook") return hook(conn);
    std::lock_guard lock(mu_);
    if (uri == "/lb/stats;csv") return reply(conn, 200, "text/plain", csvLocked());
    if (uri == "/lb/" || uri == "/lb") {
      // The public frontend: round robin over the servers in rotation, as HAProxy does.
      Server* s = pickLocked();
      if (s == nullptr) return reply(conn, 503, "text/html", "<h1>503 No server available</h1>");
      ++s->sessions;
      if (s->failing) {
        ++s->hrsp5xx;
        return reply(conn, 500, "text/html", "<title>500</title>");
      }
      ++s->hrsp2xx;
      return reply(conn, 200, "text/html", "<title>Devschool</title>");
    }
    for (auto& s : servers_) {
      if (uri == "/" + s.name + "/metrics") return reply(conn, 200, "text/plain", memoryPage(s));
      if (uri.rfind("/" + s.name + "/", 0) == 0) {
        if (s.failing) return reply(conn, 500, "text/html", "<title>500</title>");
        return reply(conn, 200, "text/html", "<title>Devschool</title>");
      }
    }
    return reply(conn, 404, "text/plain", "not found\n");
  }

  static std::string memoryPage(const Server& s) {
    const double avail = s.memAvailable * kMemTotalBytes;
    return fmt::format(
        "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.\n"
        "# TYPE node_memory_MemTotal_bytes gauge\n"
        "node_memory_MemTotal_bytes {:.0f}\n"
        "# HELP node_memory_MemAvailable_bytes Memory information field MemAvailable_bytes.\n"
        "# TYPE node_memory_MemAvailable_bytes gauge\n"
        "node_memory_MemAvailable_bytes {:.0f}\n"
        "# TYPE node_memory_MemFree_bytes gauge\n"
        "node_memory_MemFree_bytes {:.0f}\n"
        "# TYPE node_memory_SwapTotal_bytes gauge\n"
        "node_memory_SwapTotal_bytes 0\n"
        "# TYPE node_memory_SwapFree_bytes gauge\n"
        "node_memory_SwapFree_bytes 0\n"
        "# HELP node_vmstat_oom_kill /proc/vmstat information field oom_kill.\n"
        "# TYPE node_vmstat_oom_kill untyped\n"
        "node_vmstat_oom_kill {}\n",
        kMemTotalBytes, avail, avail * 0.3, s.oomKills);
  }

  std::string csvLocked() const {
    std::string out =
        "# pxname,svname,scur,stot,status,weight,act,bck,type,check_status,hrsp_1xx,hrsp_2xx,"
        "hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,\n";
    uint64_t total = 0, h2 = 0, h5 = 0, up = 0;
    for (const auto& s : servers_) {
      total += s.sessions;
      h2 += s.hrsp2xx;
      h5 += s.hrsp5xx;
      if (s.lbState == "UP") ++up;
    }
    out += fmt::format("devschool,FRONTEND,0,{},OPEN,,,,0,,0,{},0,0,{},0,\n", total, h2, h5);
    for (const auto& s : servers_) {
      out += fmt::format("{},{},0,{},{},1,1,0,2,{},0,{},0,0,{},0,\n", kBackend, s.name,
                         s.sessions, s.lbState, s.lbState == "MAINT" ? "" : "L7OK", s.hrsp2xx,
                         s.hrsp5xx);
    }
    out += fmt::format("{},BACKEND,0,{},{},{},{},0,1,,0,{},0,0,{},0,\n", kBackend, total,
                       up > 0 ? "UP" : "DOWN", up, up, h2, h5);
    return out;
  }

  int hook(mg_connection* conn) {
    std::string body;
    char buf[8192];
    for (int n; body.size() < (4 << 20) && (n = mg_read(conn, buf, sizeof buf)) > 0;) {
      body.append(buf, static_cast<size_t>(n));
    }
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.contains("alerts")) {
      return reply(conn, 400, "text/plain", "not an Alertmanager webhook payload\n");
    }
    std::lock_guard lock(mu_);
    for (const auto& a : doc["alerts"]) {
      const auto& labels = a.value("labels", nlohmann::json::object());
      const std::string status = a.value("status", "");
      const std::string name = labels.value("alertname", "?");
      std::string where;
      for (const char* l : {"pool", "target", "source"}) {
        if (labels.contains(l)) where += fmt::format(" {}={}", l, labels[l].get<std::string>());
      }
      std::string summary = a.value("annotations", nlohmann::json::object()).value("summary", "");
      pages_.push_back(fmt::format("{:<8} {} [{}]{} — {}", status == "firing" ? "FIRING" : "RESOLVED",
                                   name, labels.value("severity", "-"), where, summary));
      seen_[status].insert(name);
    }
    return reply(conn, 200, "text/plain", "ok\n");
  }

  mutable std::mutex mu_;
  std::vector<Server> servers_;
  size_t next_ = 0;
  std::optional<double> firstUserError_;
  std::vector<std::string> pages_;
  std::map<std::string, std::set<std::string>> seen_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

/// The status of GET http://127.0.0.1:port/path, 0 when there is no answer within ~1 s.
int httpStatus(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int status = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    char buf[64] = {};
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()) &&
        ::recv(fd, buf, sizeof buf - 1, 0) > 12) {
      status = std::atoi(buf + 9);
    }
  }
  ::close(fd);
  return status;
}

std::string configYaml(int simPort, const std::string& work) {
  const std::string base = fmt::format("http://127.0.0.1:{}", simPort);
  std::string targets;
  for (const char* name : {"web-01", "web-02"}) {
    targets += fmt::format(
        "  - name: {0}\n"
        "    pool: devschool\n"
        "    http:\n"
        "      - url: {1}/{0}/\n"
        "        body_must_contain: \"<title>\"\n"
        "    memory:\n"
        "      node_exporter: {1}/{0}/metrics\n",
        name, base);
  }
  return fmt::format(
      "# Generated by `vigil demo`: the Devschool pool on simulated servers, 1 s intervals.\n"
      "global:\n"
      "  interval: 1s\n"
      "  timeout: 800ms\n"
      "  evaluation_interval: 1s\n"
      "  state_dir: \"{1}/state\"\n"
      "pools:\n"
      "  - name: devschool\n"
      "    min_in_rotation: 2\n"
      "    frontend: {0}/lb/\n"
      "    load_balancer:\n"
      "      haproxy_stats: \"{0}/lb/stats;csv\"\n"
      "      backend: {2}\n"
      "targets:\n"
      "{3}"
      "rule_files: [vigil-default.yaml]\n"
      "alerting:\n"
      "  receivers:\n"
      "    - name: oncall\n"
      "      webhook:\n"
      "        url: {0}/hook\n"
      "        format: alertmanager\n"
      "        send_resolved: true\n"
      "  route:\n"
      "    receiver: oncall\n"
      "    group_by: [alertname, pool, target]\n"
      "    group_wait: 0s\n"
      "    group_interval: 1s\n"
      "    repeat_interval: 4h\n",
      base, work, kBackend, targets);
}

/// The agent as a child process, its stdout and stderr in `log`.
class Child {
 public:
  bool start(const std::vector<std::string>& args, const std::string& log, std::string* error) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      *error = fmt::format("cannot create {}: {}", log, std::strerror(errno));
      return false;
    }
    const pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      *error = fmt::format("cannot start {}: {}", args[0], std::strerror(errno));
      ::close(fd);
      return false;
    }
    if (pid == 0) {
      // Only async-signal-safe calls until exec. The agent dies with the demo, however the
      // demo ends (a killed test runner included).
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fd);
    pid_ = pid;
    return true;
  }

  bool alive() {
    if (pid_ == 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      return false;
    }
    return true;
  }

  /// SIGTERM, then SIGKILL after 10 s.
  void stop() {
    if (pid_ == 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

  ~Child() { stop(); }

 private:
  pid_t pid_ = 0;
};

std::string tail(const std::string& file, size_t lines) {
  std::ifstream in(file);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "    " + all[i] + "\n";
  }
  return out;
}

}  // namespace

int runDemo(const DemoOptions& options) {
  std::FILE* out = options.out;
  std::string error;

  char tmpl[] = "/tmp/vigil-demo-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::fprintf(stderr, "vigil: cannot create a work directory in /tmp: %s\n",
                 std::strerror(errno));
    return 1;
  }
  const std::string work = tmpl;
  struct Cleanup {
    const std::string& dir;
    bool keep;
    ~Cleanup() {
      std::error_code ec;
      if (!keep) std::filesystem::remove_all(dir, ec);
    }
  } cleanup{work, options.keepWorkDir};

  Simulation sim;
  if (!sim.start(&error)) {
    std::fprintf(stderr, "vigil: %s\n", error.c_str());
    return 1;
  }
  {
    std::ofstream(work + "/vigil-default.yaml") << config::defaultRulePack();
    std::ofstream(work + "/vigil.yaml") << configYaml(sim.port(), work);
  }
  const int agentPort = freePort();
  const std::string self = options.self.empty() ? "/proc/self/exe" : options.self;
  const std::string log = work + "/vigil.log";
  Child agent;
  if (!agent.start({self, "run", "--config", work + "/vigil.yaml", "--web.listen-address",
                    fmt::format("127.0.0.1:{}", agentPort), "--log.level", "warn"},
                   log, &error)) {
    std::fprintf(stderr, "vigil: %s\n", error.c_str());
    return 1;
  }

  std::fprintf(out,
               "vigil demo: the Devschool incident, replayed on loopback in under a minute.\n"
               "  web-01 and web-02 serve Devschool behind an HAProxy round-robin load balancer\n"
               "  (simulated, 50 user requests/s). vigil probes both every second, reads the load\n"
               "  balancer's stats and each server's memory, evaluates its default rules and pages\n"
               "  the on-call webhook. Agent: http://127.0.0.1:%d/  (status page, /metrics)\n\n",
               agentPort);
  std::fflush(out);

  // Ready = the first round of probes is done (SPEC §7).
  const auto startWait = Steady::now();
  while (httpStatus(agentPort, "/-/ready") != 200) {
    if (!agent.alive() || Steady::now() - startWait > std::chrono::seconds(20)) {
      std::fprintf(stderr, "vigil: the agent did not become ready; its log:\n%s",
                   tail(log, 20).c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  const auto t0 = Steady::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Steady::now() - t0).count(); };
  std::vector<Entry> timeline;
  auto say = [&](const std::string& what) {
    timeline.push_back(Entry{elapsed(), what, false});
    std::fprintf(out, "[%5.1fs]        %s\n", elapsed(), what.c_str());
    std::fflush(out);
  };

  // The script: (second, action). Times are from the moment the agent is ready.
  struct Step {
    double at;
    std::string what;
    std::function<void()> act;
  };
  std::vector<Step> script = {
      {0.0, "all healthy: web-01 and web-02 in rotation, memory 55% available", [] {}},
      {4.0, "web-02 is put into maintenance for a test (HAProxy: MAINT) and left there",
       [&] { sim.with("web-02", [](Server& s) { s.lbState = "MAINT"; }); }},
      {8.0, "web-01 carries all the traffic: its memory starts to drain",
       [&] { sim.with("web-01", [](Server& s) { s.drainPerSecond = 0.04; }); }},
      {21.0, "web-01 runs out of memory: the OOM killer strikes, every route answers 500",
       [&] {
         sim.with("web-01", [](Server& s) {
           ++s.oomKills;
           s.failing = true;
         });
       }},
      {31.0, "on-call fixes it: web-02 back in rotation, web-01 restarted (memory 60%, 200s)",
       [&] {
         sim.with("web-02", [](Server& s) { s.lbState = "UP"; });
         sim.with("web-01", [](Server& s) {
           s.failing = false;
           s.drainPerSecond = 0;
           s.memAvailable = 0.60;
         });
       }},
  };
  constexpr double kEnd = 40.0;

  size_t nextStep = 0;
  bool agentDied = false;
  double lastTick = 0;
  while (elapsed() < kEnd) {
    const double now = elapsed();
    while (nextStep < script.size() && script[nextStep].at <= now) {
      script[nextStep].act();
      say(script[nextStep].what);
      ++nextStep;
    }
    sim.tick(now - lastTick, now);
    lastTick = now;
    for (auto& p : sim.takePages()) {
      timeline.push_back(Entry{now, p, true});
      std::fprintf(out, "[%5.1fs] PAGE   %s\n", now, p.c_str());
      std::fflush(out);
    }
    if (!agent.alive()) {
      agentDied = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  agent.stop();
  for (auto& p : sim.takePages()) timeline.push_back(Entry{elapsed(), p, true});
  sim.stop();

  if (agentDied) {
    std::fprintf(stderr, "vigil: the agent exited during the demo; its log:\n%s",
                 tail(log, 20).c_str());
    return 1;
  }

  // The timeline, and what it shows.
  std::fprintf(out, "\nTimeline (seconds from start)\n");
  for (const auto& e : timeline) {
    std::fprintf(out, "  %5.1f  %s  %s\n", e.at, e.page ? "page " : "event", e.what.c_str());
  }
  auto firstPage = [&](const std::string& alert) -> std::optional<double> {
    for (const auto& e : timeline) {
      if (e.page && e.what.rfind("FIRING", 0) == 0 && e.what.find(" " + alert + " ") != std::string::npos) {
        return e.at;
      }
    }
    return std::nullopt;
  };
  std::fprintf(out, "\nWhat vigil saw\n");
  const auto userError = sim.firstUserError();
  if (auto t = firstPage("RedundancyLost")) {
    std::fprintf(out, "  web-02 left the rotation at 4.0s; RedundancyLost paged at %.1fs (%.1f s later)", *t,
                 *t - 4.0);
    if (userError) std::fprintf(out, ", %.0f s before the first user saw an error", *userError - *t);
    std::fprintf(out, ".\n");
  }
  if (auto t = firstPage("MemoryExhaustion")) {
    std::fprintf(out, "  web-01's memory went below 10%% and MemoryExhaustion paged at %.1fs.\n", *t);
  }
  if (userError) {
    std::fprintf(out, "  The first user got a 500 at %.1fs", *userError);
    if (auto t = firstPage("Http5xxSpike")) std::fprintf(out, "; Http5xxSpike paged at %.1fs", *t);
    std::fprintf(out, ".\n");
  }
  std::fprintf(out,
               "  In the real incident a user reported the 500s; the fix came 9 hours later.\n"
               "  (Http5xxSpike and OomKill stay firing a few minutes after the fix: their rules\n"
               "  look back 1-5 minutes.)\n");

  const std::set<std::string> wantFiring = {"RedundancyLost", "MemoryExhaustion", "Http5xxSpike"};
  const std::set<std::string> wantResolved = {"RedundancyLost", "MemoryExhaustion"};
  std::vector<std::string> missing;
  const auto firing = sim.seen("firing");
  const auto resolved = sim.seen("resolved");
  for (const auto& a : wantFiring) {
    if (!firing.count(a)) missing.push_back(a + " (firing)");
  }
  for (const auto& a : wantResolved) {
    if (!resolved.count(a)) missing.push_back(a + " (resolved)");
  }
  if (options.keepWorkDir) {
    std::fprintf(out, "\nConfig, rules, log and state are in %s\n", work.c_str());
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    std::fprintf(stderr, "vigil: these pages did not arrive: %s; the agent's log:\n%s",
                 list.c_str(), tail(log, 20).c_str());
    return 1;
  }
  return 0;
}

}  // namespace vigil
