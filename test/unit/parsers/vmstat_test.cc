#include "probes/parsers/vmstat.h"

#include <catch2/catch.hpp>

#include "test/unit/parsers/fixtures.h"

using vigil::parsers::parseVmstat;

TEST_CASE("parseVmstat reads name value pairs") {
  auto r = parseVmstat("nr_free_pages 1234\r\noom_kill 3\n\npgmajfault\t18446744073709551615");
  REQUIRE(r.ok());
  CHECK(r->get("nr_free_pages") == 1234u);
  CHECK(r->get("oom_kill") == 3u);
  CHECK(r->get("pgmajfault") == 18446744073709551615ull);
  CHECK_FALSE(r->get("missing").has_value());
}

TEST_CASE("parseVmstat on this machine's /proc/vmstat") {
  auto r = parseVmstat(vigil::test::readFile("/proc/vmstat"), "/proc/vmstat");
  REQUIRE(r.ok());
  CHECK(r->get("oom_kill").has_value());
  CHECK(r->values.size() > 50);
}

TEST_CASE("parseVmstat errors name the line and column") {
  struct Case {
    const char* text;
    int line;
    int column;
    const char* message;
  };
  auto c = GENERATE(Case{"a 1\nb\n", 2, 1, "expected \"name value\""},
                    Case{"a 1\nb x\n", 2, 3, "not a non-negative 64-bit integer"},
                    Case{"b -1\n", 1, 3, "not a non-negative 64-bit integer"},
                    Case{"b 18446744073709551616\n", 1, 3, "not a non-negative 64-bit integer"},
                    Case{"b 1 2\n", 1, 4, "unexpected text"},
                    Case{"b 1\nb 2\n", 2, 1, "duplicate counter \"b\""},
                    Case{"MemTotal: 5 kB\n", 1, 12, "unexpected text"});
  auto r = parseVmstat(c.text, "/proc/vmstat");
  INFO(c.text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().line == c.line);
  CHECK(r.error().column == c.column);
  CHECK_THAT(r.error().message, Catch::Contains(c.message));
}

TEST_CASE("parseVmstat numbers lines from firstLine") {
  auto r = parseVmstat("a 1\nb x\n", "ssh", 40);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().format() ==
        "ssh:41:3: value of \"b\" is not a non-negative 64-bit integer: \"x\"");
}
