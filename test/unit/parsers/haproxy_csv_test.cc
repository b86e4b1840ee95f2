#include "probes/parsers/haproxy_csv.h"

#include <algorithm>

#include <catch2/catch.hpp>

#include "test/unit/parsers/fixtures.h"

using vigil::parsers::HaproxyRow;
using vigil::parsers::HaproxyRowType;
using vigil::parsers::HaproxyState;
using vigil::parsers::inRotation;
using vigil::parsers::parseHaproxyCsv;
using vigil::parsers::parseHaproxyState;
using vigil::parsers::serversOfBackend;

namespace {

std::vector<HaproxyRow> fixture(const std::string& name) {
  auto r = parseHaproxyCsv(vigil::test::readFixture(name), name);
  INFO(name);
  REQUIRE(r.ok());
  return std::move(r).value();
}

// By value: callers pass temporaries such as serversOfBackend(...).
HaproxyRow server(const std::vector<HaproxyRow>& rows, std::string_view name) {
  auto it = std::find_if(rows.begin(), rows.end(),
                         [&](const HaproxyRow& r) { return r.svname == name; });
  REQUIRE(it != rows.end());
  return *it;
}

}  // namespace

TEST_CASE("parseHaproxyState") {
  struct Case {
    const char* status;
    HaproxyState state;
    bool transitioning;
  };
  auto c = GENERATE(Case{"UP", HaproxyState::kUp, false},
                    Case{"UP 1/3", HaproxyState::kUp, true},
                    Case{"DOWN", HaproxyState::kDown, false},
                    Case{"DOWN 1/2", HaproxyState::kDown, true},
                    Case{"NOLB", HaproxyState::kNoLb, false},
                    Case{"NOLB 1/3", HaproxyState::kNoLb, true},
                    Case{"MAINT", HaproxyState::kMaint, false},
                    Case{"MAINT (via devschool-web/web-03)", HaproxyState::kMaint, false},
                    Case{"MAINT (resolution)", HaproxyState::kMaint, false},
                    Case{"DRAIN", HaproxyState::kDrain, false},
                    Case{"DRAIN 2/3", HaproxyState::kDrain, true},
                    Case{"DRAIN (agent)", HaproxyState::kDrain, false},
                    Case{"no check", HaproxyState::kNoCheck, false},
                    Case{"OPEN", HaproxyState::kOpen, false},
                    Case{"FULL", HaproxyState::kFull, false},
                    Case{"STOP", HaproxyState::kStop, false},
                    Case{"", HaproxyState::kUnknown, false},
                    Case{"up", HaproxyState::kUnknown, false},
                    Case{"UP x/3", HaproxyState::kUp, false});
  bool transitioning = !c.transitioning;
  INFO(c.status);
  CHECK(parseHaproxyState(c.status, &transitioning) == c.state);
  CHECK(transitioning == c.transitioning);
  CHECK(parseHaproxyState(c.status) == c.state);
}

TEST_CASE("inRotation follows HAProxy's view of a server") {
  struct Case {
    const char* status;
    std::optional<uint64_t> weight;
    HaproxyRowType type;
    bool expected;
  };
  auto c = GENERATE(Case{"UP", 1, HaproxyRowType::kServer, true},
                    Case{"UP 1/3", 1, HaproxyRowType::kServer, true},
                    Case{"UP", 0, HaproxyRowType::kServer, false},
                    Case{"UP", std::nullopt, HaproxyRowType::kServer, true},
                    Case{"no check", 1, HaproxyRowType::kServer, true},
                    Case{"no check", 0, HaproxyRowType::kServer, false},
                    Case{"DOWN", 1, HaproxyRowType::kServer, false},
                    Case{"DOWN 1/2", 1, HaproxyRowType::kServer, false},
                    Case{"NOLB", 1, HaproxyRowType::kServer, false},
                    Case{"MAINT", 1, HaproxyRowType::kServer, false},
                    Case{"MAINT (via be/s)", 1, HaproxyRowType::kServer, false},
                    Case{"DRAIN", 1, HaproxyRowType::kServer, false},
                    Case{"DRAIN 2/3", 1, HaproxyRowType::kServer, false},
                    Case{"something new", 1, HaproxyRowType::kServer, false},
                    Case{"UP", 2, HaproxyRowType::kBackend, false},
                    Case{"OPEN", std::nullopt, HaproxyRowType::kFrontend, false});
  HaproxyRow row;
  row.status = c.status;
  row.state = parseHaproxyState(c.status, &row.transitioning);
  row.weight = c.weight;
  row.type = c.type;
  INFO(c.status);
  CHECK(inRotation(row) == c.expected);
}

