#include <catch2/catch.hpp>

#include "agent/rules/promql/lexer.h"
#include "agent/rules/promql/parser.h"

using namespace vigil;
using namespace vigil::promql;

TEST_CASE("lexer splits tokens with positions", "[promql][lexer]") {
  auto toks = lex("rate(foo{a=~\"x\"}[5m]) >= bool 1.5e3 # comment");
  std::vector<Tok> kinds;
  for (const auto& t : toks) kinds.push_back(t.kind);
  std::vector<Tok> want = {Tok::kIdentifier, Tok::kLParen,    Tok::kIdentifier, Tok::kLBrace,
                           Tok::kIdentifier, Tok::kEqlRegex,  Tok::kString,     Tok::kRBrace,
                           Tok::kLBracket,   Tok::kDuration,  Tok::kRBracket,   Tok::kRParen,
                           Tok::kGte,        Tok::kKeyword,   Tok::kNumber,     Tok::kEof};
  CHECK(kinds == want);
  CHECK(toks[6].text == "x");
  CHECK(toks[9].text == "5m");
  CHECK(toks[9].pos == 17);
  CHECK(toks[14].text == "1.5e3");
}

TEST_CASE("lexer unquotes Go strings", "[promql][lexer]") {
  std::string out;
  CHECK(unquoteString(R"("a\"b\n\x41\u00e9")", out));
  CHECK(out == "a\"b\nA\xc3\xa9");
  CHECK(unquoteString("`raw\\n`", out));
  CHECK(out == "raw\\n");
  CHECK(unquoteString("'single\\''", out));
  CHECK(out == "single'");
  CHECK_FALSE(unquoteString(R"("bad\q")", out));
}

TEST_CASE("good expressions parse and re-render", "[promql][parser]") {
  auto [input, rendered] = GENERATE(table<std::string, std::string>({
      {"foo", "foo"},
      {"foo{a=\"b\", c!~\"d.*\"}", "foo{a=\"b\", c!~\"d.*\"}"},
      {"{__name__=~\"a|b\"}", "{__name__=~\"a|b\"}"},
      {"rate(foo[5m])", "rate(foo[5m])"},
      {"foo offset 1m", "foo offset 1m"},
      {"foo[1h30m] offset -5m", "foo[1h30m] offset -5m"},
      {"1 + 2 * 3", "1 + 2 * 3"},
      {"-foo", "-foo"},
      {"-1", "-1"},
      {"a > bool on(x) group_left(y) b", "a > bool on(x) group_left(y) b"},
      {"a and ignoring(z) b", "a and ignoring(z) b"},
      {"sum by (job) (rate(x[1m]))", "sum by(job) (rate(x[1m]))"},
      {"sum(rate(x[1m])) without (job)", "sum without(job) (rate(x[1m]))"},
      {"topk(3, foo)", "topk(3, foo)"},
      {"SUM(foo)", "sum(foo)"},
      {"histogram_quantile(0.9, sum by (le) (rate(h[5m])))",
       "histogram_quantile(0.9, sum by(le) (rate(h[5m])))"},
      {"time()", "time()"},
      {"\"str\"", "\"str\""},
      {"(foo)", "(foo)"},
      {"foo:bar:baz", "foo:bar:baz"},
      {"Inf", "+Inf"},
      {"0x1F", "31"},
      {"sum by (a,) (foo)", "sum by(a) (foo)"},
  }));
  auto r = parseExpr(input);
  INFO(input);
  REQUIRE(r.ok());
  CHECK(toString(**r) == rendered);
}

TEST_CASE("precedence and associativity", "[promql][parser]") {
  auto r = parseExpr("2 ^ 3 ^ 2");
  REQUIRE(r.ok());
  // Right-associative: 2 ^ (3 ^ 2).
  CHECK((*r)->args[1]->kind == ExprKind::kBinary);
  r = parseExpr("1 - 2 - 3");
  REQUIRE(r.ok());
  CHECK((*r)->args[0]->kind == ExprKind::kBinary);
  r = parseExpr("a or b and c");
  REQUIRE(r.ok());
  CHECK((*r)->op == Op::kOr);
  r = parseExpr("-a ^ 2");
  REQUIRE(r.ok());
  CHECK((*r)->kind == ExprKind::kUnary);
}

TEST_CASE("bad expressions report message and position", "[promql][parser]") {
  auto [input, line, column, message] = GENERATE(table<std::string, int, int, std::string>({
      {"", 1, 1, "parse error: unexpected end of input"},
      {"foo{", 1, 5, "parse error: unexpected end of input inside braces"},
      {"foo{a=}", 1, 7, "parse error: unexpected \"}\" in label matching, expected string"},
      {"rate(foo)", 1, 6, "parse error: expected type range vector in call to function \"rate\", got instant vector"},
      {"rate(foo[5m], 1)", 1, 1, "parse error: expected 1 argument(s) in call to \"rate\", got 2"},
      {"nosuchfn(foo)", 1, 1, "parse error: unknown function with name \"nosuchfn\""},
      {"foo[5x]", 1, 5, "parse error: bad number or duration syntax: \"5x\""},
      {"1 > 2", 1, 3, "parse error: comparisons between scalars must use BOOL modifier"},
      {"foo + bool bar", 1, 5, "parse error: bool modifier can only be used on comparison operators"},
      {"1 and foo", 1, 1, "parse error: set operator \"and\" not allowed in binary scalar expression"},
      {"foo and on(a) group_left bar", 1, 1, "parse error: no grouping allowed for \"and\" operation"},
      {"{}", 1, 1, "parse error: vector selector must contain at least one non-empty matcher"},
      {"{a=~\".*\"}", 1, 1, "parse error: vector selector must contain at least one non-empty matcher"},
      {"sum(foo[5m])", 1, 5, "parse error: expected type instant vector in aggregation expression, got range vector"},
      {"topk(foo)", 1, 1, "parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"},
      {"(foo + 1)[5m]", 1, 10, "parse error: ranges only allowed for vector selectors"},
      {"foo\n  + )", 2, 5, "parse error: unexpected \")\""},
      {"foo{a=~\"(\"}", 1, 5, "parse error: error parsing regexp: missing closing ): `^(?:()$`"},
      {"5m", 1, 1, "parse error: unexpected duration \"5m\""},
      {"foo offset", 1, 11, "parse error: unexpected end of input in offset, expected duration"},
      {"sum(foo) offset 5m", 1, 1, "parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"},
      {"foo[5m:1m]", 1, 7, "parse error: subqueries are not supported"},
      {"foo @ 100", 1, 5, "parse error: the @ modifier is not supported"},
      {"foo{a=\"b\"", 1, 10, "parse error: unexpected end of input inside braces"},
      {"a + on(x) group_left(x) b", 1, 3, "parse error: label \"x\" must not occur in ON and GROUP clause at once"},
      {"foo !", 1, 5, "parse error: unexpected character after '!': ''"},
      {"\"unterminated", 1, 1, "parse error: unterminated quoted string"},
      {"-rate(x[1m])[5m]", 1, 13, "parse error: ranges only allowed for vector selectors"},
      {"clamp_min(foo, 1,)", 1, 17, "parse error: trailing commas not allowed in function call args"},
  }));
  auto r = parseExpr(input);
  INFO(input);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == message);
  CHECK(r.error().line == line);
  CHECK(r.error().column == column);
}

TEST_CASE("parseMetric reads series descriptions", "[promql][parser]") {
  auto r = parseMetric("foo{b=\"2\", a=\"1\"}");
  REQUIRE(r.ok());
  CHECK(toString(*r) == toString(Labels{{"__name__", "foo"}, {"a", "1"}, {"b", "2"}}));
  CHECK_FALSE(parseMetric("foo{a=~\"x\"}").ok());
  CHECK_FALSE(parseMetric("rate(foo[1m])").ok());
}
