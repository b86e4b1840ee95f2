#include "probes/parsers/exposition.h"

#include <cmath>
#include <set>

#include <catch2/catch.hpp>

#include "test/unit/parsers/fixtures.h"

using vigil::Labels;
using vigil::parsers::Exposition;
using vigil::parsers::MetricType;
using vigil::parsers::nodeMemorySeries;
using vigil::parsers::parseExposition;
using vigil::parsers::Sample;

namespace {

// By value: callers pass a temporary Result.
Sample only(const vigil::Result<Exposition>& r) {
  REQUIRE(r.ok());
  REQUIRE(r->samples.size() == 1);
  return r->samples.front();
}

}  // namespace

TEST_CASE("parseExposition reads names, labels, values and timestamps") {
  auto r = parseExposition(
      "# HELP http_requests_total The total number of HTTP requests.\n"
      "# TYPE http_requests_total counter\n"
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
      "\n"
      "# A normal comment.\n"
      "metric_without_timestamp_and_labels 12.47\n"
      "rpc_duration_seconds{quantile=\"0.99\"} 76656\n"
      "something_weird{problem=\"division by zero\"} +Inf -3982045\n");
  REQUIRE(r.ok());
  REQUIRE(r->samples.size() == 5);
  const Sample& s = r->samples[0];
  CHECK(s.name == "http_requests_total");
  CHECK(s.labels == Labels{{"code", "200"}, {"method", "post"}});
  CHECK(s.value == 1027);
  CHECK(s.timestampMs == 1395066363000);
  CHECK(r->samples[2].labels.empty());
  CHECK_FALSE(r->samples[2].timestampMs.has_value());
  CHECK(r->samples[4].value == std::numeric_limits<double>::infinity());
  CHECK(r->samples[4].timestampMs == -3982045);
  const auto& meta = r->metadata.at("http_requests_total");
  CHECK(meta.type == MetricType::kCounter);
  CHECK(meta.hasType);
  CHECK(meta.help == "The total number of HTTP requests.");
  CHECK(r->metadata.size() == 1);
}

TEST_CASE("parseExposition values") {
  struct Case {
    const char* text;
    double value;
  };
  auto c = GENERATE(Case{"1", 1}, Case{"-0.5", -0.5}, Case{"+3", 3}, Case{"1.5e+09", 1.5e9},
                    Case{"1.5E-3", 1.5e-3}, Case{".5", 0.5}, Case{"5.", 5},
                    Case{"+Inf", INFINITY}, Case{"-Inf", -INFINITY}, Case{"Inf", INFINITY},
                    Case{"inf", INFINITY}, Case{"1e999", INFINITY}, Case{"-1e999", -INFINITY},
                    Case{"1e-999", 0}, Case{"18446744073709551616", 18446744073709551616.0});
  const Sample s = only(parseExposition(std::string("m ") + c.text + "\n"));
  INFO(c.text);
  CHECK(s.value == c.value);
}

TEST_CASE("parseExposition NaN") {
  auto text = GENERATE("NaN", "nan", "+NaN", "-nan");
  const Sample s = only(parseExposition(std::string("m{a=\"b\"} ") + text));
  CHECK(std::isnan(s.value));
}

TEST_CASE("parseExposition label escapes, blanks and trailing commas") {
  struct Case {
    const char* text;
    Labels labels;
  };
  auto c = GENERATE(
      Case{R"(m{a="x",b="y\"z\\n"} 1)", {{"a", "x"}, {"b", "y\"z\\n"}}},
      Case{R"(m{a="line\nbreak"} 1)", {{"a", "line\nbreak"}}},
      Case{R"(m{a="back\\slash"} 1)", {{"a", "back\\slash"}}},
      Case{R"(m{a="x",} 1)", {{"a", "x"}}},
      Case{R"(m{ b = "2" , a = "1" , } 1)", {{"a", "1"}, {"b", "2"}}},
      Case{R"(m{} 1)", {}},
      Case{R"(m {a="x"} 1)", {{"a", "x"}}},
      Case{R"(m{a="x"}1)", {{"a", "x"}}},
      Case{R"(m{a="",b="1"} 1)", {{"b", "1"}}},
      Case{R"(m{a="{}=,\" 1"} 1)", {{"a", "{}=,\" 1"}}},
      Case{"m{a=\"caf\xC3\xA9\"} 1", {{"a", "caf\xC3\xA9"}}},
      Case{R"(m{_x9="1"} 1)", {{"_x9", "1"}}});
  const Sample s = only(parseExposition(c.text));
  INFO(c.text);
  CHECK(s.labels == c.labels);
  CHECK(s.value == 1);
}

