#include <catch2/catch.hpp>

#include "agent/core/duration.h"

using vigil::Duration;

TEST_CASE("Prometheus durations parse") {
  auto [text, ms] = GENERATE(table<const char*, int64_t>({
      {"0", 0},
      {"0s", 0},
      {"500ms", 500},
      {"5s", 5000},
      {"1m30s", 90000},
      {"4h", 4 * 3600 * 1000LL},
      {"7d", 7 * 86400 * 1000LL},
      {"1w", 7 * 86400 * 1000LL},
      {"1y", 365 * 86400 * 1000LL},
      {"1h1m1s1ms", 3661001},
  }));
  CAPTURE(text);
  auto d = vigil::parseDuration(text);
  REQUIRE(d.has_value());
  REQUIRE(d->count() == ms);
}

TEST_CASE("malformed durations are rejected") {
  auto text = GENERATE("", "5", "s", "1.5s", "-1s", "5s1m", "5ss", "1m1m", "abc", " 5s",
                       "99999999999999999999y", "5S");
  CAPTURE(text);
  REQUIRE_FALSE(vigil::parseDuration(text).has_value());
}

TEST_CASE("durations format like Prometheus") {
  REQUIRE(vigil::formatDuration(Duration{0}) == "0s");
  REQUIRE(vigil::formatDuration(Duration{500}) == "500ms");
  REQUIRE(vigil::formatDuration(Duration{90000}) == "1m30s");
  REQUIRE(vigil::formatDuration(Duration{7 * 86400 * 1000LL}) == "1w");
  REQUIRE(vigil::formatDuration(Duration{4 * 3600 * 1000LL}) == "4h");
}

TEST_CASE("format and parse round-trip") {
  auto ms = GENERATE(1, 999, 1000, 61001, 3600000, 86400000 + 1);
  auto d = Duration{ms};
  REQUIRE(vigil::parseDuration(vigil::formatDuration(d)) == d);
}
