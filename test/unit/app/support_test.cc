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
  SECTION("a load balancer and a frontend are supported") {
    Pool p;
    p.name = "web";
    p.loadBalancer = LoadBalancer{"http://lb/stats;csv", "web"};
    p.frontend = "http://lb/";
    cfg.pools.push_back(p);
    Target t;
    t.name = "web-01";
    t.pool = "web";
    cfg.targets.push_back(t);
    REQUIRE(vigil::checkSupported(cfg).ok());
  }
  SECTION("a target named like a pool's frontend") {
    Pool p;
    p.name = "web";
    p.frontend = "http://lb/";
    cfg.pools.push_back(p);
    Target t;
    t.name = "web/frontend";
    t.position = Position{"vigil.yaml", 9, 5};
    cfg.targets.push_back(t);
    REQUIRE(vigil::checkSupported(cfg).error().format() ==
            "vigil.yaml:9:5: target name \"web/frontend\" is reserved for the frontend of pool "
            "\"web\"");
    cfg.pools.back().frontend.clear();  // without a frontend the name is free
    REQUIRE(vigil::checkSupported(cfg).ok());
  }
  SECTION("two members of a pool mapped to one HAProxy server") {
    Pool p;
    p.name = "web";
    cfg.pools.push_back(p);
    Target a;
    a.name = "web-01";
    a.pool = "web";
    Target b;
    b.name = "web-01b";
    b.pool = "web";
    b.haproxyServer = "web-01";
    b.position = Position{"vigil.yaml", 12, 5};
    cfg.targets = {a, b};
    REQUIRE(vigil::checkSupported(cfg).error().format() ==
            "vigil.yaml:12:5: target \"web-01b\" maps to HAProxy server \"web-01\" of pool "
            "\"web\", as target \"web-01\" does already");
    cfg.targets.back().haproxyServer = "web-02";
    REQUIRE(vigil::checkSupported(cfg).ok());
  }
}
