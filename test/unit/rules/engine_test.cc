#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>

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

namespace {

// Prometheus 2.42's linearRegression and kahanSumInc, transcribed literally (branches and all):
// the reference that every code path of the evaluator must match bit for bit.
void refKahanInc(double inc, double& sum, double& c) {
  double t = sum + inc;
  if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}

std::pair<double, double> refLinearRegression(const std::vector<Point>& samples,
                                              TimestampMs interceptTime) {
  double n = 0, sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
  const double initY = samples[0].v;
  bool constY = true;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (constY && i > 0 && samples[i].v != initY) constY = false;
    n += 1.0;
    const double x = static_cast<double>(samples[i].t - interceptTime) / 1e3;
    refKahanInc(x, sumX, cX);
    refKahanInc(samples[i].v, sumY, cY);
    refKahanInc(x * samples[i].v, sumXY, cXY);
    refKahanInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (std::isinf(initY)) return {NAN, NAN};
    return {0, initY};
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const double covXY = sumXY - sumX * sumY / n;
  const double varX = sumX2 - sumX * sumX / n;
  const double slope = covXY / varX;
  return {slope, sumY / n - slope * sumX / n};
}

bool sameBits(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_CASE("deriv/predict_linear regression is bit-identical to Prometheus' on every code path",
          "[promql][engine]") {
  std::mt19937_64 rng(20261125);
  std::uniform_real_distribution<double> unit(0, 1);
  int checked = 0;
  for (int round = 0; round < 2000; ++round) {
    const size_t n = 2 + rng() % 300;
    std::vector<Point> pts;
    TimestampMs t = 1'700'000'000'000 + static_cast<TimestampMs>(rng() % 1'000'000);
    const int shape = round % 5;
    for (size_t i = 0; i < n; ++i) {
      t += 1 + static_cast<TimestampMs>(rng() % 20'000);  // irregular intervals
      double v;
      switch (shape) {
        case 0: v = 8e9 * (0.5 - 1e-4 * i) + unit(rng) * 1e6; break;  // draining memory
        case 1: v = (i % 2 ? 1e15 : 1e-3) * unit(rng); break;  // magnitudes flip every sample
        case 2: v = std::ldexp(unit(rng) - 0.5, static_cast<int>(rng() % 200) - 100); break;
        case 3: v = 42; break;  // constant
        default: v = unit(rng) < 0.02 ? (unit(rng) < 0.5 ? NAN : INFINITY) : unit(rng); break;
      }
      pts.push_back(Point{t, v});
    }
    // As a ring holds them: two runs, split anywhere.
    const size_t split = rng() % (n + 1);
    PointsView view{pts.data(), split, pts.data() + split, n - split};
    if (split == 0) view = PointsView{pts.data(), n, nullptr, 0};
    for (TimestampMs intercept : {pts[0].t, t, t + 3'600'000}) {
      const auto want = refLinearRegression(pts, intercept);
      for (bool avx2 : {false, true}) {
        const auto got = detail::linearRegression(view, intercept, avx2);
        INFO("round " << round << " shape " << shape << " n " << n << " split " << split
                      << " avx2 " << avx2);
        CHECK(sameBits(got.first, want.first));
        CHECK(sameBits(got.second, want.second));
        ++checked;
      }
    }
  }
  CHECK(checked == 2000 * 3 * 2);
}

TEST_CASE("two range functions over one selection give what each gives alone",
          "[promql][engine]") {
  // predict_linear(m[w], 0) / -deriv(m[w]) is evaluated in one pass over the selection; the
  // result must equal the two functions evaluated separately, series by series.
  MemoryStorage s;
  for (int host = 0; host < 5; ++host) {
    auto l = L({{"__name__", "mem"}, {"host", std::to_string(host).c_str()}});
    for (int i = 0; i <= 40; ++i) {
      if (host == 3 && i > 20) break;  // ends early: absent from a later window
      s.append(l, i * 15'000, 1e9 - i * 1e6 * (host + 1) + (i % 3) * 1e5);
    }
    if (host == 4) s.append(l, 41 * 15'000, staleNaN());  // gone stale: no output
  }
  const TimestampMs at = 40 * 15'000;
  auto alone = [&](const std::string& e) {
    std::map<std::string, double> out;
    for (const auto& x : vec(e, at, s)) out[std::string(get(x.labels, "host"))] = x.v;
    return out;
  };
  const auto predicted = alone("predict_linear(mem[5m], 0)");
  const auto slope = alone("deriv(mem[5m])");
  REQUIRE(predicted.size() == 4);
  REQUIRE(slope.size() == 4);
  const auto fused = vec("predict_linear(mem[5m], 0) / -deriv(mem[5m])", at, s);
  REQUIRE(fused.size() == 4);
  for (const auto& x : fused) {
    const std::string host(get(x.labels, "host"));
    INFO(host);
    CHECK(sameBits(x.v, predicted.at(host) / -slope.at(host)));
  }
  // Same selection on both sides with other functions, under parentheses.
  for (const auto& x : vec("(max_over_time(mem[5m])) - min_over_time(mem[5m])", at, s)) {
    CHECK(x.v >= 0);
  }
  CHECK(vec("rate(mem[5m]) - rate(mem[5m])", at, s).size() == 4);
  // A selection that differs (range, offset, matchers) is not shared.
  CHECK(vec("deriv(mem[5m]) / deriv(mem[5m] offset 1m)", at, s).size() == 4);
  CHECK(vec("deriv(mem{host=\"1\"}[5m]) / deriv(mem[5m])", at, s).size() == 1);
}

TEST_CASE("range windows hold exactly the samples in [t - range, t], however irregular",
          "[promql][engine]") {
  // The window's first sample is found by guessing from the timestamps and stepping, with a
  // binary search when the guess is far off: bursts and gaps must not move a bound.
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    MemoryStorage s;
    auto l = L({{"__name__", "x"}});
    std::vector<TimestampMs> ts;
    TimestampMs t = 0;
    const size_t n = 1 + rng() % 400;
    for (size_t i = 0; i < n; ++i) {
      const int kind = static_cast<int>(rng() % 10);
      t += kind == 0 ? 1 : (kind == 1 ? 600'000 + rng() % 600'000 : 5'000 + rng() % 20'000);
      ts.push_back(t);
      s.append(l, t, 1);
    }
    for (int w = 0; w < 20; ++w) {
      const TimestampMs at = static_cast<TimestampMs>(rng() % static_cast<uint64_t>(t + 60'000));
      const int64_t rangeS = 1 + static_cast<int64_t>(rng() % 3600);
      const auto want = std::count_if(ts.begin(), ts.end(), [&](TimestampMs x) {
        return x >= at - rangeS * 1000 && x <= at;
      });
      auto got = vec("count_over_time(x[" + std::to_string(rangeS) + "s])", at, s);
      INFO("round " << round << " at " << at << " range " << rangeS << "s");
      if (want == 0) {
        CHECK(got.empty());
      } else {
        REQUIRE(got.size() == 1);
        CHECK(got[0].v == static_cast<double>(want));
      }
    }
  }
}

TEST_CASE("quantile_over_time equals interpolating over the fully sorted window",
          "[promql][engine]") {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int round = 0; round < 300; ++round) {
    MemoryStorage s;
    auto l = L({{"__name__", "d"}});
    std::vector<double> vals;
    const size_t n = 1 + rng() % 60;
    for (size_t i = 0; i < n; ++i) {
      const int kind = static_cast<int>(rng() % 12);
      const double v = kind == 0 ? NAN : (kind == 1 ? -INFINITY : std::floor(unit(rng) * 20));
      vals.push_back(v);
      s.append(l, static_cast<TimestampMs>(i + 1) * 1000, v);
    }
    std::sort(vals.begin(), vals.end(), [](double a, double b) {
      return a < b || (std::isnan(a) && !std::isnan(b));
    });
    for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 1.0}) {
      const double rank = q * static_cast<double>(n - 1);
      const double lower = std::max(0.0, std::floor(rank));
      const double upper = std::min(static_cast<double>(n - 1), lower + 1);
      const double w = rank - std::floor(rank);
      const double want = vals[static_cast<size_t>(lower)] * (1 - w) + vals[static_cast<size_t>(upper)] * w;
      const double got = single("quantile_over_time(" + formatFloat(q) + ", d[1h])",
                                static_cast<TimestampMs>(n) * 1000, s);
      INFO("round " << round << " q " << q << " n " << n);
      CHECK(sameBits(got, want));
    }
  }
}
