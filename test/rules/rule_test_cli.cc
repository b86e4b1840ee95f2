// vigil_test_rules FILE...: runs promtool-format rule tests with vigil's engine (the same code
// `vigil test-rules` calls), so ctest can run every file through both implementations.
#include <iostream>
#include <string>
#include <vector>

#include "agent/rules/rule_test_runner.h"

int main(int argc, char** argv) {
  std::vector<std::string> files(argv + 1, argv + argc);
  if (files.empty()) {
    std::cerr << "usage: vigil_test_rules FILE...\n";
    return 2;
  }
  return vigil::rules::runRuleTests(files, std::cout, std::cerr);
}