TEST_CASE("parseExposition timestamps") {
  CHECK(only(parseExposition("m 1 0")).timestampMs == 0);
  CHECK(only(parseExposition("m 1 -5")).timestampMs == -5);
  CHECK(only(parseExposition("m 1 +5")).timestampMs == 5);
  CHECK(only(parseExposition("m 1 9223372036854775807 \t")).timestampMs == INT64_MAX);
  CHECK(only(parseExposition("m 1\t\t1700000000000")).timestampMs == 1700000000000);
}

TEST_CASE("parseExposition HELP and TYPE") {
  auto r = parseExposition(
      "# HELP a Backslash \\\\ and\\nnewline, \"quotes\" kept.\n"
      "#  TYPE  a  gauge \n"
      "# HELP b\n"
      "# TYPE h histogram\n"
      "# TYPE s summary\n"
      "# TYPE u untyped\n"
      "# HELP\n"
      "# TYPE\n"
      "#HELP c text\n"
      "# some other comment with \\q\n"
      "#\n"
      "a 1\n"
      "h_bucket{le=\"+Inf\"} 3\n");
  REQUIRE(r.ok());
  CHECK(r->metadata.at("a").help == "Backslash \\ and\nnewline, \"quotes\" kept.");
  CHECK(r->metadata.at("a").type == MetricType::kGauge);
  CHECK(r->metadata.at("b").help == "");
  CHECK_FALSE(r->metadata.at("b").hasType);
  CHECK(r->metadata.at("b").type == MetricType::kUntyped);
  CHECK(r->metadata.at("h").type == MetricType::kHistogram);
  CHECK(r->metadata.at("s").type == MetricType::kSummary);
  CHECK(r->metadata.at("u").hasType);
  CHECK(r->metadata.at("c").help == "text");
  CHECK(r->samples.size() == 2);
  CHECK(r->samples[1].labels == Labels{{"le", "+Inf"}});
}

TEST_CASE("parseExposition tolerates CRLF, blank lines, leading blanks and no final newline") {
  auto r = parseExposition("\r\n# TYPE a gauge\r\n  a{x=\"1\"} 2 3\r\n\t\r\nb 4");
  REQUIRE(r.ok());
  REQUIRE(r->samples.size() == 2);
  CHECK(r->samples[0].timestampMs == 3);
  CHECK(r->samples[1].value == 4);
  CHECK(parseExposition("").ok());
  CHECK(parseExposition("\n\n").value().samples.empty());
}

TEST_CASE("parseExposition errors name the line and column") {
  struct Case {
    const char* text;
    int line;
    int column;
    const char* message;
  };
  auto c = GENERATE(
      Case{"a 1\nb\n", 2, 2, "missing value"},
      Case{"a 1\n\n9abc 1\n", 3, 1, "expected a metric name"},
      Case{"a-b 1\n", 1, 2, "unexpected character '-'"},
      Case{"a}\n", 1, 2, "unexpected character '}'"},
      Case{"a x\n", 1, 3, "invalid value \"x\""},
      Case{"a 1e\n", 1, 3, "invalid value"},
      Case{"a 0x10\n", 1, 3, "invalid value"},
      Case{"a 1,5\n", 1, 3, "invalid value"},
      Case{"a 1 1.5\n", 1, 5, "invalid timestamp \"1.5\""},
      Case{"a 1 9223372036854775808\n", 1, 5, "invalid timestamp"},
      Case{"a 1 2 3\n", 1, 7, "unexpected text after the timestamp"},
      Case{"a{b=\"c\"\n", 1, 8, "expected ',' or '}'"},
      Case{"a{b=\"c\n", 1, 7, "unterminated label value"},
      Case{"a{b=\"c\\\n", 1, 7, "unterminated label value"},
      Case{"a{b=\"c\\t\"} 1\n", 1, 7, "invalid escape sequence \"\\t\""},
      Case{"a{b} 1\n", 1, 4, "expected '=' after label \"b\""},
      Case{"a{b=c} 1\n", 1, 5, "expected '\"'"},
      Case{"a{9=\"c\"} 1\n", 1, 3, "expected a label name"},
      Case{"a{,} 1\n", 1, 3, "expected a label name"},
      Case{"a{b=\"1\",b=\"2\"} 1\n", 1, 9, "duplicate label \"b\""},
      Case{"a{__name__=\"x\"} 1\n", 1, 3, "\"__name__\" is reserved"},
      Case{"a{b=\"1\" c=\"2\"} 1\n", 1, 9, "expected ',' or '}'"},
      Case{"a{b=\"1\"\n", 1, 8, "expected ',' or '}'"},
      Case{"a{b=\"1\",\n", 1, 9, "unterminated label set"},
      Case{"a{b=\"1\"} \n", 1, 10, "missing value"},
      Case{"# TYPE a gauge\n# TYPE a counter\n", 2, 8, "second TYPE line for \"a\""},
      Case{"# HELP a x\n# HELP a y\n", 2, 8, "second HELP line for \"a\""},
      Case{"# TYPE a gauges\n", 1, 10, "unknown metric type \"gauges\""},
      Case{"# TYPE a\n", 1, 9, "unknown metric type \"\""},
      Case{"# TYPE a gauge extra\n", 1, 10, "unknown metric type \"gauge extra\""},
      Case{"# TYPE 1a gauge\n", 1, 8, "invalid metric name in TYPE line"},
      Case{"# HELP a-b x\n", 1, 8, "invalid metric name in HELP line"},
      Case{"# HELP a bad \\t escape\n", 1, 14, "invalid escape sequence in HELP"},
      Case{"# HELP a trailing \\\n", 1, 19, "invalid escape sequence in HELP"},
      Case{"ok 1\r\nbad{\r\n", 2, 5, "unterminated label set"});
  auto r = parseExposition(c.text, "http://web-01:9100/metrics");
  INFO(c.text);
  vigil::test::requireErrorAt(r, "http://web-01:9100/metrics", c);
}

