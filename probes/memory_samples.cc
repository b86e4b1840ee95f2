#include "probes/memory_samples.h"

#include <cmath>
#include <optional>
#include <utility>

#include <fmt/format.h>

namespace vigil {

namespace {

// meminfo field behind each node_memory_* series; node_exporter names them <field>_bytes.
constexpr std::pair<std::string_view, std::string_view> kMeminfoFields[] = {
    {names::kNodeMemoryMemTotalBytes, "MemTotal"},
    {names::kNodeMemoryMemAvailableBytes, "MemAvailable"},
    {kNodeMemoryMemFreeBytes, "MemFree"},
    {kNodeMemoryBuffersBytes, "Buffers"},
    {kNodeMemoryCachedBytes, "Cached"},
    {names::kNodeMemorySwapTotalBytes, "SwapTotal"},
    {names::kNodeMemorySwapFreeBytes, "SwapFree"},
};

}  // namespace

std::vector<ProbeSample> memorySamples(const parsers::MemInfo& meminfo,
                                       const parsers::VmStat& vmstat) {
  std::vector<ProbeSample> out;
  out.reserve(std::size(kMemorySampleNames));
  for (auto [name, field] : kMeminfoFields) {
    if (auto v = meminfo.get(field)) {
      out.push_back(ProbeSample{std::string(name), {}, static_cast<double>(*v)});
    }
  }
  if (auto v = vmstat.get("oom_kill")) {
    out.push_back(
        ProbeSample{std::string(names::kNodeVmstatOomKill), {}, static_cast<double>(*v)});
  }
  return out;
}

Result<std::vector<ProbeSample>> memorySamplesFromExposition(
    const std::vector<parsers::Sample>& samples) {
  std::vector<ProbeSample> out;
  out.reserve(std::size(kMemorySampleNames));
  for (std::string_view name : kMemorySampleNames) {
    for (const parsers::Sample& s : samples) {
      // node_exporter's memory series carry no labels; a labelled one would be another
      // exporter's series that happens to share the name.
      if (s.name == name && s.labels.empty()) {
        out.push_back(ProbeSample{s.name, {}, s.value});
        break;
      }
    }
  }
  if (out.empty() || out.front().name != names::kNodeMemoryMemTotalBytes) {
    return Error{"no node_memory_MemTotal_bytes in the scrape (meminfo collector disabled?)", "", 0,
                 0};
  }
  return out;
}

std::string formatBytes(double bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (!std::isfinite(bytes) || std::fabs(bytes) < 1024) return fmt::format("{:.0f} B", bytes);
  int unit = -1;
  while (std::fabs(bytes) >= 1024 && unit + 1 < static_cast<int>(std::size(kUnits))) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

std::vector<std::string> memoryTrace(const std::vector<ProbeSample>& samples) {
  auto find = [&](std::string_view name) -> std::optional<double> {
    for (const ProbeSample& s : samples) {
      if (s.name == name) return s.value;
    }
    return std::nullopt;
  };
  // "total, available (share)": the share is what MemoryExhaustion alerts on.
  auto pair = [](std::string_view totalName, std::optional<double> total,
                 std::string_view partName, std::optional<double> part) {
    std::string line;
    if (total) line = fmt::format("{} {}", totalName, formatBytes(*total));
    if (part) {
      if (!line.empty()) line += ", ";
      line += fmt::format("{} {}", partName, formatBytes(*part));
      if (total && *total > 0) line += fmt::format(" ({:.1f}%)", 100.0 * *part / *total);
    }
    return line;
  };
  std::vector<std::string> out;
  auto add = [&](std::string line) {
    if (!line.empty()) out.push_back(std::move(line));
  };
  add(pair("MemTotal", find(names::kNodeMemoryMemTotalBytes), "MemAvailable",
           find(names::kNodeMemoryMemAvailableBytes)));
  std::string cache;
  for (auto [name, label] : {std::pair{kNodeMemoryMemFreeBytes, "MemFree"},
                             std::pair{kNodeMemoryBuffersBytes, "Buffers"},
                             std::pair{kNodeMemoryCachedBytes, "Cached"}}) {
    if (auto v = find(name)) {
      if (!cache.empty()) cache += ", ";
      cache += fmt::format("{} {}", label, formatBytes(*v));
    }
  }
  add(std::move(cache));
  add(pair("SwapTotal", find(names::kNodeMemorySwapTotalBytes), "SwapFree",
           find(names::kNodeMemorySwapFreeBytes)));
  if (auto v = find(names::kNodeVmstatOomKill)) add(fmt::format("oom_kill {:.0f}", *v));
  return out;
}

}  // namespace vigil
