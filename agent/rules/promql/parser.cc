#include "agent/rules/promql/parser.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "agent/core/duration.h"
#include "agent/rules/promql/lexer.h"

namespace vigil::promql {

const char* toString(Op op) {
  switch (op) {
    case Op::kAdd: return "+";
    case Op::kSub: return "-";
    case Op::kMul: return "*";
    case Op::kDiv: return "/";
    case Op::kMod: return "%";
    case Op::kPow: return "^";
    case Op::kEql: return "==";
    case Op::kNeq: return "!=";
    case Op::kGtr: return ">";
    case Op::kLss: return "<";
    case Op::kGte: return ">=";
    case Op::kLte: return "<=";
    case Op::kAnd: return "and";
    case Op::kOr: return "or";
    case Op::kUnless: return "unless";
    case Op::kSum: return "sum";
    case Op::kAvg: return "avg";
    case Op::kMin: return "min";
    case Op::kMax: return "max";
    case Op::kCount: return "count";
    case Op::kTopk: return "topk";
    case Op::kBottomk: return "bottomk";
    case Op::kQuantile: return "quantile";
    case Op::kGroup: return "group";
    case Op::kStddev: return "stddev";
    case Op::kStdvar: return "stdvar";
  }
  return "?";
}

bool isComparison(Op op) {
  return op == Op::kEql || op == Op::kNeq || op == Op::kGtr || op == Op::kLss ||
         op == Op::kGte || op == Op::kLte;
}

bool isSetOperator(Op op) { return op == Op::kAnd || op == Op::kOr || op == Op::kUnless; }

const char* toString(ValueType t) {
  switch (t) {
    case ValueType::kScalar: return "scalar";
    case ValueType::kVector: return "instant vector";
    case ValueType::kMatrix: return "range vector";
    case ValueType::kString: return "string";
  }
  return "?";
}

const FunctionSig* findFunction(std::string_view name) {
  using V = ValueType;
  static const std::vector<FunctionSig> table = {
      {"abs", {V::kVector}, 0, V::kVector},
      {"absent", {V::kVector}, 0, V::kVector},
      {"absent_over_time", {V::kMatrix}, 0, V::kVector},
      {"avg_over_time", {V::kMatrix}, 0, V::kVector},
      {"ceil", {V::kVector}, 0, V::kVector},
      {"changes", {V::kMatrix}, 0, V::kVector},
      {"clamp", {V::kVector, V::kScalar, V::kScalar}, 0, V::kVector},
      {"clamp_max", {V::kVector, V::kScalar}, 0, V::kVector},
      {"clamp_min", {V::kVector, V::kScalar}, 0, V::kVector},
      {"count_over_time", {V::kMatrix}, 0, V::kVector},
      {"delta", {V::kMatrix}, 0, V::kVector},
      {"deriv", {V::kMatrix}, 0, V::kVector},
      {"exp", {V::kVector}, 0, V::kVector},
      {"floor", {V::kVector}, 0, V::kVector},
      {"histogram_quantile", {V::kScalar, V::kVector}, 0, V::kVector},
      {"idelta", {V::kMatrix}, 0, V::kVector},
      {"increase", {V::kMatrix}, 0, V::kVector},
      {"irate", {V::kMatrix}, 0, V::kVector},
      {"last_over_time", {V::kMatrix}, 0, V::kVector},
      {"ln", {V::kVector}, 0, V::kVector},
      {"log10", {V::kVector}, 0, V::kVector},
      {"log2", {V::kVector}, 0, V::kVector},
      {"max_over_time", {V::kMatrix}, 0, V::kVector},
      {"min_over_time", {V::kMatrix}, 0, V::kVector},
      {"predict_linear", {V::kMatrix, V::kScalar}, 0, V::kVector},
      {"present_over_time", {V::kMatrix}, 0, V::kVector},
      {"quantile_over_time", {V::kScalar, V::kMatrix}, 0, V::kVector},
      {"rate", {V::kMatrix}, 0, V::kVector},
      {"resets", {V::kMatrix}, 0, V::kVector},
      {"round", {V::kVector, V::kScalar}, 1, V::kVector},
      {"scalar", {V::kVector}, 0, V::kScalar},
      {"sgn", {V::kVector}, 0, V::kVector},
      {"sqrt", {V::kVector}, 0, V::kVector},
      {"stddev_over_time", {V::kMatrix}, 0, V::kVector},
      {"stdvar_over_time", {V::kMatrix}, 0, V::kVector},
      {"sum_over_time", {V::kMatrix}, 0, V::kVector},
      {"time", {}, 0, V::kScalar},
      {"timestamp", {V::kVector}, 0, V::kVector},
      {"vector", {V::kScalar}, 0, V::kVector},
  };
  for (const auto& f : table) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

void offsetToLineCol(std::string_view input, int offset, int& line, int& column) {
  line = 1;
  column = 1;
  for (int i = 0; i < offset && i < static_cast<int>(input.size()); ++i) {
    if (input[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// Thrown inside the parser only; converted to an Error at the API boundary.
struct ParseFailure {
  int pos;
  std::string message;
};

std::optional<Op> aggregateOp(std::string_view kw) {
  if (kw == "sum") return Op::kSum;
  if (kw == "avg") return Op::kAvg;
  if (kw == "min") return Op::kMin;
  if (kw == "max") return Op::kMax;
  if (kw == "count") return Op::kCount;
  if (kw == "topk") return Op::kTopk;
  if (kw == "bottomk") return Op::kBottomk;
  if (kw == "quantile") return Op::kQuantile;
  if (kw == "group") return Op::kGroup;
  if (kw == "stddev") return Op::kStddev;
  if (kw == "stdvar") return Op::kStdvar;
  return std::nullopt;
}

double parseNumber(const std::string& text) {
  std::string l = lower(text);
  if (l == "inf" || l == "+inf") return INFINITY;
  if (l == "-inf") return -INFINITY;
  if (l == "nan") return NAN;
  if (l.size() > 2 && l[0] == '0' && l[1] == 'x') {
    return static_cast<double>(std::strtoull(l.c_str() + 2, nullptr, 16));
  }
  return std::strtod(text.c_str(), nullptr);
}

class Parser {
 public:
  explicit Parser(std::string_view input) : input_(input), toks_(lex(input)) {}

  ExprPtr parseTop() {
    if (toks_.back().kind == Tok::kError) {
      // Report lexer errors where they occur, but only once the parser reaches them, so that
      // an earlier syntax error still wins.
    }
    auto e = parseExpr(0);
    if (peek().kind != Tok::kEof) unexpected("");
    return e;
  }

 private:
  const Token& peek() const { return toks_[std::min(i_, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (t.kind == Tok::kError) throw ParseFailure{t.pos, t.text};
    if (i_ < toks_.size() - 1) ++i_;
    return t;
  }
  bool isKeyword(const Token& t, std::string_view kw) const {
    return t.kind == Tok::kKeyword && lower(t.text) == kw;
  }
  [[noreturn]] void fail(int pos, std::string msg) { throw ParseFailure{pos, std::move(msg)}; }
  [[noreturn]] void unexpected(std::string_view context, std::string_view expected = "") {
    const Token& t = peek();
    if (t.kind == Tok::kError) fail(t.pos, t.text);
    std::string msg = "unexpected " + describe(t);
    if (!context.empty()) msg += fmt::format(" in {}", context);
    if (!expected.empty()) msg += fmt::format(", expected {}", expected);
    fail(t.pos, msg);
  }
  void expect(Tok k, std::string_view context, std::string_view expected) {
    if (peek().kind != k) unexpected(context, expected);
    next();
  }

  static int precedence(const Token& t, Op& op) {
    switch (t.kind) {
      case Tok::kAdd: op = Op::kAdd; return 4;
      case Tok::kSub: op = Op::kSub; return 4;
      case Tok::kMul: op = Op::kMul; return 5;
      case Tok::kDiv: op = Op::kDiv; return 5;
      case Tok::kMod: op = Op::kMod; return 5;
      case Tok::kPow: op = Op::kPow; return 6;
      case Tok::kEql: op = Op::kEql; return 3;
      case Tok::kNeq: op = Op::kNeq; return 3;
      case Tok::kLss: op = Op::kLss; return 3;
      case Tok::kGtr: op = Op::kGtr; return 3;
      case Tok::kLte: op = Op::kLte; return 3;
      case Tok::kGte: op = Op::kGte; return 3;
      case Tok::kKeyword: {
        std::string kw = lower(t.text);
        if (kw == "or") { op = Op::kOr; return 1; }
        if (kw == "and") { op = Op::kAnd; return 2; }
        if (kw == "unless") { op = Op::kUnless; return 2; }
        return -1;
      }
      default: return -1;
    }
  }

  ExprPtr parseExpr(int minPrec) {
    ExprPtr lhs = parseUnary();
    for (;;) {
      Op op;
      int prec = precedence(peek(), op);
      if (prec < 0 || prec < minPrec) return lhs;
      int opPos = next().pos;
      auto e = std::make_shared<Expr>();
      e->kind = ExprKind::kBinary;
      e->op = op;
      e->pos = lhs->pos;
      if (isKeyword(peek(), "bool")) {
        next();
        e->returnBool = true;
      }
      bool haveMatching = false;
      if (isKeyword(peek(), "on") || isKeyword(peek(), "ignoring")) {
        haveMatching = true;
        e->matching.on = isKeyword(next(), "on");
        e->matching.labels = parseLabelList();
        if (isKeyword(peek(), "group_left") || isKeyword(peek(), "group_right")) {
          e->matching.card =
              isKeyword(next(), "group_left") ? Cardinality::kManyToOne : Cardinality::kOneToMany;
          if (peek().kind == Tok::kLParen) e->matching.include = parseLabelList();
        }
      }
      // ^ is right-associative; everything else is left-associative.
      ExprPtr rhs = parseExpr(op == Op::kPow ? prec : prec + 1);
      e->args = {lhs, rhs};
      check(*e, opPos, haveMatching);
      lhs = e;
    }
  }

  ExprPtr parseUnary() {
    if (peek().kind == Tok::kAdd || peek().kind == Tok::kSub) {
      const Token& t = next();
      bool neg = t.kind == Tok::kSub;
      int pos = t.pos;
      // Unary operators bind like '*' in Prometheus' grammar: only '^' binds tighter.
      ExprPtr operand = parseExpr(6);
      if (operand->kind == ExprKind::kNumber) {
        auto n = std::make_shared<Expr>(*operand);
        if (neg) n->number = -n->number;
        n->pos = pos;
        return n;
      }
      if (operand->type != ValueType::kScalar && operand->type != ValueType::kVector) {
        fail(pos, "unary expression only allowed on expressions of type scalar or instant vector, got \"" +
                      std::string(toString(operand->type)) + "\"");
      }
      auto e = std::make_shared<Expr>();
      e->kind = ExprKind::kUnary;
      e->op = neg ? Op::kSub : Op::kAdd;
      e->pos = pos;
      e->args = {operand};
      e->type = operand->type;
      return e;
    }
    return parsePostfix(parsePrimary());
  }

  ExprPtr parsePostfix(ExprPtr e) {
    for (;;) {
      const Token& t = peek();
      if (t.kind == Tok::kLBracket) {
        int pos = t.pos;
        next();
        if (peek().kind != Tok::kDuration) unexpected("range", "duration");
        int64_t range = durationMs(next());
        if (peek().kind == Tok::kColon) fail(peek().pos, "subqueries are not supported");
        expect(Tok::kRBracket, "range", "\"]\"");
        if (e->kind != ExprKind::kVectorSelector) {
          fail(pos, "ranges only allowed for vector selectors");
        }
        if (e->offsetMs != 0) fail(pos, "no offset modifiers allowed before range");
        auto m = std::make_shared<Expr>();
        m->kind = ExprKind::kMatrixSelector;
        m->pos = e->pos;
        m->rangeMs = range;
        m->args = {e};
        m->type = ValueType::kMatrix;
        e = m;
        continue;
      }
      if (isKeyword(t, "offset")) {
        int pos = t.pos;
        next();
        bool neg = false;
        if (peek().kind == Tok::kSub) {
          next();
          neg = true;
        } else if (peek().kind == Tok::kAdd) {
          next();
        }
        if (peek().kind != Tok::kDuration) unexpected("offset", "duration");
        int64_t off = durationMs(next());
        if (neg) off = -off;
        if (e->kind == ExprKind::kVectorSelector) {
          if (e->offsetMs != 0) fail(pos, "offset may not be set multiple times");
          auto c = std::make_shared<Expr>(*e);
          c->offsetMs = off;
          e = c;
        } else if (e->kind == ExprKind::kMatrixSelector) {
          if (e->args[0]->offsetMs != 0) fail(pos, "offset may not be set multiple times");
          auto sel = std::make_shared<Expr>(*e->args[0]);
          sel->offsetMs = off;
          auto c = std::make_shared<Expr>(*e);
          c->args = {sel};
          e = c;
        } else {
          fail(e->pos,
               "offset modifier must be preceded by an instant vector selector or range vector "
               "selector or a subquery");
        }
        continue;
      }
      if (t.kind == Tok::kAt) fail(t.pos, "the @ modifier is not supported");
      return e;
    }
  }

  int64_t durationMs(const Token& t) {
    auto d = parseDuration(t.text);
    if (!d) fail(t.pos, fmt::format("bad duration syntax: \"{}\"", t.text));
    return d->count();
  }

  ExprPtr parsePrimary() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::kNumber: {
        auto e = std::make_shared<Expr>();
        e->kind = ExprKind::kNumber;
        e->pos = t.pos;
        e->number = parseNumber(t.text);
        e->type = ValueType::kScalar;
        next();
        return e;
      }
      case Tok::kString: {
        auto e = std::make_shared<Expr>();
        e->kind = ExprKind::kString;
        e->pos = t.pos;
        e->str = t.text;
        e->type = ValueType::kString;
        next();
        return e;
      }
      case Tok::kLParen: {
        int pos = t.pos;
        next();
        auto inner = parseExpr(0);
        expect(Tok::kRParen, "paren expression", "\")\"");
        auto e = std::make_shared<Expr>();
        e->kind = ExprKind::kParen;
        e->pos = pos;
        e->args = {inner};
        e->type = inner->type;
        return e;
      }
      case Tok::kLBrace:
        return parseSelector("", t.pos);
      case Tok::kIdentifier:
      case Tok::kMetricIdentifier: {
        std::string name = t.text;
        int pos = t.pos;
        next();
        if (t.kind == Tok::kIdentifier && peek().kind == Tok::kLParen) return parseCall(name, pos);
        return parseSelector(name, pos);
      }
      case Tok::kKeyword: {
        auto op = aggregateOp(lower(t.text));
        if (op) return parseAggregate(*op);
        if (lower(t.text) == "count_values") fail(t.pos, "count_values is not supported");
        unexpected("");
      }
      case Tok::kDuration:
        fail(t.pos, fmt::format("unexpected duration \"{}\"", t.text));
      default:
        unexpected("");
    }
  }

  ExprPtr parseCall(const std::string& name, int pos) {
    const FunctionSig* f = findFunction(name);
    if (!f) fail(pos, fmt::format("unknown function with name \"{}\"", name));
    next();  // (
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::kCall;
    e->pos = pos;
    e->str = name;
    e->type = f->ret;
    if (peek().kind != Tok::kRParen) {
      for (;;) {
        e->args.push_back(parseExpr(0));
        if (peek().kind == Tok::kComma) {
          int commaPos = next().pos;
          if (peek().kind == Tok::kRParen) {
            fail(commaPos, "trailing commas not allowed in function call args");
          }
          continue;
        }
        break;
      }
    }
    expect(Tok::kRParen, "argument list", "\",\" or \")\"");
    int n = static_cast<int>(e->args.size());
    int max = static_cast<int>(f->args.size());
    int min = max - f->optional;
    if (n < min || n > max) {
      if (f->optional == 0) {
        fail(pos, fmt::format("expected {} argument(s) in call to \"{}\", got {}", max, name, n));
      }
      fail(pos, fmt::format("expected at least {} argument(s) in call to \"{}\", got {}", min,
                            name, n));
    }
    for (int i = 0; i < n; ++i) {
      checkType(*e->args[i], f->args[i], fmt::format("call to function \"{}\"", name));
    }
    return e;
  }

  void checkType(const Expr& arg, ValueType want, const std::string& context) {
    if (arg.type != want) {
      fail(arg.pos, fmt::format("expected type {} in {}, got {}", toString(want), context,
                                toString(arg.type)));
    }
  }

  ExprPtr parseAggregate(Op op) {
    int pos = next().pos;
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::kAggregate;
    e->op = op;
    e->pos = pos;
    e->type = ValueType::kVector;
    bool grouped = false;
    auto parseGrouping = [&] {
      if (grouped) fail(peek().pos, "multiple grouping clauses");
      grouped = true;
      e->without = isKeyword(next(), "without");
      e->grouping = parseLabelList();
    };
    if (isKeyword(peek(), "by") || isKeyword(peek(), "without")) parseGrouping();
    expect(Tok::kLParen, "aggregation", "\"(\"");
    std::vector<ExprPtr> args;
    if (peek().kind != Tok::kRParen) {
      for (;;) {
        args.push_back(parseExpr(0));
        if (peek().kind == Tok::kComma) {
          next();
          continue;
        }
        break;
      }
    }
    expect(Tok::kRParen, "aggregation", "\",\" or \")\"");
    if (isKeyword(peek(), "by") || isKeyword(peek(), "without")) parseGrouping();
    bool wantParam = op == Op::kTopk || op == Op::kBottomk || op == Op::kQuantile;
    size_t want = wantParam ? 2 : 1;
    if (args.size() != want) {
      fail(pos, fmt::format("wrong number of arguments for aggregate expression provided, "
                            "expected {}, got {}",
                            want, args.size()));
    }
    if (wantParam) checkType(*args[0], ValueType::kScalar, "aggregation parameter");
    checkType(*args.back(), ValueType::kVector, "aggregation expression");
    e->args = std::move(args);
    return e;
  }

  std::vector<std::string> parseLabelList() {
    expect(Tok::kLParen, "grouping opts", "\"(\"");
    std::vector<std::string> out;
    while (peek().kind != Tok::kRParen) {
      const Token& t = peek();
      if (t.kind != Tok::kIdentifier && t.kind != Tok::kKeyword) {
        unexpected("grouping opts", "label");
      }
      out.push_back(t.text);
      next();
      if (peek().kind == Tok::kComma) {
        next();
        continue;
      }
      if (peek().kind != Tok::kRParen) unexpected("grouping opts", "\",\" or \")\"");
    }
    next();
    return out;
  }

  ExprPtr parseSelector(const std::string& name, int pos) {
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::kVectorSelector;
    e->pos = pos;
    e->str = name;
    e->type = ValueType::kVector;
    if (peek().kind == Tok::kLBrace) {
      next();
      while (peek().kind != Tok::kRBrace) {
        if (peek().kind == Tok::kEof) fail(peek().pos, "unexpected end of input inside braces");
        const Token& lt = peek();
        if (lt.kind != Tok::kIdentifier && lt.kind != Tok::kKeyword) {
          unexpected("label matching", "identifier or \"}\"");
        }
        std::string lname = lt.text;
        int lpos = lt.pos;
        next();
        MatchType mt;
        switch (peek().kind) {
          case Tok::kAssign: mt = MatchType::kEqual; break;
          case Tok::kNeq: mt = MatchType::kNotEqual; break;
          case Tok::kEqlRegex: mt = MatchType::kRegexMatch; break;
          case Tok::kNeqRegex: mt = MatchType::kRegexNoMatch; break;
          default: unexpected("label matching", "label matching operator");
        }
        next();
        if (peek().kind != Tok::kString) unexpected("label matching", "string");
        const Token& vt = next();
        auto m = Matcher::make(mt, lname, vt.text);
        if (!m) fail(lpos, m.error().message);
        e->matchers.push_back(std::move(m.value()));
        if (peek().kind == Tok::kComma) {
          next();
          continue;
        }
        if (peek().kind == Tok::kEof) fail(peek().pos, "unexpected end of input inside braces");
        if (peek().kind != Tok::kRBrace) unexpected("label matching", "\",\" or \"}\"");
      }
      next();
    }
    if (!name.empty()) {
      for (const auto& m : e->matchers) {
        if (m.name() == kMetricNameLabel) {
          fail(pos, fmt::format("metric name must not be set twice: \"{}\" or \"{}\"", name,
                                m.value()));
        }
      }
      auto m = Matcher::make(MatchType::kEqual, std::string(kMetricNameLabel), name);
      e->matchers.push_back(std::move(m.value()));
    }
    bool nonEmpty = std::any_of(e->matchers.begin(), e->matchers.end(),
                                [](const Matcher& m) { return !m.matches(""); });
    if (!nonEmpty) fail(pos, "vector selector must contain at least one non-empty matcher");
    return e;
  }

  void check(Expr& e, int opPos, bool haveMatching) {
    const Expr& l = *e.args[0];
    const Expr& r = *e.args[1];
    auto okType = [](ValueType t) { return t == ValueType::kScalar || t == ValueType::kVector; };
    if (!okType(l.type) || !okType(r.type)) {
      fail(e.pos, "binary expression must contain only scalar and instant vector types");
    }
    bool bothVectors = l.type == ValueType::kVector && r.type == ValueType::kVector;
    e.type = (l.type == ValueType::kScalar && r.type == ValueType::kScalar) ? ValueType::kScalar
                                                                            : ValueType::kVector;
    if (e.returnBool && !isComparison(e.op)) {
      fail(opPos, "bool modifier can only be used on comparison operators");
    }
    if (isComparison(e.op) && !e.returnBool && e.type == ValueType::kScalar) {
      fail(opPos, "comparisons between scalars must use BOOL modifier");
    }
    if (isSetOperator(e.op)) {
      if (l.type == ValueType::kScalar || r.type == ValueType::kScalar) {
        fail(e.pos, fmt::format("set operator \"{}\" not allowed in binary scalar expression",
                                toString(e.op)));
      }
      if (e.matching.card == Cardinality::kManyToOne ||
          e.matching.card == Cardinality::kOneToMany) {
        fail(e.pos, fmt::format("no grouping allowed for \"{}\" operation", toString(e.op)));
      }
      e.matching.card = Cardinality::kManyToMany;
    }
    if (haveMatching && !bothVectors) {
      fail(opPos, "vector matching only allowed between instant vectors");
    }
    if (e.matching.on) {
      for (const auto& inc : e.matching.include) {
        if (std::find(e.matching.labels.begin(), e.matching.labels.end(), inc) !=
            e.matching.labels.end()) {
          fail(opPos, fmt::format("label \"{}\" must not occur in ON and GROUP clause at once",
                                  inc));
        }
      }
    }
  }

  std::string_view input_;
  std::vector<Token> toks_;
  size_t i_ = 0;
};

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

std::string joinLabels(const std::vector<std::string>& ls) {
  std::string out;
  for (size_t i = 0; i < ls.size(); ++i) {
    if (i) out += ", ";
    out += ls[i];
  }
  return out;
}

}  // namespace

Result<ExprPtr> parseExpr(std::string_view input) {
  try {
    Parser p(input);
    return p.parseTop();
  } catch (const ParseFailure& f) {
    Error e;
    e.message = "parse error: " + f.message;
    offsetToLineCol(input, f.pos, e.line, e.column);
    return e;
  }
}

Result<Labels> parseMetric(std::string_view input) {
  auto r = parseExpr(input);
  if (!r) return r.error();
  const Expr& e = **r;
  if (e.kind != ExprKind::kVectorSelector || e.offsetMs != 0) {
    Error err;
    err.message = "parse error: expected a series selector";
    err.line = 1;
    err.column = 1;
    return err;
  }
  Labels out;
  for (const auto& m : e.matchers) {
    if (m.type() != MatchType::kEqual) {
      Error err;
      err.message = "parse error: only '=' is allowed in a series";
      err.line = 1;
      err.column = 1;
      return err;
    }
    out.push_back(Label{m.name(), m.value()});
  }
  normalize(out);
  return out;
}

std::string toString(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kNumber: {
      if (std::isnan(e.number)) return "NaN";
      if (std::isinf(e.number)) return e.number > 0 ? "+Inf" : "-Inf";
      return fmt::format("{}", e.number);
    }
    case ExprKind::kString: return quote(e.str);
    case ExprKind::kVectorSelector: {
      std::string out = e.str;
      std::string inner;
      for (const auto& m : e.matchers) {
        if (m.name() == kMetricNameLabel && m.type() == MatchType::kEqual && !e.str.empty()) continue;
        if (!inner.empty()) inner += ", ";
        inner += m.toString();
      }
      if (!inner.empty() || out.empty()) out += "{" + inner + "}";
      if (e.offsetMs != 0) {
        out += " offset ";
        if (e.offsetMs < 0) out += "-";
        out += formatDuration(Duration(std::abs(e.offsetMs)));
      }
      return out;
    }
    case ExprKind::kMatrixSelector: {
      const Expr& sel = *e.args[0];
      Expr noOff = sel;
      noOff.offsetMs = 0;
      std::string out = toString(noOff) + "[" + formatDuration(Duration(e.rangeMs)) + "]";
      if (sel.offsetMs != 0) {
        out += " offset ";
        if (sel.offsetMs < 0) out += "-";
        out += formatDuration(Duration(std::abs(sel.offsetMs)));
      }
      return out;
    }
    case ExprKind::kParen: return "(" + toString(*e.args[0]) + ")";
    case ExprKind::kUnary: return std::string(toString(e.op)) + toString(*e.args[0]);
    case ExprKind::kBinary: {
      std::string out = toString(*e.args[0]) + " " + toString(e.op);
      if (e.returnBool) out += " bool";
      const auto& m = e.matching;
      if (m.on || !m.labels.empty()) {
        out += m.on ? " on(" : " ignoring(";
        out += joinLabels(m.labels) + ")";
      }
      if (m.card == Cardinality::kManyToOne || m.card == Cardinality::kOneToMany) {
        out += m.card == Cardinality::kManyToOne ? " group_left(" : " group_right(";
        out += joinLabels(m.include) + ")";
      }
      return out + " " + toString(*e.args[1]);
    }
    case ExprKind::kCall: {
      std::string out = e.str + "(";
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i) out += ", ";
        out += toString(*e.args[i]);
      }
      return out + ")";
    }
    case ExprKind::kAggregate: {
      std::string out = toString(e.op);
      if (e.without || !e.grouping.empty()) {
        out += e.without ? " without(" : " by(";
        out += joinLabels(e.grouping) + ") ";
      }
      out += "(";
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i) out += ", ";
        out += toString(*e.args[i]);
      }
      return out + ")";
    }
  }
  return "";
}

}  // namespace vigil::promql
