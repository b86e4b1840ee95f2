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

TEST_CASE("rules need their longest range plus offset plus the 5m lookback") {
  auto e1 = vigil::promql::parseExpr("rate(x[10m] offset 1h)");
  auto e2 = vigil::promql::parseExpr("up == 0");
  REQUIRE(e1.ok());
  REQUIRE(e2.ok());
  REQUIRE(vigil::historyNeeded({e2->get()}) == Duration{300'000});
  REQUIRE(vigil::historyNeeded({e1->get(), e2->get()}) == Duration{(70 + 5) * 60'000});
}
