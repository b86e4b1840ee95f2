// The per-probe cost inside vigil (recording a result into the store) and the cost of a scrape,
// at the scale the foundation issue asks for (10,000 targets).

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "agent/app/recorder.h"
#include "exporters/metrics/names.h"
#include "exporters/metrics/self_metrics.h"
#include "exporters/metrics/store_collectable.h"

namespace {

vigil::ProbeResult httpResult(int status) {
  vigil::ProbeResult r;
  r.reason = vigil::FailureReason::kNone;
  r.durationSeconds = 0.0012;
  for (const char* phase : {"resolve", "connect", "tls", "processing", "transfer"}) {
    r.samples.push_back({"probe_http_duration_seconds", {{"phase", phase}}, 0.0002});
  }
  r.samples.push_back({"probe_http_status_code", {}, static_cast<double>(status)});
  r.samples.push_back({"probe_http_content_length", {}, 3});
  r.samples.push_back({"probe_http_uncompressed_body_length", {}, 3});
  r.samples.push_back({"probe_http_redirects", {}, 0});
  r.samples.push_back({"probe_http_ssl", {}, 0});
  return r;
}

struct Fleet {
  explicit Fleet(int n) : counters(store, 0) {
    vigil::metrics::describeAll(store);
    targets.resize(n);
    for (int i = 0; i < n; ++i) {
      targets[i].name = "t" + std::to_string(i);
      recorders.push_back(std::make_unique<vigil::CheckRecorder>(
          store, counters, targets[i], "http", "http://127.0.0.1:28000/t/" + std::to_string(i)));
    }
  }
  vigil::series::SeriesStore store;
  vigil::ProbeCounters counters;
  std::vector<vigil::config::Target> targets;
  std::vector<std::unique_ptr<vigil::CheckRecorder>> recorders;
};

void BM_RecordHttpResult(benchmark::State& state) {
  Fleet fleet(static_cast<int>(state.range(0)));
  const auto r = httpResult(200);
  vigil::TimestampMs t = 1'700'000'000'000;
  size_t i = 0;
  for (auto _ : state) {
    fleet.recorders[i]->record(r, ++t);
    if (++i == fleet.recorders.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordHttpResult)->Arg(10'000);

void BM_RenderMetrics(benchmark::State& state) {
  Fleet fleet(static_cast<int>(state.range(0)));
  const auto r = httpResult(200);
  for (auto& rec : fleet.recorders) rec->record(r, 1'700'000'000'000);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = vigil::metrics::renderMetrics(fleet.store);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  const auto st = fleet.store.stats();
  state.counters["series"] = static_cast<double>(st.series);
  state.counters["store_bytes_per_series"] = static_cast<double>(st.bytes) / st.series;
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderMetrics)->Arg(1'000)->Arg(10'000)->Unit(benchmark::kMillisecond);

}  // namespace
