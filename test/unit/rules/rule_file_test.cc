#include <catch2/catch.hpp>

#include "agent/rules/rule_file.h"

using namespace vigil;
using namespace vigil::rules;

TEST_CASE("a valid rule file loads", "[rules][rule_file]") {
  auto r = parseRuleFile(R"(groups:
  - name: g
    interval: 30s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {team: a}
      - alert: Down
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} down"}
)",
                         "f.yml");
  REQUIRE(r.ok());
  REQUIRE(r->groups.size() == 1);
  const auto& g = r->groups[0];
  CHECK(g.interval == std::chrono::seconds(30));
  REQUIRE(g.rules.size() == 2);
  CHECK(g.rules[0].kind == RuleDef::Kind::kRecording);
  CHECK(g.rules[1].forDuration == std::chrono::minutes(5));
  CHECK(g.rules[1].keepFiringFor == std::chrono::minutes(1));
  CHECK(g.rules[1].line == 9);
  CHECK(g.rules[1].column == 15);
}

TEST_CASE("invalid rule files are rejected with positions", "[rules][rule_file]") {
  auto [content, line, column, message] = GENERATE(table<std::string, int, int, std::string>({
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x)\n", 5, 15,
       "group \"g\", rule 1, \"A\": could not parse expression: 1:6: parse error: expected type "
       "range vector in call to function \"rate\", got instant vector"},
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        bogus: 1\n",
       6, 9, "field bogus not found in type rulefmt.RuleNode"},
      {"groups:\n  - name: g\n    rules:\n      - record: a b\n        expr: up\n", 4, 17,
       "group \"g\", rule 1, \"a b\": invalid recording rule name: a b"},
      {"groups:\n  - name: g\n    rules:\n      - expr: up\n", 4, 9,
       "group \"g\", rule 1: one of 'record' or 'alert' must be set"},
      {"groups:\n  - name: g\n    rules:\n      - record: r\n        expr: up\n        for: 1m\n",
       6, 14, "group \"g\", rule 1, \"r\": invalid field 'for' in recording rule"},
      {"groups:\n  - name: g\n  - name: g\n", 3, 11,
       "f.yml: groupname: \"g\" is repeated in the same file"},
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        for: 5x\n",
       6, 14, "not a valid duration string: \"5x\""},
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels: {\"bad-name\": x}\n",
       6, 18, "invalid label name: bad-name"},
      {"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations: {s: \"{{ $labels.x\"}\n",
       6, 26, "group \"g\", rule 1, \"A\": template: __s: unclosed action"},
      {"groups: [\n", 2, 1, "end of sequence flow not found"},
      {"groupz: []\n", 1, 1, "field groupz not found in type rulefmt.RuleGroups"},
  }));
  auto r = parseRuleFile(content, "f.yml");
  INFO(content);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().file == "f.yml");
  CHECK(r.error().message == message);
  CHECK(r.error().line == line);
  CHECK(r.error().column == column);
}

TEST_CASE("loadRuleFile reports unreadable files", "[rules][rule_file]") {
  auto r = loadRuleFile("/nonexistent/rules.yml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "cannot read rule file");
}
