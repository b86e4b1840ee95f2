#include <catch2/catch.hpp>

#include "agent/series/instruments.h"
#include "exporters/metrics/store_collectable.h"

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
  const std::string text = vigil::metrics::renderMetrics(store);
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
