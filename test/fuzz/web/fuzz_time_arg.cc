// libFuzzer target for `vigil report --since/--until` values (RFC 3339, durations, "now"): any
// input yields a time or an Error, never a crash or an exception.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/state/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = vigil::state::parseTimeArg(text, 1'764'000'000'000);
  if (!r.ok()) (void)r.error().format();
  return 0;
}
