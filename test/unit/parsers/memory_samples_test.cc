#include "probes/memory_samples.h"

#include <catch2/catch.hpp>

#include "test/unit/parsers/fixtures.h"

using vigil::ProbeSample;
using vigil::parsers::parseExposition;
using vigil::parsers::parseMeminfoVmstat;

namespace {

std::vector<std::string> names(const std::vector<ProbeSample>& samples) {
  std::vector<std::string> out;
  for (const auto& s : samples) out.push_back(s.name);
  return out;
}

}  // namespace

TEST_CASE("memorySamples emits node_exporter's names from meminfo and vmstat") {
  auto snap = parseMeminfoVmstat(
      "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 500 kB\nBuffers: 10 kB\n"
      "Cached: 200 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\nActive: 5 kB\n"
      "nr_free_pages 25\noom_kill 2\n");
  REQUIRE(snap.ok());
  auto samples = vigil::memorySamples(snap->meminfo, snap->vmstat);
  std::vector<std::string> expected(std::begin(vigil::kMemorySampleNames),
                                    std::end(vigil::kMemorySampleNames));
  CHECK(names(samples) == expected);
  CHECK(samples[0].value == 1000 * 1024.0);
  CHECK(samples[1].value == 500 * 1024.0);
  CHECK(samples[7].value == 2);
  for (const auto& s : samples) CHECK(s.labels.empty());
}

TEST_CASE("memorySamples skips fields the kernel did not print") {
  auto snap = parseMeminfoVmstat("MemTotal: 1000 kB\nMemFree: 100 kB\nnr_free_pages 1\n");
  REQUIRE(snap.ok());
  auto samples = vigil::memorySamples(snap->meminfo, snap->vmstat);
  CHECK(names(samples) ==
        std::vector<std::string>{"node_memory_MemTotal_bytes", "node_memory_MemFree_bytes"});
}

TEST_CASE("memorySamplesFromExposition on a real node_exporter page") {
  auto page = parseExposition(vigil::test::readFixture("node_exporter.prom"));
  REQUIRE(page.ok());
  auto samples = vigil::memorySamplesFromExposition(page->samples);
  REQUIRE(samples.ok());
  std::vector<std::string> expected(std::begin(vigil::kMemorySampleNames),
                                    std::end(vigil::kMemorySampleNames));
  CHECK(names(*samples) == expected);
  CHECK((*samples)[0].value == 2.5276510208e+10);  // as in the fixture
  CHECK((*samples)[1].value == 2.495434752e+10);

  SECTION("and only from the memory series (nodeMemorySeries gives the same)") {
    auto viaHelper = vigil::memorySamplesFromExposition(vigil::parsers::nodeMemorySeries(*page));
    REQUIRE(viaHelper.ok());
    CHECK(names(*viaHelper) == expected);
  }
}

TEST_CASE("all sources emit identical series") {
  // The node_exporter fixture and this machine's /proc differ in values (taken at other
  // times) but must produce the same names, in the same order, without labels.
  auto page = parseExposition(vigil::test::readFixture("node_exporter.prom"));
  REQUIRE(page.ok());
  auto fromExporter = vigil::memorySamplesFromExposition(page->samples);
  REQUIRE(fromExporter.ok());
  auto snap = parseMeminfoVmstat(vigil::test::readFixture("meminfo_vmstat_real.txt"));
  REQUIRE(snap.ok());
  auto fromProc = vigil::memorySamples(snap->meminfo, snap->vmstat);
  CHECK(names(fromProc) == names(*fromExporter));
  // Both fixtures come from this machine: MemTotal does not change between reads.
  CHECK(fromProc[0].value == (*fromExporter)[0].value);
}

TEST_CASE("memorySamplesFromExposition errors and edge cases") {
  SECTION("no MemTotal") {
    auto page = parseExposition("node_memory_MemFree_bytes 1\n");
    REQUIRE(page.ok());
    auto r = vigil::memorySamplesFromExposition(page->samples);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("node_memory_MemTotal_bytes"));
  }
  SECTION("labelled look-alikes are ignored, the first series wins") {
    auto page = parseExposition(
        "node_memory_MemTotal_bytes{instance=\"other\"} 5\n"
        "node_memory_MemTotal_bytes 10\n"
        "node_memory_MemTotal_bytes 20\n"
        "node_vmstat_oom_kill 1\n");
    REQUIRE(page.ok());
    auto r = vigil::memorySamplesFromExposition(page->samples);
    REQUIRE(r.ok());
    CHECK(names(*r) ==
          std::vector<std::string>{"node_memory_MemTotal_bytes", "node_vmstat_oom_kill"});
    CHECK((*r)[0].value == 10);
  }
}

TEST_CASE("memoryTrace and formatBytes") {
  std::vector<ProbeSample> samples = {
      {"node_memory_MemTotal_bytes", {}, 16.0 * (1ull << 30)},
      {"node_memory_MemAvailable_bytes", {}, 12.0 * (1ull << 30)},
      {"node_memory_SwapTotal_bytes", {}, 0},
      {"node_memory_SwapFree_bytes", {}, 0},
      {"node_vmstat_oom_kill", {}, 3},
  };
  CHECK(vigil::memoryTrace(samples) ==
        std::vector<std::string>{"MemTotal 16.0 GiB, MemAvailable 12.0 GiB (75.0%)",
                                 "SwapTotal 0 B, SwapFree 0 B", "oom_kill 3"});
  CHECK(vigil::memoryTrace({}).empty());
  CHECK(vigil::formatBytes(512) == "512 B");
  CHECK(vigil::formatBytes(1536) == "1.5 KiB");
  CHECK(vigil::formatBytes(15.6 * (1ull << 30)) == "15.6 GiB");
}
