#include <catch2/catch.hpp>

#include "agent/app/store_queryable.h"
#include "agent/rules/promql/engine.h"
#include "agent/rules/promql/parser.h"

using vigil::Duration;
using vigil::Labels;

TEST_CASE("PromQL over the series store sees every sample in the window, both ends included") {
  vigil::series::SeriesStore store(vigil::series::SeriesStore::Options{Duration{600'000}, 1024});
  auto a = store.ref(Labels{{"__name__", "req_total"}, {"target", "a"}});
  auto b = store.ref(Labels{{"__name__", "req_total"}, {"target", "b"}});
  for (int i = 0; i <= 10; ++i) {
    store.append(a, i * 10'000, i * 10.0);
    store.append(b, i * 10'000, i * 1.0);
  }
  vigil::StoreQueryable q(store);
  auto m = vigil::promql::Matcher::make(vigil::promql::MatchType::kEqual, "target", "a");
  REQUIRE(m.ok());
  auto n = vigil::promql::Matcher::make(vigil::promql::MatchType::kEqual, "__name__", "req_total");
  auto series = q.select({*n, *m}, 20'000, 50'000);
  REQUIRE(series.size() == 1);
  REQUIRE(series[0].points.size() == 4);
  REQUIRE(series[0].points.front().t == 20'000);
  REQUIRE(series[0].points.back().t == 50'000);

  auto v = vigil::promql::evalInstant("sum(rate(req_total[1m]))", 100'000, q);
  REQUIRE(v.ok());
  const auto& vec = std::get<vigil::promql::Vector>(*v);
  REQUIRE(vec.size() == 1);
  REQUIRE(vec[0].v == Approx(1.1));  // 1/s for a plus 0.1/s for b
}

TEST_CASE("history is kept per metric name, only as far back as rules read") {
  auto parse = [](const char* text) {
    auto e = vigil::promql::parseExpr(text);
    REQUIRE(e.ok());
    return *e;
  };
  auto a = parse("rate(x[10m] offset 1h) > 0 and up == 0");
  auto b = parse("predict_linear(mem[30m], 3600) < 0");
  auto c = parse("foo offset 5m");
  auto d = parse("rate({__name__=~\"req_.*\"}[2m])");
  auto h = vigil::historyNeeded({a.get(), b.get(), c.get(), d.get()});
  const int64_t margin = 60'000;
  REQUIRE(h.byName.at("x") == Duration{70 * 60'000 + margin});
  REQUIRE(h.byName.at("mem") == Duration{30 * 60'000 + margin});
  REQUIRE(h.byName.at("foo") == Duration{(5 + 5) * 60'000 + margin});  // offset + lookback
  REQUIRE(h.byName.count("up") == 0);  // the latest sample is always kept
  REQUIRE(h.fallback == Duration{2 * 60'000 + margin});
  REQUIRE(h.longest() == Duration{70 * 60'000 + margin});
}

TEST_CASE("the store keeps history only for the names that need it") {
  vigil::series::SeriesStore store;
  store.setRetention(Duration{0}, {{"mem", Duration{60'000}}});
  auto mem = store.ref(Labels{{"__name__", "mem"}});
  auto other = store.ref(Labels{{"__name__", "other"}});
  for (int i = 0; i < 120; ++i) {
    store.append(mem, i * 1000, i);
    store.append(other, i * 1000, i);
  }
  auto count = [&](const char* name) {
    size_t n = 0;
    store.visitSeries(name, [&](const vigil::series::SeriesStore::SeriesView& v) {
      v.forEachSample([&](const vigil::series::Sample&) { ++n; });
    });
    return n;
  };
  REQUIRE(count("mem") == 61);
  REQUIRE(count("other") == 1);
}
