#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "agent/app/store_queryable.h"
#include "agent/rules/promql/engine.h"
#include "agent/rules/promql/parser.h"
#include "agent/rules/promql/storage.h"

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

TEST_CASE("the store's read session evaluates like an in-memory storage with the same samples") {
  // Same series in the store and in a MemoryStorage (which goes through the copying session):
  // every expression must give the same labels and values, in the same order.
  vigil::series::SeriesStore store(vigil::series::SeriesStore::Options{Duration{900'000}, 1024});
  vigil::promql::MemoryStorage mem;
  auto add = [&](const Labels& l, int64_t t, double v) {
    Labels n = l;
    vigil::normalize(n);
    store.append(store.ref(n), t, v);
    mem.append(n, t, v);
  };
  const char* les[] = {"0.1", "0.5", "1", "+Inf"};
  for (int i = 0; i <= 60; ++i) {
    const int64_t t = i * 10'000;
    for (int target = 0; target < 12; ++target) {
      const std::string name = "web-" + std::to_string(target);
      const std::string pool = "pool-" + std::to_string(target % 3);
      add({{"__name__", "req_total"}, {"target", name}, {"pool", pool}, {"code", "200"}}, t,
          i * (target + 1.0));
      add({{"__name__", "req_total"}, {"target", name}, {"pool", pool}, {"code", "500"}}, t,
          (i / 7) * (target % 4));
      add({{"__name__", "mem_avail"}, {"target", name}, {"Zone", "a"}}, t,
          1e9 - i * 1e6 * (target % 5));
      for (int b = 0; b < 4; ++b) {
        add({{"__name__", "lat_bucket"}, {"target", name}, {"le", les[b]}}, t,
            i * (b + 1.0) * (target + 1));
      }
      // One target stops reporting memory halfway through: a staleness marker.
      if (target == 11 && i == 30) {
        add({{"__name__", "mem_avail"}, {"target", name}, {"Zone", "a"}}, t + 1,
            vigil::promql::staleNaN());
      }
    }
  }
  const char* exprs[] = {
      "req_total",
      "req_total{code=~\"5..\"}",
      "req_total{code!=\"200\", pool=~\"pool-[01]\"}",
      "sum without (code) (rate(req_total[1m]))",
      "sum by (pool) (rate(req_total[5m])) > 0.5",
      ("rate(req_total{code=\"500\"}[5m]) / on (target, pool) group_left () "
       "sum by (target, pool) (rate(req_total[5m]))"),
      "histogram_quantile(0.9, rate(lat_bucket[5m]))",
      "predict_linear(mem_avail[10m], 3600) / -deriv(mem_avail[10m])",
      "mem_avail < 0.95e9 and on (target) req_total{code=\"500\"} > 0",
      "topk(3, mem_avail) or bottomk(2, req_total)",
      "count by (pool) (req_total unless req_total{code=\"500\"})",
      "absent(nothing{target=\"x\"})",
      "mem_avail - 1",
      "increase(lat_bucket{le=\"+Inf\"}[5m] offset 2m)",
      "last_over_time(mem_avail[5m])",
      // Windows that hold target 11's staleness marker and windows that start after it (the
      // store tells the evaluator where its newest marker is, so those skip looking).
      "count_over_time(mem_avail[10m])",
      "count_over_time(mem_avail[2m])",
      "sum_over_time(mem_avail{target=\"web-11\"}[150s])",
  };
  vigil::StoreQueryable q(store);
  for (const int64_t t : {300'000, 450'000, 600'000}) {
    for (const char* e : exprs) {
      INFO(e << " at " << t);
      auto a = vigil::promql::evalInstant(e, t, q);
      auto b = vigil::promql::evalInstant(e, t, mem);
      REQUIRE(a.ok());
      REQUIRE(b.ok());
      const auto& va = std::get<vigil::promql::Vector>(*a);
      const auto& vb = std::get<vigil::promql::Vector>(*b);
      REQUIRE(va.size() == vb.size());
      for (size_t i = 0; i < va.size(); ++i) {
        REQUIRE(va[i].labels == vb[i].labels);
        if (std::isnan(vb[i].v)) {
          REQUIRE(std::isnan(va[i].v));
        } else {
          REQUIRE(va[i].v == vb[i].v);
        }
      }
    }
  }
  // Errors come out the same way too, naming the same series.
  for (const char* e : {"req_total + on (target) mem_avail", "mem_avail + on (target) req_total"}) {
    INFO(e);
    auto a = vigil::promql::evalInstant(e, 300'000, q);
    auto b = vigil::promql::evalInstant(e, 300'000, mem);
    REQUIRE_FALSE(a.ok());
    REQUIRE_FALSE(b.ok());
    REQUIRE(a.error().message == b.error().message);
  }
  auto dup = vigil::promql::evalInstant("mem_avail + on (target) req_total", 300'000, q);
  REQUIRE_THAT(dup.error().message, Catch::Contains("many-to-many matching not allowed"));
}
