// The notifier's decisions per rule evaluation: routing, grouping and the notification log over
// thousands of alerts, fingerprints, and rendering a webhook payload.
//
//   build/test/bench/bench_notify --benchmark_min_time=0.2

#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include "agent/config/loader.h"
#include "exporters/notify/dispatcher.h"

using namespace vigil;
using namespace vigil::notify;

namespace {

constexpr TimestampMs kT0 = 1'795'629'600'000;

config::Alerting tree() {
  auto c = config::parseConfig(R"(alerting:
  receivers:
    - {name: pager, webhook: {url: 'http://127.0.0.1:9/p', format: pagerduty}}
    - {name: chat, webhook: {url: 'http://127.0.0.1:9/s', format: slack}}
    - {name: hook, webhook: {url: 'http://127.0.0.1:9/h'}}
  route:
    receiver: hook
    group_by: [alertname, pool]
    group_wait: 0s
    group_interval: 1m
    routes:
      - {matchers: ['severity="page"'], receiver: pager, continue: true}
      - {matchers: ['severity=~"page|ticket"', 'pool=~"pool-1.*"'], receiver: chat}
)",
                               "bench.yaml", "/tmp");
  if (!c) throw std::runtime_error(c.error().format());
  return c->alerting;
}

/// n alerts over 10 alert names and n/100 pools (about 1000 per group at most), half paging.
std::vector<Alert> alerts(int n) {
  std::vector<Alert> out;
  for (int i = 0; i < n; ++i) {
    Alert a;
    a.labels = {{"alertname", fmt::format("Alert{}", i % 10)},
                {"pool", fmt::format("pool-{}", (i / 10) % std::max(1, n / 100))},
                {"severity", i % 2 == 0 ? "page" : "ticket"},
                {"target", fmt::format("web-{:05}", i)}};
    normalize(a.labels);
    a.annotations = {{"summary", fmt::format("web-{:05} is down", i)}};
    a.startsAt = kT0;
    out.push_back(std::move(a));
  }
  return out;
}

std::unique_ptr<Dispatcher> dispatcher() {
  auto d = Dispatcher::create(tree());
  if (!d) throw std::runtime_error(d.error().format());
  return std::move(*d);
}

// Every evaluation hands the notifier the same firing alerts: the steady state of an incident.
void BM_UpdateUnchanged(benchmark::State& state) {
  auto d = dispatcher();
  auto as = alerts(static_cast<int>(state.range(0)));
  TimestampMs now = kT0;
  d->update(as, now);
  for (auto _ : state) {
    now += 1000;
    benchmark::DoNotOptimize(d->update(as, now));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["groups"] = static_cast<double>(d->groups().size());
}
BENCHMARK(BM_UpdateUnchanged)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

// A new incident: every alert new, every group flushed and rendered at once.
void BM_FirstNotification(benchmark::State& state) {
  auto as = alerts(static_cast<int>(state.range(0)));
  size_t notifications = 0;
  for (auto _ : state) {
    auto d = dispatcher();
    auto out = d->update(as, kT0);
    notifications = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["notifications"] = static_cast<double>(notifications);
}
BENCHMARK(BM_FirstNotification)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_Fingerprint(benchmark::State& state) {
  Labels l{{"alertname", "RedundancyLost"}, {"pool", "devschool"}, {"severity", "page"},
           {"target", "web-02"}, {"team", "web"}};
  for (auto _ : state) benchmark::DoNotOptimize(fingerprint(l));
}
BENCHMARK(BM_Fingerprint);

void BM_RenderAlertmanager(benchmark::State& state) {
  Message m;
  m.receiver = "hook";
  m.groupKey = R"({}:{alertname="Alert0", pool="pool-0"})";
  m.groupLabels = {{"alertname", "Alert0"}, {"pool", "pool-0"}};
  m.alerts = alerts(static_cast<int>(state.range(0)));
  sortAlerts(m.alerts);
  for (auto _ : state) benchmark::DoNotOptimize(renderAlertmanager(m));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RenderAlertmanager)->Arg(10)->Arg(100)->Unit(benchmark::kMicrosecond);

}  // namespace
