// Fuzzes the /proc parsers: meminfo, vmstat, and the split of their concatenation (the SSH
// probe's output), plus the samples and trace built from whatever parses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "probes/memory_samples.h"
#include "probes/parsers/meminfo.h"
#include "probes/parsers/vmstat.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)vigil::parsers::parseMeminfo(text);
  (void)vigil::parsers::parseVmstat(text);
  auto parts = vigil::parsers::splitMeminfoVmstat(text);
  // The split must cover the text exactly, meminfo first.
  if (parts.meminfo.size() + parts.vmstat.size() != text.size() ||
      parts.meminfo.data() != text.data()) {
    std::abort();
  }
  auto both = vigil::parsers::parseMeminfoVmstat(text);
  if (both.ok()) {
    auto samples = vigil::memorySamples(both->meminfo, both->vmstat);
    if (samples.empty() || samples.front().name != vigil::names::kNodeMemoryMemTotalBytes) {
      std::abort();
    }
    (void)vigil::memoryTrace(samples);
  } else if (both.error().line < 0 || both.error().column < 0) {
    std::abort();
  }
  return 0;
}
