#include <catch2/catch.hpp>

#include "agent/series/instruments.h"
#include "exporters/metrics/store_collectable.h"
#include "probes/parsers/exposition.h"

#include <cmath>
#include <set>
#include <tuple>

using vigil::Labels;
using namespace vigil::series;

TEST_CASE("the store renders as Prometheus text, histograms joined back together") {
  SeriesStore store;
  store.describe("probe_success", MetricType::kGauge, "Displays whether or not the probe was a success");
  store.describe("lat_seconds", MetricType::kHistogram, "Latency");
  store.describe("x_total", MetricType::kCounter, "Things");
  auto r = store.ref(Labels{{"__name__", "probe_success"}, {"target", "web-01"},
                            {"url", "http://web-01/\"q\""}});
  store.append(r, 1000, 1);
  StoreHistogram h(store, "lat_seconds", Labels{{"target", "web-01"}}, {0.5});
  h.observe(1000, 0.25);
  StoreCounter c(store, "x_total", Labels{{"code", "500"}});
  c.inc(1000, 3);
  const std::string text = vigil::metrics::renderMetricsWithPrometheusCpp(store);
  REQUIRE(text ==
          "# HELP lat_seconds Latency\n"
          "# TYPE lat_seconds histogram\n"
          "lat_seconds_count{target=\"web-01\"} 1\n"
          "lat_seconds_sum{target=\"web-01\"} 0.25\n"
          "lat_seconds_bucket{target=\"web-01\",le=\"0.5\"} 1\n"
          "lat_seconds_bucket{target=\"web-01\",le=\"+Inf\"} 1\n"
          "# HELP probe_success Displays whether or not the probe was a success\n"
          "# TYPE probe_success gauge\n"
          "probe_success{target=\"web-01\",url=\"http://web-01/\\\"q\\\"\"} 1\n"
          "# HELP x_total Things\n"
          "# TYPE x_total counter\n"
          "x_total{code=\"500\"} 3\n");
}

TEST_CASE("series whose owner went away are not exported") {
  SeriesStore store;
  {
    StoreCounter c(store, "x_total", Labels{});
    c.inc(1000);
  }
  REQUIRE(vigil::metrics::renderMetrics(store).empty());
}

namespace {

// Samples and metadata of an exposition, order-free, for comparing two renderings.
std::pair<std::set<std::tuple<std::string, std::string, double>>,
          std::set<std::tuple<std::string, std::string, std::string>>>
parsed(const std::string& text) {
  auto e = vigil::parsers::parseExposition(text);
  REQUIRE(e.ok());
  std::set<std::tuple<std::string, std::string, double>> samples;
  for (const auto& s : e->samples) samples.emplace(s.name, vigil::toString(s.labels), s.value);
  std::set<std::tuple<std::string, std::string, std::string>> meta;
  for (const auto& [name, m] : e->metadata) {
    meta.emplace(name, std::string(vigil::parsers::toString(m.type)), m.help.value_or(""));
  }
  return {samples, meta};
}

}  // namespace

TEST_CASE("the fast renderer says exactly what prometheus-cpp's serializer says") {
  SeriesStore store;
  store.describe("g", MetricType::kGauge, "a gauge");
  store.describe("lat_seconds", MetricType::kHistogram, "Latency");
  store.describe("c_total", MetricType::kCounter, "Counts");
  auto values = GENERATE(0.0, 1.0, -2.5, 1e-9, 123456789.125, 4.1e-05, INFINITY, -INFINITY);
  auto g = store.ref(Labels{{"__name__", "g"}, {"a", "x\"y\\z\nw"}, {"b", "2"}});
  store.append(g, 1000, values);
  auto u = store.ref(Labels{{"__name__", "untyped_thing"}});
  store.append(u, 1000, values);
  StoreHistogram h(store, "lat_seconds", Labels{{"target", "t"}}, {0.005, 0.5, 10});
  h.observe(1000, 0.25);
  h.observe(1001, 20);
  StoreCounter c(store, "c_total", Labels{{"code", "200"}});
  c.inc(1000, 7);
  const auto fast = vigil::metrics::renderMetrics(store);
  const auto reference = vigil::metrics::renderMetricsWithPrometheusCpp(store);
  CAPTURE(fast, reference);
  REQUIRE(parsed(fast) == parsed(reference));
}

TEST_CASE("HELP text is escaped (prometheus-cpp's serializer does not, so this is ours alone)") {
  SeriesStore store;
  store.describe("g", MetricType::kGauge, "back\\slash\nnewline");
  auto g = store.ref(Labels{{"__name__", "g"}});
  store.append(g, 1000, 1);
  REQUIRE(vigil::metrics::renderMetrics(store) ==
          "# HELP g back\\\\slash\\nnewline\n# TYPE g gauge\ng 1\n");
}