TEST_CASE("real HAProxy 2.6 CSV: drain, maint, down, no check") {
  auto rows = fixture("haproxy_drain.csv");
  REQUIRE(rows.size() == 10);
  const HaproxyRow& fe = rows[1];
  CHECK(fe.pxname == "web");
  CHECK(fe.type == HaproxyRowType::kFrontend);
  CHECK(fe.state == HaproxyState::kOpen);
  CHECK_FALSE(fe.weight.has_value());
  CHECK(fe.stot == 10);
  CHECK(fe.hrsp2xx == 10);

  auto servers = serversOfBackend(rows, "devschool-web");
  REQUIRE(servers.size() == 5);
  struct Expect {
    const char* name;
    HaproxyState state;
    bool inRotation;
  };
  auto e = GENERATE(Expect{"web-01", HaproxyState::kUp, true},
                    Expect{"web-02", HaproxyState::kDown, false},
                    Expect{"web-03", HaproxyState::kMaint, false},
                    Expect{"web-04", HaproxyState::kDrain, false},
                    Expect{"web-05", HaproxyState::kNoCheck, true});
  const HaproxyRow s = server(servers, e.name);
  INFO(e.name);
  CHECK(s.pxname == "devschool-web");
  CHECK(s.type == HaproxyRowType::kServer);
  CHECK(s.state == e.state);
  CHECK(inRotation(s) == e.inRotation);
  CHECK(s.weight == 1u);
  CHECK(s.act == 1);
  CHECK(s.bck == 0);
  CHECK(s.lastchg.has_value());

  const HaproxyRow be = server(rows, "BACKEND");
  CHECK(be.type == HaproxyRowType::kBackend);
  CHECK(be.act == 2);
  CHECK(serversOfBackend(rows, "static").size() == 1);
  CHECK(serversOfBackend(rows, "nope").empty());
  CHECK(serversOfBackend(rows, "web").empty());  // a frontend has no servers
}

TEST_CASE("real HAProxy CSV: traffic counters and check status") {
  auto rows = fixture("haproxy_all_down.csv");
  const HaproxyRow web01 = server(serversOfBackend(rows, "devschool-web"), "web-01");
  CHECK(web01.state == HaproxyState::kDown);
  CHECK(web01.hrsp2xx == 4);
  CHECK(web01.hrsp4xx == 2);
  CHECK(web01.stot == 6);
  CHECK(web01.checkStatus == "L4CON");
  const HaproxyRow& be = rows[7];
  CHECK(be.svname == "BACKEND");
  CHECK(be.hrsp5xx == 4);
  CHECK(be.hrspOther == 0);
  const HaproxyRow only = server(serversOfBackend(rows, "static"), "only");
  CHECK(only.weight == 0u);
  CHECK_FALSE(inRotation(only));
}

TEST_CASE("real HAProxy CSV: transitional states") {
  SECTION("a server whose first check failed is DOWN 1/2 (going up): out") {
    auto rows = fixture("haproxy_transitional.csv");
    const HaproxyRow s = server(rows, "web-01");
    CHECK(s.status == "DOWN 1/2");
    CHECK(s.transitioning);
    CHECK_FALSE(inRotation(s));
  }
  SECTION("servers failing checks are UP 2/3 / DRAIN 2/3 (going down)") {
    auto rows = fixture("haproxy_going_down.csv");
    const HaproxyRow up = server(rows, "web-01");
    CHECK(up.status == "UP 2/3");
    CHECK(up.transitioning);
    CHECK(inRotation(up));
    const HaproxyRow drain = server(rows, "web-04");
    CHECK(drain.status == "DRAIN 2/3");
    CHECK_FALSE(inRotation(drain));
  }
  SECTION("MAINT (via ...) tracking and a backup server") {
    auto rows = fixture("haproxy_track_backup.csv");
    const HaproxyRow tracked = server(rows, "web-06");
    CHECK(tracked.status == "MAINT (via devschool-web/web-03)");
    CHECK(tracked.state == HaproxyState::kMaint);
    CHECK_FALSE(inRotation(tracked));
    const HaproxyRow spare = server(rows, "spare");
    CHECK(spare.bck == 1);
    CHECK(spare.act == 0);
    CHECK(inRotation(spare));
  }
  SECTION("runtime API maint") {
    auto rows = fixture("haproxy_maint.csv");
    CHECK(server(rows, "web-02").state == HaproxyState::kMaint);
  }
  SECTION("every fixture parses") {
    auto name = GENERATE("haproxy_starting.csv", "haproxy_transitional.csv", "haproxy_drain.csv",
                         "haproxy_going_down.csv", "haproxy_all_down.csv", "haproxy_maint.csv",
                         "haproxy_track_backup.csv");
    CHECK_FALSE(fixture(name).empty());
  }
}

