#include <catch2/catch.hpp>

#include "exporters/notify/route.h"
#include "notify_test_util.h"

using namespace vigil;
using namespace vigil::notify;
using namespace vigil::notify::test;

namespace {

// The routing tree the Alertmanager fixtures were captured with (its receivers renamed).
const char* kTree = R"(  receivers:
    - {name: hook, console: {}}
    - {name: hook2, console: {}}
  route:
    receiver: hook
    group_by: [alertname, pool]
    group_wait: 1s
    group_interval: 2s
    repeat_interval: 1h
    routes:
      - matchers: ['severity="page"', 'team=~"a|b"']
        receiver: hook
        continue: true
        routes:
          - matchers: ['env!="dev"', 'q="x\"y\\z"']
            group_by: ['...']
      - matchers: ['severity="page"']
        receiver: hook2
)";

std::unique_ptr<Route> tree(const std::string& yaml) {
  auto a = alerting(yaml);
  REQUIRE(a.route);
  auto r = Route::build(*a.route);
  if (!r) FAIL(r.error().format());
  return std::move(*r);
}

std::vector<std::string> keys(const std::vector<const Route*>& routes) {
  std::vector<std::string> out;
  for (const Route* r : routes) out.push_back(r->key() + " -> " + r->opts().receiver);
  return out;
}

}  // namespace

TEST_CASE("route keys are Alertmanager's, matchers sorted", "[notify][route]") {
  auto root = tree(kTree);
  CHECK(root->key() == "{}");
  CHECK(root->id() == "{}");
  const Route& page = *root->routes()[0];
  CHECK(page.key() == R"({}/{severity="page",team=~"a|b"})");
  CHECK(page.id() == R"({}/{severity="page",team=~"a|b"}/0)");
  CHECK(page.routes()[0]->key() == R"({}/{severity="page",team=~"a|b"}/{env!="dev",q="x\"y\\z"})");
  CHECK(root->routes()[1]->key() == R"({}/{severity="page"})");
  CHECK(root->routes()[1]->id() == R"({}/{severity="page"}/1)");
  CHECK(root->index() == 0);
  CHECK(page.index() == 1);
  CHECK(page.routes()[0]->index() == 2);
  CHECK(root->routes()[1]->index() == 3);
}

TEST_CASE("matching is depth-first with continue, as Alertmanager routed the fixtures",
          "[notify][route]") {
  auto root = tree(kTree);
  // Matched the nested route, and through `continue` the second top-level route too.
  CHECK(keys(root->match({{"alertname", "RedundancyLost"},
                          {"pool", "devschool"},
                          {"q", "x\"y\\z"},
                          {"severity", "page"},
                          {"team", "a"}})) ==
        std::vector<std::string>{
            R"({}/{severity="page",team=~"a|b"}/{env!="dev",q="x\"y\\z"} -> hook)",
            R"({}/{severity="page"} -> hook2)"});
  // team=~"a|b" is anchored: "ab" and "c" do not match it.
  for (const char* team : {"c", "ab", "xa"}) {
    CAPTURE(team);
    CHECK(keys(root->match({{"alertname", "X"}, {"severity", "page"}, {"team", team}})) ==
          std::vector<std::string>{R"({}/{severity="page"} -> hook2)"});
  }
  // The first route matches but none of its children (env="dev"): the route itself is the
  // match; then continue goes on to the second route.
  CHECK(keys(root->match({{"env", "dev"}, {"q", "x\"y\\z"}, {"severity", "page"}, {"team", "b"}})) ==
        std::vector<std::string>{R"({}/{severity="page",team=~"a|b"} -> hook)",
                                 R"({}/{severity="page"} -> hook2)"});
  // Nothing below the root matches: the root.
  CHECK(keys(root->match({{"alertname", "Empty"}})) == std::vector<std::string>{"{} -> hook"});
}

TEST_CASE("without continue the first matching sibling wins", "[notify][route]") {
  auto root = tree(R"(  receivers: [{name: a, console: {}}, {name: b, console: {}}, {name: c, console: {}}]
  route:
    receiver: a
    routes:
      - {matchers: ['x="1"'], receiver: b}
      - {matchers: ['x=~"1|2"'], receiver: c}
)");
  CHECK(keys(root->match({{"x", "1"}})) == std::vector<std::string>{R"({}/{x="1"} -> b)"});
  CHECK(keys(root->match({{"x", "2"}})) == std::vector<std::string>{R"({}/{x=~"1|2"} -> c)"});
  CHECK(keys(root->match({{"x", "3"}})) == std::vector<std::string>{"{} -> a"});
}

