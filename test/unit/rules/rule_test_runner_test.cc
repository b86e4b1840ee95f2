#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "agent/rules/promql/value.h"
#include "agent/rules/rule_test_runner.h"

using namespace vigil;
using namespace vigil::rules;

TEST_CASE("series value notation expands like promtool", "[rules][runner]") {
  auto r = expandSeriesValues("1+2x3 _ stale -1x1 _x2 5 1e2-10x1", 60'000);
  REQUIRE(r.ok());
  const auto& p = *r;
  REQUIRE(p.size() == 10);
  CHECK(p[0].t == 0);
  CHECK(p[3].v == 7);
  CHECK(p[3].t == 180'000);
  CHECK(promql::isStaleNaN(p[4].v));
  CHECK(p[4].t == 300'000);
  CHECK(p[5].v == -1);
  CHECK(p[6].v == -1);
  CHECK(p[7].t == 600'000);
  CHECK(p[7].v == 5);
  CHECK(p[8].v == 100);
  CHECK(p[9].v == 90);
  CHECK_FALSE(expandSeriesValues("abc", 1000).ok());
  CHECK_FALSE(expandSeriesValues("1+2", 1000).ok());
}

namespace {
std::string writeTemp(const std::string& name, const std::string& content) {
  std::string path = "/tmp/vigil_unit_rules_" + name;
  std::ofstream(path) << content;
  return path;
}
}  // namespace

TEST_CASE("runRuleTests exit codes and output", "[rules][runner]") {
  std::string good = writeTemp("good.yaml", R"(tests:
  - input_series:
      - series: 'x{a="b"}'
        values: '1 2 3'
    promql_expr_test:
      - expr: x * 2
        eval_time: 2m
        exp_samples:
          - labels: '{a="b"}'
            value: 6
)");
  std::string failing = writeTemp("bad_value.yaml", R"(tests:
  - input_series:
      - series: 'x{a="b"}'
        values: '1 2 3'
    promql_expr_test:
      - expr: x
        eval_time: 2m
        exp_samples:
          - labels: 'x{a="b"}'
            value: 4
)");
  std::string broken = writeTemp("broken.yaml", "tests: [\n");
  std::ostringstream out, err;
  CHECK(runRuleTests({good}, out, err) == 0);
  CHECK(out.str() == "Unit Testing:  " + good + "\n  SUCCESS\n\n");
  out.str("");
  CHECK(runRuleTests({good, failing}, out, err) == 1);
  CHECK(err.str().find("exp: {__name__=\"x\", a=\"b\"} 4E+00") != std::string::npos);
  CHECK(err.str().find("got: {__name__=\"x\", a=\"b\"} 3E+00") != std::string::npos);
  CHECK(runRuleTests({broken}, out, err) == 2);
  CHECK(runRuleTests({"/nonexistent.yaml"}, out, err) == 2);
  std::remove(good.c_str());
  std::remove(failing.c_str());
  std::remove(broken.c_str());
}
