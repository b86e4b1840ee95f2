#pragma once
// The memory probe's samples, with node_exporter's names, so rules and dashboards written for
// node_exporter work unchanged. All three sources (SSH `cat /proc/meminfo /proc/vmstat`,
// a node_exporter scrape, the local /proc) go through here and emit identical series.

#include <string>
#include <string_view>
#include <vector>

#include "agent/core/error.h"
#include "agent/core/probe.h"
#include "exporters/metrics/names.h"
#include "probes/parsers/exposition.h"
#include "probes/parsers/meminfo.h"
#include "probes/parsers/vmstat.h"

namespace vigil {

// node_exporter's meminfo names that exporters/metrics/names.h does not have (yet): the
// memory probe reports them for `vigil probe` and dashboards, SPEC §3 lists only the others.
inline constexpr std::string_view kNodeMemoryMemFreeBytes = "node_memory_MemFree_bytes";
inline constexpr std::string_view kNodeMemoryBuffersBytes = "node_memory_Buffers_bytes";
inline constexpr std::string_view kNodeMemoryCachedBytes = "node_memory_Cached_bytes";

/// Every series the memory probe emits, in emission order.
inline constexpr std::string_view kMemorySampleNames[] = {
    names::kNodeMemoryMemTotalBytes,  names::kNodeMemoryMemAvailableBytes,
    kNodeMemoryMemFreeBytes,          kNodeMemoryBuffersBytes,
    kNodeMemoryCachedBytes,           names::kNodeMemorySwapTotalBytes,
    names::kNodeMemorySwapFreeBytes,  names::kNodeVmstatOomKill,
};

/// The samples for one meminfo + vmstat read, in kMemorySampleNames order, without labels.
/// A field the kernel did not print (no MemAvailable before 3.14, no oom_kill before 4.13) is
/// simply not emitted. Pure; thread-safe.
std::vector<ProbeSample> memorySamples(const parsers::MemInfo& meminfo,
                                       const parsers::VmStat& vmstat);

/// The same series from a node_exporter scrape: the label-less samples named in
/// kMemorySampleNames, in that order (the first one wins should a page repeat a series).
/// A page without node_memory_MemTotal_bytes is an error (the meminfo collector is disabled,
/// or this is not node_exporter), as a meminfo without MemTotal is.
Result<std::vector<ProbeSample>> memorySamplesFromExposition(
    const std::vector<parsers::Sample>& samples);

/// Human-readable lines for `vigil probe`'s trace, e.g.
/// "MemTotal 15.6 GiB, MemAvailable 12.1 GiB (77.6%)", "SwapTotal 2.0 GiB, SwapFree 2.0 GiB
/// (100.0%)", "oom_kill 0". Works on any subset of kMemorySampleNames (the SSH, node_exporter
/// and local sources share it). Pure; thread-safe.
std::vector<std::string> memoryTrace(const std::vector<ProbeSample>& samples);

/// `bytes` in binary units with one decimal: "512 B", "1.5 KiB", "15.6 GiB".
std::string formatBytes(double bytes);

}  // namespace vigil