TEST_CASE("a missing label matches as the empty string", "[notify][route]") {
  auto root = tree(R"(  receivers: [{name: a, console: {}}, {name: b, console: {}}]
  route:
    receiver: a
    routes:
      - {matchers: ['team=""'], receiver: b}
)");
  CHECK(keys(root->match({{"x", "1"}})) == std::vector<std::string>{R"({}/{team=""} -> b)"});
  CHECK(keys(root->match({{"team", "t"}})) == std::vector<std::string>{"{} -> a"});
}

TEST_CASE("children inherit receiver, group_by and intervals; root defaults are 0s/5m/4h",
          "[notify][route]") {
  auto root = tree(R"(  receivers: [{name: a, console: {}}, {name: b, console: {}}]
  route:
    receiver: a
    routes:
      - matchers: ['x="1"']
        group_by: [pool, alertname]
        group_wait: 10s
        routes:
          - matchers: ['y="1"']
            receiver: b
            repeat_interval: 1h
            routes:
              - matchers: ['z="1"']
                group_by: ['...']
                group_interval: 1m
)");
  CHECK(root->opts().receiver == "a");
  CHECK(root->opts().groupBy.empty());
  CHECK_FALSE(root->opts().groupByAll);
  CHECK(root->opts().groupWait.count() == 0);  // Alertmanager: 30s; vigil pages at once
  CHECK(root->opts().groupInterval.count() == 5 * kMin);
  CHECK(root->opts().repeatInterval.count() == 4 * kHour);

  const Route& x = *root->routes()[0];
  CHECK(x.opts().receiver == "a");
  CHECK(x.opts().groupBy == std::vector<std::string>{"alertname", "pool"});
  CHECK(x.opts().groupWait.count() == 10 * kSec);
  CHECK(x.opts().groupInterval.count() == 5 * kMin);

  const Route& y = *x.routes()[0];
  CHECK(y.opts().receiver == "b");
  CHECK(y.opts().groupBy == std::vector<std::string>{"alertname", "pool"});
  CHECK(y.opts().groupWait.count() == 10 * kSec);
  CHECK(y.opts().repeatInterval.count() == 1 * kHour);

  const Route& z = *y.routes()[0];
  CHECK(z.opts().receiver == "b");
  CHECK(z.opts().groupByAll);
  CHECK(z.opts().groupInterval.count() == 1 * kMin);
  CHECK(z.opts().repeatInterval.count() == 1 * kHour);
  CHECK(z.key() == R"({}/{x="1"}/{y="1"}/{z="1"})");
}

TEST_CASE("group labels are the group_by labels the alert has", "[notify][route]") {
  auto root = tree(R"(  receivers: [{name: a, console: {}}, {name: b, console: {}}]
  route:
    receiver: a
    group_by: [job, missing]
    routes:
      - {matchers: ['all="1"'], receiver: b, group_by: ['...']}
)");
  Labels l{{"alertname", "J"}, {"instance", "i1"}, {"job", "x"}};
  CHECK(root->groupLabels(l) == Labels{{"job", "x"}});
  Labels m{{"all", "1"}, {"alertname", "J"}};
  CHECK(root->routes()[0]->groupLabels(m) == m);
  CHECK(root->groupLabels({{"alertname", "K"}}).empty());
}

TEST_CASE("matcher strings use OpenMetrics escaping", "[notify][route]") {
  using Op = config::Matcher::Op;
  CHECK(matcherString({"a", Op::kEqual, "x\"y\\z\n"}) == R"(a="x\"y\\z\n")");
  CHECK(matcherString({"a", Op::kNotEqual, "v"}) == R"(a!="v")");
  CHECK(matcherString({"a", Op::kRegexMatch, ".+"}) == R"(a=~".+")");
  CHECK(matcherString({"a", Op::kRegexNoMatch, "x|y"}) == R"(a!~"x|y")");
}

TEST_CASE("a braced matcher list sorts into the key like Alertmanager's", "[notify][route]") {
  // From the captured group key {}/{instance=~".+",job="x"}:{job="x"}.
  auto root = tree(R"(  receivers: [{name: a, console: {}}]
  route:
    receiver: a
    routes:
      - {matchers: ['{job="x", instance=~".+"}']}
)");
  CHECK(root->routes()[0]->key() == R"({}/{instance=~".+",job="x"})");
}
