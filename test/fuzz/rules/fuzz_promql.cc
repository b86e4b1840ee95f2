// libFuzzer target: the PromQL lexer, parser and printer must never crash, and anything that
// parses must evaluate (against a small fixed storage) without crashing either.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/rules/promql/engine.h"
#include "agent/rules/promql/parser.h"
#include "agent/rules/promql/storage.h"

namespace {
const vigil::promql::MemoryStorage& storage() {
  static vigil::promql::MemoryStorage s = [] {
    vigil::promql::MemoryStorage m;
    for (int i = 0; i < 10; ++i) {
      m.append({{"__name__", "a"}, {"i", "1"}}, i * 60'000, i * 10.0);
      m.append({{"__name__", "a"}, {"i", "2"}}, i * 60'000, 100.0 - i);
      m.append({{"__name__", "b"}, {"i", "1"}}, i * 60'000, i % 3);
      m.append({{"__name__", "h_bucket"}, {"le", i == 9 ? "+Inf" : std::to_string(i)}},
               i * 60'000, i * 5.0);
    }
    return m;
  }();
  return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = vigil::promql::parseExpr(input);
  if (!parsed) return 0;
  // The printer's output must parse again.
  auto again = vigil::promql::parseExpr(vigil::promql::toString(**parsed));
  (void)again;
  auto v = vigil::promql::evalInstant(**parsed, 9 * 60'000, storage());
  (void)v;
  return 0;
}