TEST_CASE("parseHaproxyCsv finds columns by header name, in any order") {
  auto r = parseHaproxyCsv(
      "# status,weight,svname,pxname,hrsp_5xx\r\n"
      "UP,3,s1,be,7\r\n"
      "\r\n"
      "UP,,BACKEND,be,9\r\n");
  REQUIRE(r.ok());
  REQUIRE(r->size() == 2);
  CHECK((*r)[0].svname == "s1");
  CHECK((*r)[0].weight == 3u);
  CHECK((*r)[0].hrsp5xx == 7);
  CHECK((*r)[0].type == HaproxyRowType::kServer);
  CHECK((*r)[0].line == 2);
  CHECK((*r)[1].type == HaproxyRowType::kBackend);
  CHECK((*r)[1].line == 4);
  CHECK_FALSE((*r)[1].weight.has_value());
}

TEST_CASE("parseHaproxyCsv quoted fields") {
  auto r = parseHaproxyCsv(
      "# pxname,svname,status,check_status,\n"
      "be,\"s,1\",\"MAINT (via \"\"x\"\")\",\"\",\n");
  REQUIRE(r.ok());
  CHECK((*r)[0].svname == "s,1");
  CHECK((*r)[0].status == "MAINT (via \"x\")");
  CHECK((*r)[0].state == HaproxyState::kMaint);
  CHECK((*r)[0].checkStatus.empty());
}

TEST_CASE("parseHaproxyCsv errors name the line and column") {
  struct Case {
    const char* text;
    int line;
    int column;
    const char* message;
  };
  auto c = GENERATE(
      Case{"", 0, 0, "no CSV header"},
      Case{"\n\n", 0, 0, "no CSV header"},
      Case{"pxname,svname,status\n", 1, 1, "expected the CSV header"},
      Case{"# pxname,svname\n", 1, 1, "no \"status\" column"},
      Case{"# svname,status\n", 1, 1, "no \"pxname\" column"},
      Case{"# pxname,svname,status,pxname\n", 1, 24, "duplicate column \"pxname\""},
      Case{"# pxname,svname,status\nbe,s\n", 2, 1, "row has 2 fields, the header has 3"},
      Case{"# pxname,svname,status\nbe,s,UP,x,y\n", 2, 1, "row has 5 fields"},
      Case{"# pxname,svname,status,weight\nbe,s,UP,-1\n", 2, 9,
           "\"weight\" is not a non-negative integer"},
      Case{"# pxname,svname,status,scur\nbe,s,UP,1.5\n", 2, 9, "\"scur\" is not"},
      Case{"# pxname,svname,status,hrsp_5xx\nbe,s,UP,x\n", 2, 9, "\"hrsp_5xx\" is not"},
      Case{"# pxname,svname,status,type\nbe,s,UP,7\n", 2, 9, "unknown row type \"7\""},
      Case{"# pxname,svname,status\nbe,\"s,UP\n", 2, 4, "unterminated quoted field"},
      Case{"# pxname,svname,status\nbe,\"s\"x,UP\n", 2, 7, "unexpected text after a quoted field"},
      Case{"# pxname,\"svname,status\n", 1, 10, "unterminated quoted field"});
  auto r = parseHaproxyCsv(c.text, "http://lb-01:8404/stats;csv");
  INFO(c.text);
  vigil::test::requireErrorAt(r, "http://lb-01:8404/stats;csv", c);
}

TEST_CASE("HAProxy enum names") {
  CHECK(vigil::parsers::toString(HaproxyState::kNoCheck) == "no check");
  CHECK(vigil::parsers::toString(HaproxyState::kDrain) == "DRAIN");
  CHECK(vigil::parsers::toString(HaproxyRowType::kListener) == "listener");
}
