// Fuzzes the exposition-format parser and the memory series picked from its output.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "probes/memory_samples.h"
#include "probes/parsers/exposition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto page = vigil::parsers::parseExposition(text);
  if (!page.ok()) {
    if (page.error().line < 1 || page.error().column < 1) std::abort();
    return 0;
  }
  for (const auto& s : page->samples) {
    // Invariants the rest of vigil relies on: valid names, sorted unique non-empty labels.
    if (!vigil::isValidMetricName(s.name)) std::abort();
    for (size_t i = 0; i < s.labels.size(); ++i) {
      if (s.labels[i].value.empty() || !vigil::isValidLabelName(s.labels[i].name)) std::abort();
      if (i > 0 && !(s.labels[i - 1].name < s.labels[i].name)) std::abort();
    }
  }
  auto mem = vigil::memorySamplesFromExposition(vigil::parsers::nodeMemorySeries(*page));
  if (mem.ok()) (void)vigil::memoryTrace(*mem);
  return 0;
}
