#pragma once
// /proc/vmstat: one "name value" pair per line, e.g. "oom_kill 3". The kernel prints every
// value as an unsigned decimal (%lu), so values are kept as uint64_t without rounding.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "agent/core/error.h"

namespace vigil::parsers {

/// The counters of one /proc/vmstat read, by name (e.g. "oom_kill", "pgmajfault").
struct VmStat {
  std::map<std::string, uint64_t, std::less<>> values;

  /// The value of `name`, or nullopt when the kernel did not print it (oom_kill needs 4.13+).
  std::optional<uint64_t> get(std::string_view name) const;
};

/// Parses /proc/vmstat text. Blank lines are skipped; every other line must be
/// `name<blanks>value` with a non-negative decimal integer that fits in 64 bits. A name that
/// appears twice is an error (two files were concatenated, or the text is not vmstat).
///
/// `source` names the text in errors (Error::file); `firstLine` numbers the first line, for
/// texts cut out of a larger one. Never throws; memory is bounded by the input size.
Result<VmStat> parseVmstat(std::string_view text, std::string_view source = "vmstat",
                           int firstLine = 1);

}  // namespace vigil::parsers
