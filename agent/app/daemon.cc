#include "agent/app/daemon.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/app/agent.h"
#include "agent/app/config_source.h"
#include "agent/app/notifier.h"
#include "agent/app/rule_runner.h"
#include "agent/app/version.h"
#include "agent/core/log.h"
#include "agent/series/series_store.h"
#include "exporters/notify/alertmanager_push.h"
#include "exporters/web/web_server.h"

namespace vigil {

namespace {

std::string selfUrl(const std::string& listen) {
  // The embedded config probes our own /-/healthy: reach it over loopback whatever we bind.
  auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  std::string port = colon == std::string::npos ? listen : listen.substr(colon + 1);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "[::]") host = "[::1]";
  return "http://" + host + ":" + port;
}

// The agent's external URL, the base of each alert's generatorURL. Like Prometheus without
// --web.external-url: this host's name and the listen port when listening on every address.
std::string externalUrl(const std::string& listen) {
  auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  const std::string port = colon == std::string::npos ? listen : listen.substr(colon + 1);
  if (host.empty() || host == "0.0.0.0" || host == "[::]") {
    char name[256] = {};
    host = gethostname(name, sizeof name - 1) == 0 && name[0] != '\0' ? name : "localhost";
  }
  return "http://" + host + ":" + port;
}

}  // namespace

