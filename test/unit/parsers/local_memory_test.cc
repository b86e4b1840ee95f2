#include "probes/local_memory.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "probes/memory_samples.h"

namespace fs = std::filesystem;
using vigil::FailureReason;
using vigil::probeLocalMemory;

namespace {

// A throw-away procRoot; removed when the test ends.
class FakeProc {
 public:
  FakeProc() {
    dir_ = fs::temp_directory_path() /
           ("vigil-local-memory-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_);
  }
  ~FakeProc() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::string root() const { return dir_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path dir_;
};

}  // namespace

TEST_CASE("probeLocalMemory on this machine's /proc") {
  auto r = probeLocalMemory();
  INFO(r.error);
  REQUIRE(r.success());
  REQUIRE(r.samples.size() >= 2);
  CHECK(r.samples[0].name == "node_memory_MemTotal_bytes");
  CHECK(r.samples[0].value > 0);
  REQUIRE_FALSE(r.trace.empty());
  CHECK_THAT(r.trace[0], Catch::StartsWith("MemTotal ") && Catch::Contains("MemAvailable") &&
                             Catch::Contains("%)"));
  CHECK(r.durationSeconds >= 0);
}

TEST_CASE("probeLocalMemory with a fake procRoot") {
  FakeProc proc;
  SECTION("success") {
    proc.write("meminfo", "MemTotal: 16777216 kB\nMemAvailable: 4194304 kB\n");
    proc.write("vmstat", "oom_kill 4\n");
    auto r = probeLocalMemory(proc.root());
    REQUIRE(r.success());
    CHECK(r.error.empty());
    REQUIRE(r.samples.size() == 3);
    CHECK(r.samples[2].name == "node_vmstat_oom_kill");
    CHECK(r.samples[2].value == 4);
    CHECK(r.trace == std::vector<std::string>{"MemTotal 16.0 GiB, MemAvailable 4.0 GiB (25.0%)",
                                              "oom_kill 4"});
  }
  SECTION("meminfo missing: internal") {
    proc.write("vmstat", "oom_kill 4\n");
    auto r = probeLocalMemory(proc.root());
    CHECK(r.reason == FailureReason::kInternal);
    CHECK_THAT(r.error, Catch::Contains(proc.root() + "/meminfo") &&
                            Catch::Contains("No such file"));
    CHECK(r.samples.empty());
  }
  SECTION("vmstat missing: internal") {
    proc.write("meminfo", "MemTotal: 1 kB\n");
    auto r = probeLocalMemory(proc.root());
    CHECK(r.reason == FailureReason::kInternal);
    CHECK_THAT(r.error, Catch::Contains("/vmstat"));
  }
  SECTION("meminfo unparsable: parse, with file and line") {
    proc.write("meminfo", "MemTotal: 1 kB\nMemFree: lots\n");
    proc.write("vmstat", "oom_kill 4\n");
    auto r = probeLocalMemory(proc.root());
    CHECK(r.reason == FailureReason::kParse);
    CHECK_THAT(r.error, Catch::StartsWith(proc.root() + "/meminfo:2:10: "));
  }
  SECTION("vmstat unparsable: parse") {
    proc.write("meminfo", "MemTotal: 1 kB\n");
    proc.write("vmstat", "oom_kill\n");
    auto r = probeLocalMemory(proc.root());
    CHECK(r.reason == FailureReason::kParse);
    CHECK_THAT(r.error, Catch::StartsWith(proc.root() + "/vmstat:1:1: "));
  }
  SECTION("file larger than the cap: internal") {
    proc.write("meminfo", std::string(vigil::kMaxProcFileBytes + 1, '\n'));
    proc.write("vmstat", "oom_kill 4\n");
    auto r = probeLocalMemory(proc.root());
    CHECK(r.reason == FailureReason::kInternal);
    CHECK_THAT(r.error, Catch::Contains("larger than"));
  }
  SECTION("a directory where the file should be: internal") {
    fs::create_directories(fs::path(proc.root()) / "meminfo");
    proc.write("vmstat", "oom_kill 4\n");
    auto r = probeLocalMemory(proc.root());
    CHECK(r.reason == FailureReason::kInternal);
    CHECK_FALSE(r.error.empty());
  }
}
