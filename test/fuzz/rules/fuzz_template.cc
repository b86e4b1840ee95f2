// libFuzzer target: alert templates must expand or fail cleanly, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/rules/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  vigil::rules::TemplateData d;
  d.labels = {{"instance", "h1"}, {"job", "web"}, {"num", "12.5"}};
  d.value = 1234.5;
  d.externalLabels = {{"cluster", "c1"}};
  auto r = vigil::rules::expandTemplate(input, d);
  (void)r;
  auto c = vigil::rules::checkTemplate(input);
  (void)c;
  return 0;
}