TEST_CASE("parseExposition on a real node_exporter page") {
  std::string text = vigil::test::readFixture("node_exporter.prom");
  REQUIRE(text.size() > 10000);
  auto r = parseExposition(text);
  REQUIRE(r.ok());
  CHECK(r->samples.size() > 500);
  // Every family with samples was declared with HELP and TYPE by node_exporter.
  CHECK(r->metadata.at("node_memory_MemTotal_bytes").type == MetricType::kGauge);
  CHECK(r->metadata.at("node_vmstat_oom_kill").type == MetricType::kUntyped);
  CHECK(r->metadata.at("node_cpu_seconds_total").type == MetricType::kCounter);
  CHECK(r->metadata.at("node_memory_MemTotal_bytes").help ==
        "Memory information field MemTotal_bytes.");
  bool sawLabels = false;
  for (const Sample& s : r->samples) {
    if (s.name == "node_cpu_seconds_total") {
      sawLabels = true;
      CHECK_FALSE(vigil::get(s.labels, "cpu").empty());
      CHECK_FALSE(vigil::get(s.labels, "mode").empty());
    }
  }
  CHECK(sawLabels);

  SECTION("nodeMemorySeries picks the node_memory_* series and oom_kill") {
    auto mem = nodeMemorySeries(*r);
    std::set<std::string> names;
    for (const Sample& s : mem) {
      CHECK((s.name.starts_with("node_memory_") || s.name == "node_vmstat_oom_kill"));
      names.insert(s.name);
    }
    for (const char* n : {"node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes",
                          "node_memory_SwapTotal_bytes", "node_vmstat_oom_kill"}) {
      INFO(n);
      CHECK(names.count(n) == 1);
    }
  }
  SECTION("CRLF version of the same page parses the same") {
    std::string crlf;
    for (char ch : text) {
      if (ch == '\n') crlf += '\r';
      crlf += ch;
    }
    auto r2 = parseExposition(crlf);
    REQUIRE(r2.ok());
    REQUIRE(r2->samples.size() == r->samples.size());
    for (size_t i = 0; i < r->samples.size(); ++i) {
      CHECK(r2->samples[i].name == r->samples[i].name);
      CHECK(r2->samples[i].labels == r->samples[i].labels);
    }
  }
}

TEST_CASE("metric type names round-trip") {
  for (auto t : {MetricType::kUntyped, MetricType::kCounter, MetricType::kGauge,
                 MetricType::kHistogram, MetricType::kSummary}) {
    CHECK(vigil::parsers::metricTypeFromString(vigil::parsers::toString(t)) == t);
  }
  CHECK_FALSE(vigil::parsers::metricTypeFromString("Gauge").has_value());
}
