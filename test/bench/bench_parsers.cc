// Micro-benchmarks of the probe-side parsers on real inputs: a node_exporter /metrics page (the
// memory probe's node_exporter mode parses one per probe) and HAProxy 2.6 stats CSV (the load
// balancer probe). Figures, not pass/fail: see DESIGN.md "Tests".
//
// The inputs are the unit tests' fixtures, found through VIGIL_PARSERS_FIXTURES when the build
// defines it and otherwise relative to the source tree.

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "probes/memory_samples.h"
#include "probes/parsers/exposition.h"
#include "probes/parsers/haproxy_csv.h"
#include "probes/parsers/meminfo.h"

#ifndef VIGIL_PARSERS_FIXTURES
#define VIGIL_PARSERS_FIXTURES "test/unit/parsers/fixtures"
#endif

namespace {

std::string fixture(const char* name) {
  std::ifstream in(std::string(VIGIL_PARSERS_FIXTURES) + "/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void BM_ExpositionNodeExporter(benchmark::State& state) {
  const std::string page = fixture("node_exporter.prom");
  if (page.empty()) {
    state.SkipWithError("node_exporter.prom fixture not found");
    return;
  }
  size_t samples = 0;
  for (auto _ : state) {
    auto r = vigil::parsers::parseExposition(page);
    if (!r.ok()) {
      state.SkipWithError(r.error().format().c_str());
      return;
    }
    samples = r->samples.size();
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * page.size()));
  state.counters["samples"] = static_cast<double>(samples);
}
BENCHMARK(BM_ExpositionNodeExporter);

// What the node_exporter memory probe does per scrape: parse, then pick the memory series.
void BM_MemorySamplesFromNodeExporter(benchmark::State& state) {
  const std::string page = fixture("node_exporter.prom");
  for (auto _ : state) {
    auto r = vigil::parsers::parseExposition(page);
    if (!r.ok()) {
      state.SkipWithError("parse failed");
      return;
    }
    auto mem = vigil::memorySamplesFromExposition(r->samples);
    benchmark::DoNotOptimize(mem);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * page.size()));
}
BENCHMARK(BM_MemorySamplesFromNodeExporter);

void BM_HaproxyCsv(benchmark::State& state) {
  const std::string csv = fixture("haproxy_track_backup.csv");
  if (csv.empty()) {
    state.SkipWithError("haproxy_track_backup.csv fixture not found");
    return;
  }
  for (auto _ : state) {
    auto r = vigil::parsers::parseHaproxyCsv(csv);
    if (!r.ok()) {
      state.SkipWithError(r.error().format().c_str());
      return;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * csv.size()));
}
BENCHMARK(BM_HaproxyCsv);

// A load balancer with many servers: the real CSV's server rows repeated under new names,
// to show that parsing stays linear in the number of rows.
void BM_HaproxyCsvManyServers(benchmark::State& state) {
  const std::string real = fixture("haproxy_track_backup.csv");
  const size_t headerEnd = real.find('\n');
  std::string serverRow;
  for (size_t pos = headerEnd + 1; pos < real.size();) {
    size_t end = real.find('\n', pos);
    if (end == std::string::npos) end = real.size();
    std::string line = real.substr(pos, end - pos);
    if (line.rfind("devschool-web,web-01,", 0) == 0) serverRow = line.substr(20);
    pos = end + 1;
  }
  std::string csv = real.substr(0, headerEnd + 1);
  for (int64_t i = 0; i < state.range(0); ++i) {
    csv += "devschool-web,web-" + std::to_string(i) + serverRow + "\n";
  }
  for (auto _ : state) {
    auto r = vigil::parsers::parseHaproxyCsv(csv);
    if (!r.ok() || r->size() != static_cast<size_t>(state.range(0))) {
      state.SkipWithError("parse failed");
      return;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * csv.size()));
}
BENCHMARK(BM_HaproxyCsvManyServers)->Arg(100)->Arg(1000);

void BM_MeminfoVmstat(benchmark::State& state) {
  const std::string text = fixture("meminfo_vmstat_real.txt");
  for (auto _ : state) {
    auto r = vigil::parsers::parseMeminfoVmstat(text);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_MeminfoVmstat);

}  // namespace

BENCHMARK_MAIN();
