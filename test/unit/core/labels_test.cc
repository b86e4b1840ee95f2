#include <catch2/catch.hpp>

#include "agent/core/labels.h"

using vigil::Label;
using vigil::Labels;

TEST_CASE("normalize sorts, keeps the last duplicate and drops empty values") {
  Labels l{{"b", "2"}, {"a", "1"}, {"b", "3"}, {"c", ""}};
  vigil::normalize(l);
  REQUIRE(l == Labels{{"a", "1"}, {"b", "3"}});
}

TEST_CASE("set inserts in order, replaces, and removes with an empty value") {
  Labels l;
  vigil::set(l, "target", "web-01");
  vigil::set(l, "__name__", "probe_success");
  vigil::set(l, "url", "http://x/");
  REQUIRE(l.front().name == "__name__");
  REQUIRE(vigil::get(l, "target") == "web-01");
  vigil::set(l, "target", "web-02");
  REQUIRE(vigil::get(l, "target") == "web-02");
  vigil::set(l, "target", "");
  REQUIRE(vigil::get(l, "target").empty());
  REQUIRE(l.size() == 2);
}

TEST_CASE("hash separates names from values") {
  REQUIRE(vigil::hash(Labels{{"ab", "c"}}) != vigil::hash(Labels{{"a", "bc"}}));
  REQUIRE(vigil::hash(Labels{{"a", "1"}}) == vigil::hash(Labels{{"a", "1"}}));
}

TEST_CASE("toString escapes values like the exposition format") {
  Labels l{{"__name__", "m"}, {"v", "a\"b\\c\nd"}};
  REQUIRE(vigil::toString(l) == "m{v=\"a\\\"b\\\\c\\nd\"}");
}

TEST_CASE("label and metric name validity") {
  auto [name, label, metric] = GENERATE(table<const char*, bool, bool>({
      {"target", true, true},
      {"_x9", true, true},
      {"9x", false, false},
      {"a:b", false, true},
      {"", false, false},
      {"a-b", false, false},
  }));
  CAPTURE(name);
  REQUIRE(vigil::isValidLabelName(name) == label);
  REQUIRE(vigil::isValidMetricName(name) == metric);
}
