#include "probes/local_memory.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "probes/memory_samples.h"
#include "probes/parsers/meminfo.h"
#include "probes/parsers/vmstat.h"

namespace vigil {

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

Error plainError(std::string message) { return Error{std::move(message), "", 0, 0}; }

// /proc files report st_size 0, so they are read until EOF, with a cap so that a procRoot
// pointing at something unexpected cannot make us allocate without bound.
Result<std::string> readProcFile(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return plainError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::string out;
  char buf[8192];
  while (true) {
    size_t n = std::fread(buf, 1, sizeof buf, f.get());
    out.append(buf, n);
    if (out.size() > kMaxProcFileBytes) {
      return plainError(fmt::format("{} is larger than {} bytes", path, kMaxProcFileBytes));
    }
    if (n < sizeof buf) break;
  }
  if (std::ferror(f.get())) return plainError(fmt::format("error reading {}", path));
  return out;
}

}  // namespace

ProbeResult probeLocalMemory(const std::string& procRoot) {
  auto start = std::chrono::steady_clock::now();
  ProbeResult result;
  auto finish = [&](FailureReason reason, std::string error) {
    result.reason = reason;
    result.error = std::move(error);
    result.durationSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::move(result);
  };
  const std::string meminfoPath = procRoot + "/meminfo";
  const std::string vmstatPath = procRoot + "/vmstat";
  auto meminfoText = readProcFile(meminfoPath);
  if (!meminfoText) return finish(FailureReason::kInternal, meminfoText.error().format());
  auto vmstatText = readProcFile(vmstatPath);
  if (!vmstatText) return finish(FailureReason::kInternal, vmstatText.error().format());
  auto meminfo = parsers::parseMeminfo(*meminfoText, meminfoPath);
  if (!meminfo) return finish(FailureReason::kParse, meminfo.error().format());
  auto vmstat = parsers::parseVmstat(*vmstatText, vmstatPath);
  if (!vmstat) return finish(FailureReason::kParse, vmstat.error().format());
  result.samples = memorySamples(*meminfo, *vmstat);
  result.trace = memoryTrace(result.samples);
  return finish(FailureReason::kNone, {});
}

}  // namespace vigil
