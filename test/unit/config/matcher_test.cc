// Alertmanager matcher syntax: accepted forms and one case per rejection.

#include <catch2/catch.hpp>

#include "agent/config/matcher.h"

namespace vigil::config {
namespace {

using Op = Matcher::Op;

struct Good {
  const char* text;
  std::vector<Matcher> expected;
};

TEST_CASE("matchers parse in every form Alertmanager accepts") {
  auto c = GENERATE(values<Good>({
      {R"(severity="page")", {{"severity", Op::kEqual, "page"}}},
      {R"(severity!="page")", {{"severity", Op::kNotEqual, "page"}}},
      {R"(job=~"web.*")", {{"job", Op::kRegexMatch, "web.*"}}},
      {R"(job!~"db|cache")", {{"job", Op::kRegexNoMatch, "db|cache"}}},
      {"severity=page", {{"severity", Op::kEqual, "page"}}},
      {"  team = ops team  ", {{"team", Op::kEqual, "ops team"}}},
      {R"(a="")", {{"a", Op::kEqual, ""}}},
      {"a=", {{"a", Op::kEqual, ""}}},
      {R"(a="x,y")", {{"a", Op::kEqual, "x,y"}}},
      {R"(a="q\"\\\n")", {{"a", Op::kEqual, "q\"\\\n"}}},
      {R"({a="1", b=~"2.*"})", {{"a", Op::kEqual, "1"}, {"b", Op::kRegexMatch, "2.*"}}},
      {"a=1,b!=2", {{"a", Op::kEqual, "1"}, {"b", Op::kNotEqual, "2"}}},
  }));
  INFO(c.text);
  auto r = parseMatchers(c.text);
  REQUIRE(r.ok());
  CHECK(*r == c.expected);
}

struct Bad {
  const char* text;
  const char* message;
};

TEST_CASE("malformed matchers are rejected with the reason") {
  auto c = GENERATE(values<Bad>({
      {"", R"(invalid matcher "": no matcher)"},
      {"{}", R"(invalid matcher "{}": no matcher)"},
      {"{a=b", R"(invalid matcher "{a=b": missing closing })"},
      {"=b", R"(invalid matcher "=b": expected a label name)"},
      {"a b", R"(invalid matcher "a b": expected an operator (=, !=, =~ or !~) after "a")"},
      {R"(a="b)", R"(invalid matcher "a=\"b": unterminated quoted value of "a")"},
      {R"(a="\x")", R"(invalid matcher "a=\"\\x\"": unknown escape \x in the value of "a")"},
      {R"(a="b" c)", R"(invalid matcher "a=\"b\" c": unexpected "c" after the value of "a")"},
      {"a=b,", R"(invalid matcher "a=b,": trailing comma)"},
      {"a=b\"", R"(invalid matcher "a=b\"": stray quote in the value of "a")"},
      {"a=~*", R"(invalid matcher "a=~*": bad regular expression "*": no argument for repetition operator: *)"},
  }));
  INFO(c.text);
  auto r = parseMatchers(c.text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == c.message);
}

TEST_CASE("operators print as written") {
  CHECK(toString(Op::kEqual) == "=");
  CHECK(toString(Op::kNotEqual) == "!=");
  CHECK(toString(Op::kRegexMatch) == "=~");
  CHECK(toString(Op::kRegexNoMatch) == "!~");
}

}  // namespace
}  // namespace vigil::config
