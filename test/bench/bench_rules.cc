// The default rule pack (etc/rules/vigil-default.yaml) evaluated over 10,000 targets' series in
// the agent's own store, with the history the pack's range selectors need.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <vector>

#include "agent/app/recorder.h"
#include "agent/app/store_queryable.h"
#include "agent/rules/alerting.h"
#include "agent/rules/promql/engine.h"
#include "agent/rules/promql/parser.h"
#include "exporters/metrics/self_metrics.h"

namespace {

constexpr int kTargets = 10'000;
constexpr vigil::TimestampMs kStart = 1'700'000'000'000;
constexpr int64_t kIntervalMs = 10'000;
constexpr int kRounds = 31 * 6;  // 31 minutes of samples: the pack's longest window is 30m

vigil::ProbeResult httpResult(int round) {
  vigil::ProbeResult r;
  r.reason = vigil::FailureReason::kNone;
  r.durationSeconds = 0.002 + (round % 7) * 0.0005;
  r.samples.push_back({"probe_http_status_code", {}, 200});
  return r;
}

vigil::ProbeResult memoryResult(int target, int round) {
  vigil::ProbeResult r;
  r.reason = vigil::FailureReason::kNone;
  const double total = 8.0 * (1 << 30);
  r.samples.push_back({"node_memory_MemTotal_bytes", {}, total});
  r.samples.push_back({"node_memory_MemAvailable_bytes", {}, total * (0.5 - 0.0001 * round) +
                                                                 (target % 13) * 1e6});
  r.samples.push_back({"node_vmstat_oom_kill", {}, 0});
  return r;
}

struct Fixture {
  Fixture() : counters(store, kStart) {
    vigil::metrics::describeAll(store);
    auto loaded = vigil::rules::loadRuleGroups({VIGIL_SOURCE_DIR "/etc/rules/vigil-default.yaml"});
    if (!loaded.ok()) throw std::runtime_error(loaded.error().format());
    groups = std::move(loaded).value();
    std::vector<const vigil::promql::Expr*> exprs;
    for (const auto& g : groups) {
      for (const auto& r : g.def().rules) exprs.push_back(r.expr.get());
    }
    auto history = vigil::historyNeeded(exprs);
    store.setRetention(history.fallback, std::move(history.byName));
    targets.resize(kTargets);
    for (int i = 0; i < kTargets; ++i) {
      targets[i].name = "web-" + std::to_string(i);
      targets[i].pool = "pool-" + std::to_string(i / 2);
      http.push_back(std::make_unique<vigil::CheckRecorder>(
          store, counters, targets[i], "http", "http://10.0.0.1/" + std::to_string(i)));
      memory.push_back(std::make_unique<vigil::CheckRecorder>(store, counters, targets[i],
                                                              "memory", ""));
    }
    for (int round = 0; round < kRounds; ++round) {
      const vigil::TimestampMs t = kStart + round * kIntervalMs;
      const auto h = httpResult(round);
      for (int i = 0; i < kTargets; ++i) {
        http[i]->record(h, t + i);
        memory[i]->record(memoryResult(i, round), t + i);
      }
    }
    now = kStart + kRounds * kIntervalMs;
    // The first evaluation after series appear also sorts each metric's series by labels (kept
    // until the set of series changes); measure it once, apart from the steady state.
    const vigil::StoreQueryable q(store);
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& g : groups) g.eval(now, q);
    firstEvalMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                      .count();
  }
  vigil::series::SeriesStore store;
  vigil::ProbeCounters counters;
  std::vector<vigil::config::Target> targets;
  std::vector<std::unique_ptr<vigil::CheckRecorder>> http, memory;
  std::vector<vigil::rules::RuleGroup> groups;
  vigil::TimestampMs now = 0;
  double firstEvalMs = 0;
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_DefaultPack10kTargets(benchmark::State& state) {
  Fixture& f = fixture();
  const vigil::StoreQueryable q(f.store);
  size_t failures = 0;
  // PACK_REPEAT=N evaluates the pack N times per iteration, for a profiler.
  const char* repeat = std::getenv("PACK_REPEAT");
  const int n = repeat != nullptr ? std::max(1, std::atoi(repeat)) : 1;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) {
      for (auto& g : f.groups) failures += g.eval(f.now, q).failures.size();
    }
  }
  const auto st = f.store.stats();
  state.counters["series"] = static_cast<double>(st.series);
  state.counters["samples"] = static_cast<double>(st.samples);
  state.counters["store_MiB"] = static_cast<double>(st.bytes) / (1 << 20);
  state.counters["bytes_per_sample"] = static_cast<double>(st.bytes) / st.samples;
  state.counters["failures"] = static_cast<double>(failures);
  state.counters["first_eval_ms"] = f.firstEvalMs;
}
BENCHMARK(BM_DefaultPack10kTargets)->Unit(benchmark::kMillisecond)->Iterations(5);

// Each rule's expression alone, to see what dominates an evaluation.
void BM_EachRule(benchmark::State& state) {
  Fixture& f = fixture();
  const vigil::StoreQueryable q(f.store);
  std::vector<const vigil::rules::RuleDef*> rules;
  for (const auto& g : f.groups) {
    for (const auto& r : g.def().rules) rules.push_back(&r);
  }
  const auto i = static_cast<size_t>(state.range(0));
  if (i >= rules.size()) {
    state.SkipWithError("no such rule");
    return;
  }
  size_t elements = 0;
  for (auto _ : state) {
    auto v = vigil::promql::evalInstant(*rules[i]->expr, f.now, q);
    if (!v) {
      state.SkipWithError(v.error().message.c_str());
      return;
    }
    if (auto* vec = std::get_if<vigil::promql::Vector>(&*v)) elements = vec->size();
  }
  state.SetLabel(rules[i]->name);
  state.counters["result"] = static_cast<double>(elements);
}
BENCHMARK(BM_EachRule)->DenseRange(0, 11)->Unit(benchmark::kMillisecond)->Iterations(3);

// Any expression over the same series, to take a rule apart: EXPR='count(rate(x[5m]))'
// bench_rules --benchmark_filter=BM_Expr (wrap in count() to leave out turning a large result's
// labels into strings).
void BM_Expr(benchmark::State& state) {
  const char* text = std::getenv("EXPR");
  if (text == nullptr) {
    state.SkipWithError("set EXPR to the expression to evaluate");
    return;
  }
  auto e = vigil::promql::parseExpr(text);
  if (!e) {
    state.SkipWithError(e.error().message.c_str());
    return;
  }
  Fixture& f = fixture();
  const vigil::StoreQueryable q(f.store);
  // EXPR_REPEAT=N evaluates N times per iteration, so that a profiler sees mostly evaluation.
  const char* repeat = std::getenv("EXPR_REPEAT");
  const int n = repeat != nullptr ? std::max(1, std::atoi(repeat)) : 1;
  for (auto _ : state) {
    for (int i = 0; i < n; ++i) {
      auto v = vigil::promql::evalInstant(**e, f.now, q);
      benchmark::DoNotOptimize(v);
    }
  }
}
BENCHMARK(BM_Expr)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
