#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "agent/series/instruments.h"

using vigil::Labels;
using namespace vigil::series;

namespace {

std::map<std::string, double> latest(const SeriesStore& store) {
  std::map<std::string, double> out;
  store.visitSeries("", [&](const SeriesStore::SeriesView& v) {
    if (const Sample* s = v.latest(); s && !isStaleNaN(s->v)) out[vigil::toString(v.labels())] = s->v;
  });
  return out;
}

}  // namespace

TEST_CASE("a counter accumulates and writes its total") {
  SeriesStore store;
  StoreCounter c(store, "x_total", Labels{{"code", "200"}});
  c.inc(1000);
  c.inc(2000, 2);
  REQUIRE(c.value() == 3);
  REQUIRE(latest(store)["x_total{code=\"200\"}"] == 3);
}

TEST_CASE("a histogram writes cumulative buckets, sum and count") {
  SeriesStore store;
  StoreHistogram h(store, "lat_seconds", Labels{{"target", "a"}}, {0.1, 1});
  h.observe(1000, 0.05);
  h.observe(2000, 0.5);
  h.observe(3000, 5);
  auto m = latest(store);
  REQUIRE(m["lat_seconds_bucket{le=\"0.1\", target=\"a\"}"] == 1);
  REQUIRE(m["lat_seconds_bucket{le=\"1\", target=\"a\"}"] == 2);
  REQUIRE(m["lat_seconds_bucket{le=\"+Inf\", target=\"a\"}"] == 3);
  REQUIRE(m["lat_seconds_count{target=\"a\"}"] == 3);
  REQUIRE(m["lat_seconds_sum{target=\"a\"}"] == Approx(5.55));
}

TEST_CASE("destroying an instrument makes its series stale") {
  SeriesStore store;
  {
    StoreCounter c(store, "x_total", Labels{});
    c.inc(1000);
    REQUIRE(latest(store).size() == 1);
  }
  REQUIRE(latest(store).empty());
}

TEST_CASE("moving an instrument keeps one owner") {
  SeriesStore store;
  StoreCounter a(store, "x_total", Labels{});
  a.inc(1000);
  StoreCounter b(std::move(a));
  b.inc(2000);
  REQUIRE(b.value() == 2);
  REQUIRE(latest(store)["x_total{}"] == 2);
}

TEST_CASE("bounds format like Prometheus") {
  REQUIRE(formatBound(0.005) == "0.005");
  REQUIRE(formatBound(1) == "1");
  REQUIRE(formatBound(2.5) == "2.5");
  REQUIRE(formatBound(INFINITY) == "+Inf");
}
