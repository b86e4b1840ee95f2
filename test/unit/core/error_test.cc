#include <catch2/catch.hpp>

#include "agent/core/error.h"

TEST_CASE("errors format with as much position as is known") {
  REQUIRE(vigil::Error{"boom"}.format() == "boom");
  REQUIRE(vigil::Error{"boom", "a.yaml"}.format() == "a.yaml: boom");
  REQUIRE(vigil::Error{"boom", "a.yaml", 3}.format() == "a.yaml:3: boom");
  REQUIRE(vigil::Error{"boom", "a.yaml", 3, 7}.format() == "a.yaml:3:7: boom");
}

TEST_CASE("Result holds a value or an error") {
  vigil::Result<int> ok = 5;
  REQUIRE(ok.ok());
  REQUIRE(*ok == 5);
  vigil::Result<int> bad = vigil::Error{"nope"};
  REQUIRE_FALSE(bad.ok());
  REQUIRE(bad.error().message == "nope");
}
