// libFuzzer target for the configuration loader: any input must yield a Config or an Error,
// never a crash, a hang or an exception.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // A base directory that does not exist keeps relative rule_files globs and secret-file
  // checks cheap and independent of the machine; absolute paths still exercise them.
  vigil::Result<vigil::config::Config> r =
      vigil::config::parseConfig(text, "fuzz.yaml", "/nonexistent-vigil-fuzz");
  if (!r.ok()) {
    // Formatting is part of what callers do with every error.
    (void)r.error().format();
  }
  return 0;
}
