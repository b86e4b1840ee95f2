#include <catch2/catch.hpp>

#include <cmath>

#include "agent/rules/promql/engine.h"
#include "agent/rules/promql/parser.h"
#include "agent/rules/promql/storage.h"

using namespace vigil;
using namespace vigil::promql;

namespace {

Labels L(std::initializer_list<std::pair<const char*, const char*>> kv) {
  Labels l;
  for (const auto& [k, v] : kv) l.push_back(Label{k, v});
  normalize(l);
  return l;
}

constexpr int64_t kMin = 60'000;

/// Evaluates and returns the vector, failing the test on errors or other types.
Vector vec(const std::string& expr, TimestampMs t, const Queryable& q) {
  auto r = evalInstant(expr, t, q);
  INFO(expr);
  REQUIRE(r.ok());
  REQUIRE(std::holds_alternative<Vector>(*r));
  return std::get<Vector>(*r);
}

double single(const std::string& expr, TimestampMs t, const Queryable& q) {
  auto v = vec(expr, t, q);
  INFO(expr);
  REQUIRE(v.size() == 1);
  return v[0].v;
}

}  // namespace

TEST_CASE("instant selector lookback includes exactly 5m and stops at stale markers",
          "[promql][engine]") {
  MemoryStorage s;
  s.append(L({{"__name__", "g"}}), 0, 7);
  CHECK(single("g", 5 * kMin, s) == 7);
  CHECK(vec("g", 5 * kMin + 1, s).empty());
  s.append(L({{"__name__", "g"}}), kMin, staleNaN());
  CHECK(vec("g", 2 * kMin, s).empty());
  CHECK(isStaleNaN(staleNaN()));
  CHECK_FALSE(isStaleNaN(NAN));
}

TEST_CASE("rate extrapolates like Prometheus", "[promql][engine]") {
  MemoryStorage s;
  auto l = L({{"__name__", "c"}, {"job", "x"}});
  // 0+60x10 at 1m: a perfect 1/s counter.
  for (int i = 0; i <= 10; ++i) s.append(l, i * kMin, 60.0 * i);
  CHECK(single("rate(c[5m])", 10 * kMin, s) == Approx(1.0));
  CHECK(single("increase(c[5m])", 10 * kMin, s) == Approx(300.0));
  // Counter reset: the value before the reset is added back.
  MemoryStorage r;
  auto rl = L({{"__name__", "c"}});
  double vals[] = {100, 160, 220, 10, 70, 130};
  for (int i = 0; i < 6; ++i) r.append(rl, i * kMin, vals[i]);
  CHECK(single("increase(c[5m])", 5 * kMin, r) == Approx(250.0));
  CHECK(single("resets(c[5m])", 5 * kMin, r) == 1);
  CHECK(vec("rate(c[30s])", 5 * kMin, r).empty());  // one sample: no rate
}

TEST_CASE("binary operators, matching and errors", "[promql][engine]") {
  MemoryStorage s;
  s.append(L({{"__name__", "a"}, {"i", "1"}}), 0, 6);
  s.append(L({{"__name__", "a"}, {"i", "2"}}), 0, 8);
  s.append(L({{"__name__", "b"}, {"i", "1"}}), 0, 2);
  s.append(L({{"__name__", "b"}, {"i", "2"}}), 0, 4);
  s.append(L({{"__name__", "one"}}), 0, 10);

  auto v = vec("a / b", 0, s);
  REQUIRE(v.size() == 2);
  CHECK(get(v[0].labels, "__name__").empty());
  CHECK(vec("a > 7", 0, s).size() == 1);
  CHECK(get(vec("a > 7", 0, s)[0].labels, "__name__") == "a");
  auto vb = vec("a > bool on(i) b * 4", 0, s);
  CHECK(vb.size() == 2);
  CHECK(vec("a and on(i) b{i=\"2\"}", 0, s).size() == 1);
  CHECK(vec("a unless on(i) b{i=\"2\"}", 0, s).size() == 1);
  CHECK(vec("a or one", 0, s).size() == 3);

  auto err = evalInstant("a + on() b", 0, s);
  REQUIRE_FALSE(err.ok());
  CHECK(err.error().message.find("many-to-many matching not allowed") != std::string::npos);
  auto dup = evalInstant("a + on() group_left one", 0, s);
  REQUIRE(dup.ok());
  auto many = evalInstant("abs({__name__=~\"a|b\"})", 0, s);
  REQUIRE_FALSE(many.ok());
  CHECK(many.error().message == "vector cannot contain metrics with the same labelset");
}

