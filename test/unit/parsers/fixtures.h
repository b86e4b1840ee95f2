#pragma once
// Reads test fixtures from test/unit/parsers/fixtures (path compiled in by CMake).

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace vigil::test {

inline std::string readFixture(const std::string& name) {
  std::ifstream in(std::string(VIGIL_PARSERS_FIXTURES) + "/" + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Checks that `r` failed with an error naming `file`, at `c.line`:`c.column`, whose message
/// contains `c.message` (the shape of every parser's error table).
template <typename R, typename C>
void requireErrorAt(const R& r, const std::string& file, const C& c) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().file == file);
  CHECK(r.error().line == c.line);
  CHECK(r.error().column == c.column);
  CHECK_THAT(r.error().message, Catch::Contains(c.message));
}

}  // namespace vigil::test
