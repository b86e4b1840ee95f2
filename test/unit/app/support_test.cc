#include <catch2/catch.hpp>

#include "agent/app/support.h"

using namespace vigil::config;

TEST_CASE("settings this build cannot run are rejected with their position") {
  Config cfg;
  cfg.file = "vigil.yaml";
  REQUIRE(vigil::checkSupported(cfg).ok());

  SECTION("memory over SSH is supported") {
    Target t;
    t.name = "web-01";
    MemoryCheck m;
    m.source = MemoryCheck::Source::kSsh;
    m.ssh.host = "127.0.0.1";
    m.position = Position{"vigil.yaml", 7, 5};
    t.memory = m;
    cfg.targets.push_back(t);
    REQUIRE(vigil::checkSupported(cfg).ok());
  }
  SECTION("local memory is supported") {
    Target t;
    t.memory = MemoryCheck{};
    cfg.targets.push_back(t);
    REQUIRE(vigil::checkSupported(cfg).ok());
  }
  SECTION("node_exporter memory is supported") {
    Target t;
    MemoryCheck m;
    m.source = MemoryCheck::Source::kNodeExporter;
    m.nodeExporter = "http://127.0.0.1:9100/metrics";
    t.memory = m;
    cfg.targets.push_back(t);
    REQUIRE(vigil::checkSupported(cfg).ok());
  }
  SECTION("rule files are supported") {
    cfg.ruleFiles = {"rules/*.yaml"};
    REQUIRE(vigil::checkSupported(cfg).ok());
  }
  SECTION("a load balancer") {
    Pool p;
    p.loadBalancer = LoadBalancer{"http://lb/stats;csv", "web"};
    p.position = Position{"vigil.yaml", 3, 5};
    cfg.pools.push_back(p);
    REQUIRE(vigil::checkSupported(cfg).error().format() ==
            "vigil.yaml:3:5: pools.load_balancer is not supported by this build yet");
  }
}
