// Fuzzes the HAProxy stats CSV parser and the rotation decision on every row it accepts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "probes/parsers/haproxy_csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rows = vigil::parsers::parseHaproxyCsv(text);
  if (!rows.ok()) {
    if (rows.error().line < 0 || rows.error().column < 0) std::abort();
    return 0;
  }
  for (const auto& row : *rows) {
    bool in = vigil::parsers::inRotation(row);
    // Only servers can be in rotation, and never one HAProxy reports as DOWN/MAINT/DRAIN.
    if (in && row.type != vigil::parsers::HaproxyRowType::kServer) std::abort();
    if (in && (row.state == vigil::parsers::HaproxyState::kDown ||
               row.state == vigil::parsers::HaproxyState::kMaint ||
               row.state == vigil::parsers::HaproxyState::kDrain)) {
      std::abort();
    }
    (void)vigil::parsers::serversOfBackend(*rows, row.pxname);
  }
  return 0;
}
