#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "agent/core/log.h"

namespace {

// Captures what one LOG_INFO call writes.
std::string capture(vigil::log::Format format) {
  char path[] = "/tmp/vigil-log-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  vigil::log::configure(vigil::log::Level::kInfo, format);
  vigil::log::setFd(fd);
  LOG_INFO("probe failed", {"url", "http://x/?a=b c"}, {"err", "say \"hi\"\nbye"}, {"n", "3"});
  LOG_DEBUG("not shown at info");
  vigil::log::setFd(2);
  std::string out(4096, '\0');
  ssize_t n = pread(fd, out.data(), out.size(), 0);
  close(fd);
  unlink(path);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

}  // namespace

TEST_CASE("logfmt quotes and escapes only the values that need it") {
  const std::string line = capture(vigil::log::Format::kLogfmt);
  REQUIRE(line.starts_with("level=info ts="));
  REQUIRE(line.find(" caller=log_test.cc:") != std::string::npos);
  REQUIRE(line.find(" msg=\"probe failed\" url=\"http://x/?a=b c\" err=\"say \\\"hi\\\"\\nbye\" n=3\n") !=
          std::string::npos);
  REQUIRE(line.find("not shown") == std::string::npos);
}

TEST_CASE("json lines are one object per line") {
  const std::string line = capture(vigil::log::Format::kJson);
  REQUIRE(line.starts_with("{\"level\":\"info\",\"ts\":\""));
  REQUIRE(line.find(",\"msg\":\"probe failed\",\"url\":\"http://x/?a=b c\","
                    "\"err\":\"say \\\"hi\\\"\\nbye\",\"n\":\"3\"}\n") != std::string::npos);
}
