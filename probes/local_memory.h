#pragma once
// Memory of the monitoring host itself (`memory: {local: true}`), read from /proc with no
// network in between. Same series as the SSH and node_exporter sources.

#include <string>

#include "agent/core/probe.h"

namespace vigil {

/// Reads `<procRoot>/meminfo` and `<procRoot>/vmstat` (each capped at kMaxProcFileBytes) and
/// returns the memorySamples() series with trace lines (memoryTrace()). Failures are values:
/// a file that cannot be read (or is larger than the cap) is FailureReason::kInternal, text
/// that does not parse is kParse; `error` then says which file and, for kParse, the line
/// ("/proc/meminfo:3:10: ..."). Synchronous and quick (two small reads), so it is called
/// directly from the probe loop. Thread-safe. `procRoot` exists for tests.
ProbeResult probeLocalMemory(const std::string& procRoot = "/proc");

/// Upper bound on what probeLocalMemory reads from one file; real ones are a few KiB.
inline constexpr size_t kMaxProcFileBytes = 1 << 20;

}  // namespace vigil
