#include "probes/parsers/meminfo.h"

#include <sys/sysinfo.h>

#include <catch2/catch.hpp>

#include "test/unit/parsers/fixtures.h"

using vigil::parsers::parseMeminfo;
using vigil::parsers::parseMeminfoVmstat;
using vigil::parsers::splitMeminfoVmstat;

TEST_CASE("parseMeminfo reads kB fields as bytes and unit-less fields as counts") {
  auto r = parseMeminfo(
      "MemTotal:       16316412 kB\n"
      "MemFree:          123456 kB\n"
      "Active(anon):       1024 kB\n"
      "HugePages_Total:       7\n"
      "Hugepagesize:       2048 kB\n");
  REQUIRE(r.ok());
  CHECK(r->get("MemTotal") == 16316412ull * 1024);
  CHECK(r->get("MemFree") == 123456ull * 1024);
  CHECK(r->get("Active(anon)") == 1024ull * 1024);
  CHECK(r->get("HugePages_Total") == 7u);
  CHECK(r->get("Hugepagesize") == 2048ull * 1024);
  CHECK_FALSE(r->get("MemAvailable").has_value());
  CHECK(r->fields.size() == 5);
}

TEST_CASE("parseMeminfo tolerates CRLF, blank lines, tabs and a missing final newline") {
  auto r = parseMeminfo("\r\n  MemTotal:\t100 kB\r\n\nSwapFree: 0 kB");
  REQUIRE(r.ok());
  CHECK(r->get("MemTotal") == 102400u);
  CHECK(r->get("SwapFree") == 0u);
}

TEST_CASE("parseMeminfo on this machine's /proc/meminfo agrees with sysinfo()") {
  std::string text = vigil::test::readFile("/proc/meminfo");
  REQUIRE_FALSE(text.empty());
  auto r = parseMeminfo(text, "/proc/meminfo");
  REQUIRE(r.ok());
  struct sysinfo si {};
  REQUIRE(sysinfo(&si) == 0);
  uint64_t total = static_cast<uint64_t>(si.totalram) * si.mem_unit;
  // sysinfo() reports totalram in mem_unit blocks; /proc/meminfo in kB: both describe the
  // same kernel counter, so they agree to within the kB rounding.
  CHECK(*r->get("MemTotal") / 1024 == total / 1024);
  for (const char* field : {"MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal",
                            "SwapFree", "HugePages_Total"}) {
    INFO(field);
    CHECK(r->get(field).has_value());
  }
  CHECK(*r->get("MemAvailable") <= *r->get("MemTotal"));
}

TEST_CASE("parseMeminfo errors name the line and column") {
  struct Case {
    const char* text;
    int line;
    int column;
    const char* message;
  };
  auto c = GENERATE(
      Case{"MemTotal: 1 kB\nMemFree 1 kB\n", 2, 1, "expected \"Name: value\""},
      Case{"MemTotal: 1 kB\n: 1 kB\n", 2, 1, "invalid field name"},
      Case{"MemTotal: 1 kB\nMem Free: 1 kB\n", 2, 1, "invalid field name"},
      Case{"MemTotal: abc kB\n", 1, 11, "is not a non-negative 64-bit integer"},
      Case{"MemTotal: -5 kB\n", 1, 11, "is not a non-negative 64-bit integer"},
      Case{"MemTotal:\n", 1, 10, "is not a non-negative 64-bit integer"},
      Case{"MemTotal: 99999999999999999999 kB\n", 1, 11, "is not a non-negative 64-bit integer"},
      Case{"MemTotal: 18014398509481984 kB\n", 1, 11, "overflows 64 bits"},
      Case{"MemTotal: 1 MB\n", 1, 13, "unknown unit \"MB\""},
      Case{"MemTotal: 1 kB extra\n", 1, 13, "unknown unit \"kB extra\""},
      Case{"MemTotal: 1 kB\nMemTotal: 2 kB\n", 2, 1, "duplicate field \"MemTotal\""},
      Case{"MemFree: 1 kB\nCached: 2 kB\n", 2, 0, "no MemTotal"},
      Case{"", 0, 0, "no MemTotal"});
  auto r = parseMeminfo(c.text, "/proc/meminfo");
  INFO(c.text);
  vigil::test::requireErrorAt(r, "/proc/meminfo", c);
}

TEST_CASE("splitMeminfoVmstat cuts `cat /proc/meminfo /proc/vmstat` at the first vmstat line") {
  SECTION("synthetic") {
    auto parts =
        splitMeminfoVmstat("MemTotal: 1 kB\nSwapFree: 0 kB\nnr_free_pages 5\noom_kill 2\n");
    CHECK(parts.meminfo == "MemTotal: 1 kB\nSwapFree: 0 kB\n");
    CHECK(parts.vmstat == "nr_free_pages 5\noom_kill 2\n");
    CHECK(parts.vmstatFirstLine == 3);
  }
  SECTION("meminfo only") {
    auto parts = splitMeminfoVmstat("MemTotal: 1 kB\n");
    CHECK(parts.meminfo == "MemTotal: 1 kB\n");
    CHECK(parts.vmstat.empty());
  }
  SECTION("real files of this machine, concatenated") {
    std::string text = vigil::test::readFixture("meminfo_vmstat_real.txt");
    auto r = parseMeminfoVmstat(text);
    REQUIRE(r.ok());
    auto alone = parseMeminfo(vigil::test::readFixture("meminfo_real.txt"));
    REQUIRE(alone.ok());
    // The fixtures were read moments apart: same fields and MemTotal, other figures move.
    CHECK(r->meminfo.fields.size() == alone->fields.size());
    CHECK(r->meminfo.get("MemTotal") == alone->get("MemTotal"));
    CHECK(r->vmstat.get("oom_kill").has_value());
    CHECK(r->vmstat.get("nr_free_pages").has_value());
  }
}

TEST_CASE("parseMeminfoVmstat counts lines from the start of the whole text") {
  auto r = parseMeminfoVmstat("MemTotal: 1 kB\nMemFree: 1 kB\nnr_free_pages 5\noom_kill x\n",
                              "web-01");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().line == 4);
  CHECK(r.error().column == 10);
  CHECK(r.error().format() ==
        "web-01:4:10: value of \"oom_kill\" is not a non-negative 64-bit integer: \"x\"");

  auto noMemTotal = parseMeminfoVmstat("nr_free_pages 5\n");
  REQUIRE_FALSE(noMemTotal.ok());
  CHECK_THAT(noMemTotal.error().message, Catch::Contains("no MemTotal"));

  auto onlyMeminfo = parseMeminfoVmstat("MemTotal: 1 kB\n");
  REQUIRE(onlyMeminfo.ok());
  CHECK(onlyMeminfo->vmstat.values.empty());
}
