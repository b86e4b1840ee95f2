// CPU and latency of one SSH memory probe: vigil's persistent session (a new channel per probe
// on one authenticated connection) against what a shell script would do, spawning
// `ssh host cat /proc/meminfo /proc/vmstat` per probe. Both talk to the same real OpenSSH sshd
// that this benchmark starts on a free loopback port (own host key, authorized_keys and config
// in a temp dir) and stops by PID at exit. Figures, not pass/fail: see DESIGN.md "Tests".
//
// Counters per probe:
//   client_cpu_ms  CPU of the probing side: this process (vigil's prober and its worker) for
//                  the session, plus the `ssh` child and its fork/exec for the spawn case
//   server_cpu_ms  CPU of sshd and everything it ran (its process tree, reaped children
//                  included), read from /proc
//   wall time      the benchmark's real time per iteration
//
// Run:  build/test/bench/bench_ssh --benchmark_counters_tabular=true
// Needs: /usr/sbin/sshd (openssh-server), /usr/bin/ssh and ssh-keygen (openssh-client), root or
// the same user for sshd and the client (sshd only lets its own user in when not root).

#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/core/clock.h"
#include "agent/scheduler/event_loop.h"
#include "probes/ssh_probe.h"

extern char** environ;

namespace {

// Bounds: each case runs this many probes (a fixed count, no open-ended loop) and every wait
// below gives up after a few seconds.
constexpr int kSessionProbes = 200;
constexpr int kSpawnProbes = 30;

double cpuSeconds(const rusage& r) {
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

double selfCpu() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return cpuSeconds(r);
}

double childrenCpu() {
  rusage r{};
  getrusage(RUSAGE_CHILDREN, &r);
  return cpuSeconds(r);
}

// utime + stime + cutime + cstime of `pid` and every live descendant, in seconds.
double treeCpu(pid_t root) {
  std::map<pid_t, std::vector<pid_t>> children;
  std::map<pid_t, double> cpu;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  DIR* d = opendir("/proc");
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::ifstream f("/proc/" + std::string(e->d_name) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    std::string skip;
    for (int i = 0; i < 9; ++i) rest >> skip;  // pgrp .. cmajflt
    double ut = 0, st = 0, cut = 0, cst = 0;
    rest >> ut >> st >> cut >> cst;
    children[static_cast<pid_t>(ppid)].push_back(static_cast<pid_t>(pid));
    cpu[static_cast<pid_t>(pid)] = (ut + st + cut + cst) / tick;
  }
  closedir(d);
  double total = 0;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    total += cpu[p];
    for (pid_t c : children[p]) todo.push_back(c);
  }
  return total;
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& outFile = "/dev/null") {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, outFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

int runToEnd(const std::vector<std::string>& argv) {
  pid_t pid = spawn(argv);
  if (pid < 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool bannerOn(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    char buf[8] = {};
    ok = recv(fd, buf, sizeof buf, 0) >= 4 && std::string(buf, 4) == "SSH-";
  }
  close(fd);
  return ok;
}

void writeFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// One sshd for the whole run, torn down (by PID) at exit.
class Sshd {
 public:
  static Sshd& get() {
    static Sshd s;
    return s;
  }
  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string path(const std::string& n) const { return dir_ + "/" + n; }
  std::string user() const { return user_; }

  ~Sshd() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) runToEnd({"/bin/rm", "-rf", dir_});
  }

 private:
  Sshd() {
    char tmpl[] = "/tmp/vigil-bench-ssh-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      fail("mkdtemp failed");
      return;
    }
    dir_ = tmpl;
    passwd* pw = getpwuid(getuid());
    user_ = pw != nullptr ? pw->pw_name : "root";
    for (const char* k : {"host_key", "id_ed25519"}) {
      if (runToEnd({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path(k)}) != 0) {
        fail("ssh-keygen failed (install openssh-client)");
        return;
      }
    }
    std::ifstream pub(path("id_ed25519.pub"));
    std::string line;
    std::getline(pub, line);
    writeFile(path("authorized_keys"), line + "\n");
    mkdir("/run/sshd", 0755);  // privilege separation directory, normally made by systemd
    port_ = freePort();
    writeFile(path("sshd_config"),
              "Port " + std::to_string(port_) + "\nListenAddress 127.0.0.1\nHostKey " +
                  path("host_key") + "\nAuthorizedKeysFile " + path("authorized_keys") +
                  "\nPidFile none\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                  "UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
                  // the user's ~/.bashrc (sourced for `ssh host cmd`) is not what we measure
                  "SetEnv HOME=" +
                  dir_ + "\n");
    pid_ = spawn({"/usr/sbin/sshd", "-D", "-e", "-f", path("sshd_config")}, path("sshd.log"));
    if (pid_ < 0) {
      fail("cannot start /usr/sbin/sshd (install openssh-server)");
      return;
    }
    for (int i = 0; i < 100 && !bannerOn(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!bannerOn(port_)) {
      fail("sshd did not come up; see " + path("sshd.log"));
      return;
    }
    std::ifstream hk(path("host_key.pub"));
    std::string kind, blob;
    hk >> kind >> blob;
    writeFile(path("known_hosts"),
              "[127.0.0.1]:" + std::to_string(port_) + " " + kind + " " + blob + "\n");
  }
  void fail(std::string e) {
    error_ = std::move(e);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

  std::string dir_, user_, error_;
  int port_ = 0;
  pid_t pid_ = -1;
};

struct LoopThread {
  vigil::EventLoop loop;
  std::thread thread;
  LoopThread() : thread([this] { loop.run(); }) {}
  ~LoopThread() {
    loop.stop();
    thread.join();
  }
};

void report(benchmark::State& state, int probes, double client, double server) {
  state.counters["client_cpu_ms"] = client * 1e3 / probes;
  state.counters["server_cpu_ms"] = server * 1e3 / probes;
  state.counters["total_cpu_ms"] = (client + server) * 1e3 / probes;
}

void BM_SshPersistentSession(benchmark::State& state) {
  Sshd& sshd = Sshd::get();
  if (!sshd.ok()) return state.SkipWithError(sshd.error().c_str());
  vigil::config::SshMemory cfg;
  cfg.host = "127.0.0.1";
  cfg.port = sshd.port();
  cfg.user = sshd.user();
  cfg.identityFile = sshd.path("id_ed25519");
  cfg.knownHosts = sshd.path("known_hosts");
  LoopThread lt;
  vigil::SshProber prober(lt.loop, vigil::SystemClock::instance());
  auto probe = [&] {
    std::promise<vigil::ProbeResult> p;
    auto f = p.get_future();
    prober.start(cfg, std::chrono::seconds(10),
                 [&](vigil::ProbeResult r) { p.set_value(std::move(r)); });
    return f.get();
  };
  // The first probe connects and authenticates once; what is measured is every probe after.
  if (auto r = probe(); !r.success()) return state.SkipWithError(r.error.c_str());
  const double self0 = selfCpu(), server0 = treeCpu(sshd.pid());
  int probes = 0;
  for (auto _ : state) {
    vigil::ProbeResult r = probe();
    if (!r.success()) return state.SkipWithError(r.error.c_str());
    ++probes;
  }
  report(state, probes, selfCpu() - self0, treeCpu(sshd.pid()) - server0);
}

void BM_SshProcessPerProbe(benchmark::State& state) {
  Sshd& sshd = Sshd::get();
  if (!sshd.ok()) return state.SkipWithError(sshd.error().c_str());
  const std::vector<std::string> argv = {"/usr/bin/ssh",
                                         "-F",
                                         "/dev/null",
                                         "-i",
                                         sshd.path("id_ed25519"),
                                         "-o",
                                         "UserKnownHostsFile=" + sshd.path("known_hosts"),
                                         "-o",
                                         "StrictHostKeyChecking=yes",
                                         "-o",
                                         "BatchMode=yes",
                                         "-o",
                                         "ConnectTimeout=10",
                                         "-p",
                                         std::to_string(sshd.port()),
                                         sshd.user() + "@127.0.0.1",
                                         "cat /proc/meminfo /proc/vmstat"};
  if (runToEnd(argv) != 0) return state.SkipWithError("ssh to the local sshd failed");
  const double self0 = selfCpu(), kids0 = childrenCpu(), server0 = treeCpu(sshd.pid());
  int probes = 0;
  for (auto _ : state) {
    if (runToEnd(argv) != 0) return state.SkipWithError("ssh failed");
    ++probes;
  }
  report(state, probes, (selfCpu() - self0) + (childrenCpu() - kids0),
         treeCpu(sshd.pid()) - server0);
}

}  // namespace

BENCHMARK(BM_SshPersistentSession)
    ->Iterations(kSessionProbes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SshProcessPerProbe)
    ->Iterations(kSpawnProbes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
