#include "agent/core/duration.h"

#include <cstdint>
#include <limits>

namespace vigil {

namespace {

struct Unit {
  std::string_view suffix;
  int64_t ms;
};

// Descending order; "ms" must be tried before "m" when both could match, handled below.
constexpr Unit kUnits[] = {
    {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},            {"m", 60LL * 1000},            {"s", 1000},
    {"ms", 1},
};

}  // namespace

std::optional<Duration> parseDuration(std::string_view s) {
  if (s == "0") return Duration{0};
  if (s.empty()) return std::nullopt;
  int64_t total = 0;
  int lastUnit = -1;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    int64_t n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::nullopt;
      n = n * 10 + (s[i] - '0');
      ++i;
    }
    int unit = -1;
    if (s.substr(i, 2) == "ms") {
      unit = 6;
    } else if (i < s.size()) {
      for (int u = 0; u < 6; ++u) {
        if (s[i] == kUnits[u].suffix[0]) unit = u;
      }
    }
    if (unit < 0 || unit <= lastUnit) return std::nullopt;
    i += kUnits[unit].suffix.size();
    lastUnit = unit;
    if (n > std::numeric_limits<int64_t>::max() / kUnits[unit].ms) return std::nullopt;
    int64_t add = n * kUnits[unit].ms;
    if (total > std::numeric_limits<int64_t>::max() - add) return std::nullopt;
    total += add;
  }
  return Duration{total};
}

std::string formatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out += '-';
    ms = -ms;
  }
  for (const Unit& u : kUnits) {
    int64_t n = ms / u.ms;
    if (n > 0) {
      out += std::to_string(n);
      out += u.suffix;
      ms -= n * u.ms;
    }
  }
  return out;
}

}  // namespace vigil