int runDaemon(const RunOptions& options) {
  // Block the signals we handle before any thread starts, so only sigwait() below sees them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGHUP);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ConfigSource source{options.configFile, options.stateDir, selfUrl(options.listenAddress)};
  if (!options.shard.empty()) {
    if (Status st = parseShard(options.shard, &source.shardIndex, &source.shardCount); !st.ok()) {
      std::fprintf(stderr, "vigil: %s\n", st.error().format().c_str());
      return 2;
    }
  }
  auto loaded = source.load();
  if (!loaded.ok()) {
    std::fprintf(stderr, "vigil: %s\n", loaded.error().format().c_str());
    return 2;
  }
  LoadedConfig first = std::move(loaded).value();
  web::WebConfig webConfig;
  if (!options.webConfigFile.empty()) {
    auto wc = web::loadWebConfig(options.webConfigFile);
    if (!wc.ok()) {
      std::fprintf(stderr, "vigil: %s\n", wc.error().format().c_str());
      return 2;
    }
    webConfig = std::move(wc).value();
    if (webConfig.tls()) {
      std::fprintf(stderr, "vigil: %s: %s\n", options.webConfigFile.c_str(), web::kTlsUnavailable);
      return 2;
    }
  }
  std::shared_ptr<const config::Config> cfg = first.config;
  // The state database: a damaged or unwritable one is a startup error naming the file, never
  // silently replaced (SPEC §6).
  auto db = state::StateDb::open(cfg->global.stateDir);
  if (!db.ok()) {
    std::fprintf(stderr, "vigil: %s\n", db.error().format().c_str());
    return 1;
  }
  const std::string external = externalUrl(options.listenAddress);

  series::SeriesStore store;
  Agent agent(store, SystemClock::instance(),
              Agent::Options{kVersion, buildRevision(), buildDate()});
  agent.apply(cfg);
  agent.recordReload(true);
  RuleRunner rules(store, SystemClock::instance());
  rules.apply(std::move(first.groups), cfg->global.evaluationInterval);
  // The built-in notifier: routing, grouping, the durable outbox, alert states and history.
  Notifier notifier(store, SystemClock::instance(), **db, external);
  if (Status st = notifier.configure(*cfg); !st.ok()) {
    std::fprintf(stderr, "vigil: %s\n", st.error().format().c_str());
    return 2;
  }
  if (size_t n = rules.restore(notifier.restoredAlerts()); n > 0) {
    LOG_INFO("alert states restored from the state database", {"alerts", std::to_string(n)});
  }
  rules.setHooks(
      [&notifier](const std::vector<RuleRunner::ActiveAlert>& alerts, TimestampMs now) {
        notifier.evaluated(alerts, now);
      },
      [&notifier](TimestampMs now) { return notifier.tick(now); });
  rules.setReadyGate([&agent] { return agent.ready(); });
  agent.setObserver(Agent::Observer{[&rules] { rules.samplesArrived(); },
                                    [&notifier](const Agent::ProbeTransition& t) {
                                      notifier.probeTransition(t);
                                    }});
  if (Status st = notifier.start(); !st.ok()) {
    std::fprintf(stderr, "vigil: %s\n", st.error().format().c_str());
    return 1;
  }
  // Alertmanager push (alerting.alertmanagers): Prometheus' notifier, resend delay 1m.
  notify::AlertmanagerPush amPush(&store, SystemClock::instance());
  amPush.configure(cfg->alerting.alertmanagers, cfg->global.externalLabels);
  rules.setAlertSink(
      [&amPush, url = external](const rules::RuleDef& rule,
                                                          std::vector<rules::Alert> alerts) {
        std::vector<notify::PushAlert> out;
        out.reserve(alerts.size());
        for (const auto& a : alerts) out.push_back(notify::toPushAlert(a, rule.exprText, url));
        amPush.send(std::move(out));
      },
      std::chrono::minutes(1));
  amPush.start();
  agent.start();
  rules.start();

  // Reloads come from SIGHUP (main thread) and POST /-/reload (web threads): one at a time.
  std::mutex reloadMu;
  auto reload = [&]() -> Status {
    std::lock_guard lock(reloadMu);
    auto next = source.load();
    if (!next.ok()) {
      LOG_ERROR("reload rejected; the running configuration stays",
                {"err", next.error().format()});
      agent.recordReload(false);
      notifier.reloaded(false, source.describe(), next.error().format());
      return next.error();
    }
    LoadedConfig applied = std::move(next).value();
    if (Status st = notifier.configure(*applied.config); !st.ok()) {
      LOG_ERROR("reload rejected; the running configuration stays", {"err", st.error().format()});
      agent.recordReload(false);
      notifier.reloaded(false, source.describe(), st.error().format());
      return st;
    }
    agent.apply(applied.config);
    rules.apply(std::move(applied.groups), applied.config->global.evaluationInterval);
    amPush.configure(applied.config->alerting.alertmanagers,
                     applied.config->global.externalLabels);
    agent.recordReload(true);
    notifier.reloaded(true, source.describe(), "");
    LOG_INFO("configuration reloaded", {"file", source.describe()});
    return Ok{};
  };

  web::Hooks hooks;
  hooks.ready = [&agent] { return agent.ready(); };
  hooks.checks = [&agent] { return agent.status(); };
  // civetweb's worker threads have small stacks (Debian builds it with a 100 KiB stack): a
  // reload (YAML, rule files, RE2, routing tree) runs on a thread of its own, with a normal one.
  hooks.reload = [&reload]() -> Status {
    Status result = Ok{};
    std::thread t([&] { result = reload(); });
    t.join();
    return result;
  };
  hooks.alertsJson = [&rules] { return rules.alertsJson(); };
  hooks.statusExtras = [&rules, &db] {
    web::StatusExtras x;
    for (const auto& a : rules.activeAlerts()) {
      std::string summary;
      for (const auto& [k, v] : a.alert.annotations) {
        if (k == "summary") summary = v;
      }
      x.alerts.push_back(web::AlertLine{a.rule, rules::toString(a.alert.state),
                                        toString(a.alert.labels), summary, a.alert.activeAt});
    }
    std::sort(x.alerts.begin(), x.alerts.end(), [](const auto& l, const auto& r) {
      return std::tie(l.state, l.activeAt) < std::tie(r.state, r.activeAt);
    });
    const TimestampMs now = SystemClock::instance().nowMs();
    if (auto ev = (*db)->events(now - 24 * 3600'000, now + 1); ev.ok()) {
      for (auto it = ev->rbegin(); it != ev->rend() && x.events.size() < 50; ++it) {
        x.events.push_back(web::EventLine{it->at, it->kind, it->subject, it->from, it->to,
                                          it->detail});
      }
    }
    return x;
  };
  hooks.rulesJson = [&rules] { return rules.rulesJson(); };
  hooks.probe = [&agent](const std::string& url, Duration timeout) {
    config::HttpCheck check;
    check.url = url;
    return agent.probeOnce(check, timeout);
  };
  web::WebServer server(store, hooks,
                        web::Options{options.listenAddress, options.enableLifecycle, 8,
                                     std::move(webConfig)});
  if (Status st = server.start(); !st.ok()) {
    std::fprintf(stderr, "vigil: %s\n", st.error().format().c_str());
    rules.stop();
    amPush.stop();
    agent.stop();
    return 1;
  }
  LOG_INFO("vigil started", {"version", kVersion}, {"config", source.describe()},
           {"shard", options.shard.empty() ? "all" : options.shard},
           {"state_dir", cfg->global.stateDir});

  for (;;) {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) continue;
    if (sig == SIGHUP) {
      (void)reload();
      continue;
    }
    LOG_INFO("shutting down", {"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"});
    break;
  }
  server.stop();
  agent.stop();
  rules.stop();
  notifier.stop();
  amPush.stop();
  LOG_INFO("stopped cleanly");
  return 0;
}

}  // namespace vigil