TEST_CASE("scalars, aggregations and functions", "[promql][engine]") {
  MemoryStorage s;
  for (int i = 1; i <= 4; ++i) {
    s.append(L({{"__name__", "m"}, {"i", std::to_string(i).c_str()}, {"g", i % 2 ? "odd" : "even"}}),
             0, i);
  }
  auto sc = evalInstant("1 + 2 * 3 ^ 2", 0, s);
  REQUIRE(sc.ok());
  CHECK(std::get<Scalar>(*sc).v == 19);
  CHECK(single("sum(m)", 0, s) == 10);
  CHECK(vec("sum by (g) (m)", 0, s).size() == 2);
  CHECK(single("avg(m)", 0, s) == 2.5);
  CHECK(single("count(m)", 0, s) == 4);
  CHECK(single("quantile(0.5, m)", 0, s) == 2.5);
  auto top = vec("topk(2, m)", 0, s);
  REQUIRE(top.size() == 2);
  CHECK(top[0].v == 4);
  CHECK(get(top[0].labels, "__name__") == "m");
  CHECK(single("clamp(m{i=\"4\"}, 0, 3)", 0, s) == 3);
  CHECK(vec("clamp(m, 3, 0)", 0, s).empty());
  auto t = evalInstant("time()", 90'000, s);
  REQUIRE(t.ok());
  CHECK(std::get<Scalar>(*t).v == 90);
  auto ab = vec("absent(nope{job=\"x\", inst=~\"y\"})", 0, s);
  REQUIRE(ab.size() == 1);
  CHECK(toString(ab[0].labels) == toString(L({{"job", "x"}})));
  auto sn = evalInstant("scalar(m)", 0, s);
  REQUIRE(sn.ok());
  CHECK(std::isnan(std::get<Scalar>(*sn).v));
}

TEST_CASE("histogram_quantile interpolates within buckets", "[promql][engine]") {
  MemoryStorage s;
  s.append(L({{"__name__", "h_bucket"}, {"le", "1"}}), 0, 50);
  s.append(L({{"__name__", "h_bucket"}, {"le", "2"}}), 0, 100);
  s.append(L({{"__name__", "h_bucket"}, {"le", "+Inf"}}), 0, 100);
  CHECK(single("histogram_quantile(0.75, h_bucket)", 0, s) == 1.5);
  CHECK(single("histogram_quantile(0.25, h_bucket)", 0, s) == 0.5);
}

TEST_CASE("Go float formatting", "[promql][format]") {
  CHECK(formatFloat(1) == "1");
  CHECK(formatFloat(0.5) == "0.5");
  CHECK(formatFloat(1e6) == "1e+06");
  CHECK(formatFloat(123456) == "123456");
  CHECK(formatFloat(1234567) == "1.234567e+06");
  CHECK(formatFloat(0.0001) == "0.0001");
  CHECK(formatFloat(0.00001) == "1e-05");
  CHECK(formatFloat(-2.5) == "-2.5");
  CHECK(formatFloat(INFINITY) == "+Inf");
  CHECK(formatFloat(NAN) == "NaN");
  CHECK(formatFloatG(1234.5678, 4) == "1235");
  CHECK(formatFloatG(0.000123, 4) == "0.000123");
  CHECK(parseGoFloat("+Inf").value() == INFINITY);
  CHECK(parseGoFloat("1e3").value() == 1000);
  CHECK_FALSE(parseGoFloat(" 1").has_value());
  CHECK_FALSE(parseGoFloat("abc").has_value());
}
