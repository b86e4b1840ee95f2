#include "agent/app/probe_command.h"

#include <fmt/format.h>

#include <cstdio>

#include "agent/app/support.h"
#include "agent/config/loader.h"
#include "agent/core/duration.h"
#include "agent/scheduler/event_loop.h"
#include "probes/haproxy_probe.h"
#include "probes/http_probe.h"
#include "probes/local_memory.h"
#include "probes/node_exporter_probe.h"
#include "probes/ssh_probe.h"

namespace vigil {

namespace {

ProbeResult runHttp(const config::HttpCheck& check, Duration timeout) {
  EventLoop loop;
  HttpProber prober(loop);
  ProbeResult out;
  prober.start(check, timeout, [&](ProbeResult r) {
    out = std::move(r);
    loop.stop();
  });
  loop.run();
  return out;
}

ProbeResult runNodeExporter(const std::string& url, Duration timeout) {
  EventLoop loop;
  HttpProber http(loop);
  NodeExporterProber prober(http);
  ProbeResult out;
  prober.start(url, timeout, [&](ProbeResult r) {
    out = std::move(r);
    loop.stop();
  });
  loop.run();
  return out;
}

ProbeResult runSsh(const config::SshMemory& ssh, Duration timeout) {
  EventLoop loop;
  SshProber prober(loop, SystemClock::instance(), SshProber::Options{1});
  ProbeResult out;
  prober.start(ssh, timeout, [&](ProbeResult r) {
    out = std::move(r);
    loop.stop();
  });
  loop.run();
  return out;
}

ProbeResult runLb(const LbProbeSpec& spec, Duration timeout) {
  EventLoop loop;
  HttpProber http(loop);
  HaproxyProber prober(http);
  ProbeResult out;
  prober.start(spec, timeout, [&](ProbeResult r) {
    out = std::move(r);
    loop.stop();
  });
  loop.run();
  return out;
}

void print(const std::string& title, const ProbeResult& r) {
  std::printf("%s\n", title.c_str());
  for (const auto& line : r.trace) std::printf("  %s\n", line.c_str());
  if (r.success()) {
    std::printf("  result     success (%.3f ms)\n", r.durationSeconds * 1e3);
  } else {
    std::printf("  result     FAILED: %s: %s\n", std::string(toString(r.reason)).c_str(),
                r.error.c_str());
  }
}

// A pool: its load balancer's view (members, states, traffic) and its frontend, probed with the
// global timeout.
int probePool(const config::Config& cfg, const config::Pool& pool) {
  bool ok = true;
  if (pool.loadBalancer) {
    ProbeResult r = runLb(lbProbeSpec(cfg, pool), cfg.global.timeout);
    print(fmt::format("pool {} load balancer {} backend {}", pool.name,
                      urlWithoutUserinfo(pool.loadBalancer->haproxyStats),
                      pool.loadBalancer->backend),
          r);
    ok = ok && r.success();
  }
  if (!pool.frontend.empty()) {
    config::HttpCheck check;
    check.url = pool.frontend;
    ProbeResult r = runHttp(check, cfg.global.timeout);
    print(fmt::format("pool {} frontend GET {}", pool.name, pool.frontend), r);
    ok = ok && r.success();
  }
  if (!pool.loadBalancer && pool.frontend.empty()) {
    std::printf("pool %s: nothing to probe\n", pool.name.c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace

int probeUrlCommand(const std::string& url, const std::string& timeoutText) {
  auto timeout = parseDuration(timeoutText);
  if (!timeout || timeout->count() <= 0) {
    std::fprintf(stderr, "vigil: --timeout: invalid duration \"%s\"\n", timeoutText.c_str());
    return 2;
  }
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    std::fprintf(stderr, "vigil: %s: only http:// and https:// URLs can be probed\n", url.c_str());
    return 2;
  }
  config::HttpCheck check;
  check.url = url;
  ProbeResult r = runHttp(check, *timeout);
  print(fmt::format("GET {}", url), r);
  return r.success() ? 0 : 1;
}

int probeTargetCommand(const std::string& configFile, const std::string& name) {
  auto cfg = config::loadConfigFile(configFile);
  if (!cfg.ok()) {
    std::fprintf(stderr, "vigil: %s\n", cfg.error().format().c_str());
    return 2;
  }
  if (Status st = checkSupported(*cfg); !st.ok()) {
    std::fprintf(stderr, "vigil: %s\n", st.error().format().c_str());
    return 2;
  }
  const config::Target* target = nullptr;
  for (const auto& t : cfg->targets) {
    if (t.name == name) target = &t;
  }
  const config::Pool* pool = nullptr;
  for (const auto& p : cfg->pools) {
    if (p.name == name) pool = &p;
  }
  if (target == nullptr && pool != nullptr) return probePool(*cfg, *pool);
  if (target == nullptr) {
    std::fprintf(stderr, "vigil: %s: no target or pool named \"%s\"\n", configFile.c_str(),
                 name.c_str());
    return 2;
  }
  bool ok = true;
  for (const auto& h : target->http) {
    const Duration timeout = h.timeout.count() > 0 ? h.timeout : target->timeout;
    ProbeResult r = runHttp(h, timeout);
    print(fmt::format("{} {} {}", target->name, h.method, h.url), r);
    ok = ok && r.success();
  }
  if (target->memory && target->memory->source == config::MemoryCheck::Source::kLocal) {
    ProbeResult r = probeLocalMemory();
    print(fmt::format("{} memory (local /proc)", target->name), r);
    ok = ok && r.success();
  }
  if (target->memory && target->memory->source == config::MemoryCheck::Source::kNodeExporter) {
    ProbeResult r = runNodeExporter(target->memory->nodeExporter, target->timeout);
    print(fmt::format("{} memory (node_exporter {})", target->name, target->memory->nodeExporter),
          r);
    ok = ok && r.success();
  }
  if (target->memory && target->memory->source == config::MemoryCheck::Source::kSsh) {
    const config::SshMemory& ssh = target->memory->ssh;
    ProbeResult r = runSsh(ssh, target->timeout);
    print(fmt::format("{} memory (ssh {}{}:{} `{}`)", target->name,
                      ssh.user.empty() ? "" : ssh.user + "@", ssh.host, ssh.port, ssh.command),
          r);
    ok = ok && r.success();
  }
  if (target->http.empty() && !target->memory) {
    std::printf("%s: nothing to probe\n", target->name.c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace vigil
