#include "agent/state/report.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using vigil::state::Event;

TEST_CASE("report: placeholder") { CHECK(vigil::state::parseRfc3339("2026-01-01T00:00:00Z")); }
