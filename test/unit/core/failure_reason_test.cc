#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "agent/core/failure_reason.h"

TEST_CASE("every failure reason has a unique label value that parses back") {
  std::set<std::string> seen;
  for (auto r : vigil::kAllFailureReasons) {
    std::string s(vigil::toString(r));
    REQUIRE_FALSE(s.empty());
    REQUIRE(seen.insert(s).second);
    REQUIRE(vigil::failureReasonFromString(s) == r);
  }
  REQUIRE(vigil::toString(vigil::FailureReason::kNone) == "success");
  REQUIRE_FALSE(vigil::failureReasonFromString("nonsense").has_value());
}
