#pragma once
// Reads test fixtures from test/unit/parsers/fixtures (path compiled in by CMake).

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

}  // namespace vigil::test
