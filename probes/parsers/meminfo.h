#pragma once
// /proc/meminfo ("MemTotal:  16316412 kB") and the output of the memory probe's SSH command,
// `cat /proc/meminfo /proc/vmstat`, which is both files back to back.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "agent/core/error.h"
#include "probes/parsers/vmstat.h"

namespace vigil::parsers {

/// The fields of one /proc/meminfo read, in bytes. Fields printed in "kB" are multiplied by
/// 1024 (the kernel's "kB" is KiB); fields without a unit (HugePages_Total, HugePages_Free, ...)
/// are counts and kept as printed.
struct MemInfo {
  std::map<std::string, uint64_t, std::less<>> fields;

  /// The value of `name` (e.g. "MemAvailable"), or nullopt when the kernel did not print it.
  std::optional<uint64_t> get(std::string_view name) const;
};

/// Parses /proc/meminfo text. Every non-blank line must be `Name:<blanks>value[<blanks>kB]`;
/// names may contain parentheses ("Active(anon)"). Errors (with Error::line and column): a line
/// without ':', an empty name, a value that is not a non-negative integer or overflows 64 bits
/// (also after the ×1024), a unit other than kB, trailing text, a duplicate name, and a text
/// without MemTotal (every Linux kernel prints it, so its absence means this is not meminfo).
///
/// `source` names the text in errors (Error::file). Never throws; memory is bounded by the
/// input size.
Result<MemInfo> parseMeminfo(std::string_view text, std::string_view source = "meminfo");

/// `cat /proc/meminfo /proc/vmstat` cut in two without copying.
struct MeminfoVmstatText {
  std::string_view meminfo;  ///< the lines before the first vmstat line
  std::string_view vmstat;   ///< from the first vmstat line to the end; empty when none
  int vmstatFirstLine = 1;   ///< line number of `vmstat`'s first line in the whole text
};

/// Splits the concatenated text at the first non-blank line whose first word has no ':'
/// (meminfo lines are "Name: value", vmstat lines "name value"). Never fails; a text that is
/// only meminfo yields an empty `vmstat`.
MeminfoVmstatText splitMeminfoVmstat(std::string_view text);

/// Both files of one memory probe.
struct MemorySnapshot {
  MemInfo meminfo;
  VmStat vmstat;
};

/// splitMeminfoVmstat, then parseMeminfo and parseVmstat on the halves. Line numbers in errors
/// count from the start of `text`. An absent vmstat part is not an error (the snapshot's vmstat
/// is then empty): the caller decides whether it needs oom_kill.
Result<MemorySnapshot> parseMeminfoVmstat(std::string_view text,
                                          std::string_view source = "meminfo+vmstat");

}  // namespace vigil::parsers
