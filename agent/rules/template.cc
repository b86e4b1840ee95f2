#include "agent/rules/template.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "agent/rules/promql/engine.h"
#include "agent/rules/promql/lexer.h"

namespace vigil::rules {
namespace {

using promql::formatFloat;
using promql::formatFloatG;

/// A template value: Go's string, float64 or map[string]string.
struct TValue {
  enum class Kind { kString, kNumber, kMap, kNone } kind = Kind::kNone;
  std::string s;
  double n = 0;
  Labels m;
  bool isInt = false;  ///< an integer literal: Go passes it to functions as int
};

TValue str(std::string s) { return TValue{TValue::Kind::kString, std::move(s), 0, {}}; }
TValue num(double n) { return TValue{TValue::Kind::kNumber, "", n, {}}; }
TValue map(Labels m) { return TValue{TValue::Kind::kMap, "", 0, std::move(m)}; }

struct Failure {
  std::string message;
};
[[noreturn]] void fail(std::string m) { throw Failure{std::move(m)}; }

std::string goTypeName(const TValue& v) {
  switch (v.kind) {
    case TValue::Kind::kString: return "string";
    case TValue::Kind::kNumber: return v.isInt ? "int" : "float64";
    case TValue::Kind::kMap: return "map[string]string";
    case TValue::Kind::kNone: return "<nil>";
  }
  return "?";
}

std::string printV(const TValue& v) {
  switch (v.kind) {
    case TValue::Kind::kString: return v.s;
    case TValue::Kind::kNumber:
      return v.isInt ? fmt::format("{}", static_cast<int64_t>(v.n)) : formatFloat(v.n);
    case TValue::Kind::kMap: {
      std::string out = "map[";
      for (size_t i = 0; i < v.m.size(); ++i) {
        if (i) out += " ";
        out += v.m[i].name + ":" + v.m[i].value;
      }
      return out + "]";
    }
    case TValue::Kind::kNone: return "<no value>";
  }
  return "";
}

double toFloat(const TValue& v) {
  switch (v.kind) {
    case TValue::Kind::kNumber: return v.n;
    case TValue::Kind::kString: {
      auto f = promql::parseGoFloat(v.s);
      if (!f) fail(fmt::format("strconv.ParseFloat: parsing \"{}\": invalid syntax", v.s));
      return *f;
    }
    default: fail("can't convert " + goTypeName(v) + " to float");
  }
}

std::string goQuote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string pad(std::string s, int width, bool left, bool zero) {
  if (width <= 0 || static_cast<int>(s.size()) >= width) return s;
  size_t n = static_cast<size_t>(width) - s.size();
  if (left) return s + std::string(n, ' ');
  if (zero) {
    size_t signPos = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    return s.substr(0, signPos) + std::string(n, '0') + s.substr(signPos);
  }
  return std::string(n, ' ') + s;
}

std::string goSprintf(std::string_view f, const std::vector<TValue>& args) {
  std::string out;
  size_t argi = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    ++i;
    bool minus = false, plus = false, zero = false, space = false, sharp = false;
    for (; i < f.size(); ++i) {
      char c = f[i];
      if (c == '-') minus = true;
      else if (c == '+') plus = true;
      else if (c == '0') zero = true;
      else if (c == ' ') space = true;
      else if (c == '#') sharp = true;
      else break;
    }
    // Go rejects widths and precisions above 1e6 (%!(BADWIDTH)); so do we, which also keeps
    // a hostile template from allocating gigabytes of padding.
    constexpr int kMaxWidth = 1'000'000;
    int width = -1, prec = -1;
    bool badWidth = false, badPrec = false;
    while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) {
      width = (width < 0 ? 0 : width) * 10 + (f[i++] - '0');
      if (width > kMaxWidth) {
        badWidth = true;
        width = kMaxWidth;
      }
    }
    if (i < f.size() && f[i] == '.') {
      ++i;
      prec = 0;
      while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) {
        prec = prec * 10 + (f[i++] - '0');
        if (prec > kMaxWidth) {
          badPrec = true;
          prec = kMaxWidth;
        }
      }
    }
    if (badWidth) {
      out += "%!(BADWIDTH)";
      width = -1;
    }
    if (badPrec) {
      out += "%!(BADPREC)";
      prec = -1;
    }
    if (i >= f.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = f[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (argi >= args.size()) {
      out += fmt::format("%!{}(MISSING)", verb);
      continue;
    }
    const TValue& a = args[argi++];
    std::string s;
    auto bad = [&] { return fmt::format("%!{}({}={})", verb, goTypeName(a), printV(a)); };
    std::string cflags;
    if (plus) cflags += '+';
    if (space) cflags += ' ';
    if (sharp) cflags += '#';
    auto cfmt = [&](char v) {
      char buf[512];
      std::string spec = "%" + cflags + (prec >= 0 ? "." + std::to_string(prec) : "") + v;
      std::snprintf(buf, sizeof buf, spec.c_str(), a.n);
      return std::string(buf);
    };
    switch (verb) {
      case 'v':
        s = printV(a);
        if (plus && a.kind == TValue::Kind::kNumber && !std::signbit(a.n) && !std::isnan(a.n) &&
            !std::isinf(a.n)) {
          s = "+" + s;
        }
        break;
      case 's':
        if (a.kind == TValue::Kind::kNumber) {
          s = bad();
        } else {
          s = printV(a);
          if (prec >= 0 && static_cast<int>(s.size()) > prec) s.resize(static_cast<size_t>(prec));
        }
        break;
      case 'q':
        s = a.kind == TValue::Kind::kString ? goQuote(a.s) : bad();
        break;
      case 'd':
        if (a.kind == TValue::Kind::kNumber && a.isInt) {
          s = fmt::format("{}", static_cast<int64_t>(a.n));
          if (plus && a.n >= 0) s = "+" + s;
        } else {
          s = bad();
        }
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        if (a.kind != TValue::Kind::kNumber || a.isInt) {
          s = bad();
        } else if (std::isnan(a.n)) {
          s = "NaN";
        } else if (std::isinf(a.n)) {
          s = a.n > 0 ? (plus ? "+Inf" : "+Inf") : "-Inf";
        } else if ((verb == 'g' || verb == 'G') && prec < 0) {
          s = formatFloat(a.n);
          if (plus && a.n >= 0) s = "+" + s;
        } else {
          s = cfmt(verb == 'F' ? 'f' : verb);
        }
        // Go never pads Inf/NaN with zeros.
        if (std::isnan(a.n) || std::isinf(a.n)) zero = false;
        break;
      case 'x':
      case 'X':
        if (a.kind == TValue::Kind::kString) {
          for (unsigned char c : a.s) {
            s += verb == 'x' ? fmt::format("{:02x}", c) : fmt::format("{:02X}", c);
          }
        } else {
          s = bad();
        }
        break;
      case 't':
        s = bad();
        break;
      default:
        s = fmt::format("%!{}({}={})", verb, goTypeName(a), printV(a));
    }
    out += pad(s, width, minus, zero && !minus);
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argi; k < args.size(); ++k) {
      if (k > argi) out += ", ";
      out += goTypeName(args[k]) + "=" + printV(args[k]);
    }
    out += ")";
  }
  return out;
}

std::string humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return formatFloatG(v, 4);
  static const char* big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
  static const char* small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  std::string prefix;
  if (std::fabs(v) >= 1) {
    for (const char* p : big) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return formatFloatG(v, 4) + prefix;
  }
  for (const char* p : small) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return formatFloatG(v, 4) + prefix;
}

std::string humanize1024(double v) {
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return formatFloatG(v, 4);
  static const char* big[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
  std::string prefix;
  for (const char* p : big) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return formatFloatG(v, 4) + prefix;
}

std::string humanizeDuration(double v) {
  if (std::isnan(v) || std::isinf(v)) return formatFloatG(v, 4);
  if (v == 0) return formatFloatG(v, 4) + "s";
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    auto d = static_cast<int64_t>(v);
    int64_t seconds = d % 60;
    int64_t minutes = (d / 60) % 60;
    int64_t hours = (d / 60 / 60) % 24;
    int64_t days = d / 60 / 60 / 24;
    if (days != 0) return fmt::format("{}{}d {}h {}m {}s", sign, days, hours, minutes, seconds);
    if (hours != 0) return fmt::format("{}{}h {}m {}s", sign, hours, minutes, seconds);
    if (minutes != 0) return fmt::format("{}{}m {}s", sign, minutes, seconds);
    return sign + formatFloatG(v, 4) + "s";
  }
  static const char* small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
  std::string prefix;
  for (const char* p : small) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return formatFloatG(v, 4) + prefix + "s";
}

// ---- parsing -------------------------------------------------------------------------------

struct Operand {
  enum class Kind { kVar, kField, kString, kNumber, kIdent } kind;
  std::string name;                 // variable name without '$' / identifier
  std::vector<std::string> fields;  // .a.b chain
  std::string s;
  double n = 0;
  bool isInt = false;
};
using Command = std::vector<Operand>;
using Pipeline = std::vector<Command>;

struct Node {
  bool isText = true;
  std::string text;
  Pipeline pipe;
};

bool isIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

Pipeline parsePipeline(std::string_view a) {
  Pipeline pipe;
  Command cmd;
  size_t i = 0;
  while (i < a.size()) {
    char c = a[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '|') {
      if (cmd.empty()) fail("missing command");
      pipe.push_back(std::move(cmd));
      cmd.clear();
      ++i;
      continue;
    }
    Operand op{};
    if (c == '$' || c == '.') {
      op.kind = c == '$' ? Operand::Kind::kVar : Operand::Kind::kField;
      size_t j = i + 1;
      if (c == '$') {
        while (j < a.size() && isIdentChar(a[j])) ++j;
        op.name = std::string(a.substr(i + 1, j - i - 1));
      }
      // Field chain: .Name.x (for '.', the first segment may directly follow).
      size_t k = c == '.' ? i : j;
      while (k < a.size() && a[k] == '.') {
        size_t e = k + 1;
        while (e < a.size() && isIdentChar(a[e])) ++e;
        if (e == k + 1) {
          if (c == '.' && k == i) break;  // bare "." is the root
          fail("bad field syntax");
        }
        op.fields.emplace_back(a.substr(k + 1, e - k - 1));
        k = e;
      }
      i = std::max(k, c == '.' && op.fields.empty() ? i + 1 : k);
    } else if (c == '"' || c == '`') {
      size_t j = i + 1;
      while (j < a.size() && a[j] != c) {
        if (a[j] == '\\' && c == '"') ++j;
        ++j;
      }
      if (j >= a.size()) fail("unterminated quoted string");
      op.kind = Operand::Kind::kString;
      if (!promql::unquoteString(a.substr(i, j - i + 1), op.s)) fail("invalid syntax in string");
      i = j + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+') {
      size_t j = i + 1;
      while (j < a.size() && (std::isalnum(static_cast<unsigned char>(a[j])) || a[j] == '.' ||
                              ((a[j] == '-' || a[j] == '+') && (a[j - 1] == 'e' || a[j - 1] == 'E')))) {
        ++j;
      }
      auto v = promql::parseGoFloat(a.substr(i, j - i));
      if (!v) fail(fmt::format("bad number syntax: \"{}\"", a.substr(i, j - i)));
      op.kind = Operand::Kind::kNumber;
      op.n = *v;
      std::string_view lit = a.substr(i, j - i);
      op.isInt = lit.find_first_of(".eEpP") == std::string_view::npos ||
                 (lit.size() > 2 && (lit[1] == 'x' || lit[1] == 'X') &&
                  lit.find_first_of(".pP") == std::string_view::npos);
      i = j;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < a.size() && isIdentChar(a[j])) ++j;
      op.kind = Operand::Kind::kIdent;
      op.name = std::string(a.substr(i, j - i));
      static const char* kw[] = {"if", "else", "end", "range", "with", "define", "template",
                                 "block", "break", "continue"};
      for (const char* k : kw) {
        if (op.name == k) fail(fmt::format("unsupported action \"{}\"", op.name));
      }
      static const char* fns[] = {"humanize", "humanize1024", "humanizePercentage",
                                  "humanizeDuration", "printf", "toUpper", "toLower", "print",
                                  "nil", "true", "false"};
      bool known = false;
      for (const char* k : fns) known = known || op.name == k;
      if (!known) fail(fmt::format("function \"{}\" not defined", op.name));
      i = j;
    } else {
      fail(fmt::format("unexpected \"{}\" in command", c));
    }
    cmd.push_back(std::move(op));
  }
  if (cmd.empty()) fail(pipe.empty() ? "missing value for command" : "missing command");
  pipe.push_back(std::move(cmd));
  return pipe;
}

std::vector<Node> parseTemplate(std::string_view t) {
  std::vector<Node> nodes;
  size_t i = 0;
  while (i < t.size()) {
    size_t open = t.find("{{", i);
    std::string text(t.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i));
    if (open == std::string_view::npos) {
      nodes.push_back(Node{true, text, {}});
      break;
    }
    size_t start = open + 2;
    bool trimLeft = start + 1 < t.size() && t[start] == '-' &&
                    std::isspace(static_cast<unsigned char>(t[start + 1]));
    if (trimLeft) {
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
      start += 1;
    }
    nodes.push_back(Node{true, text, {}});
    // Find the closing }} outside quotes.
    size_t j = start;
    char quote = 0;
    size_t close = std::string_view::npos;
    while (j + 1 < t.size() + 1 && j < t.size()) {
      char c = t[j];
      if (quote) {
        if (c == '\\' && quote == '"') {
          j += 2;
          continue;
        }
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '`') {
        quote = c;
      } else if (c == '}' && j + 1 < t.size() && t[j + 1] == '}') {
        close = j;
        break;
      }
      ++j;
    }
    if (close == std::string_view::npos) fail("unclosed action");
    size_t end = close;
    bool trimRight = end >= 2 && t[end - 1] == '-' &&
                     std::isspace(static_cast<unsigned char>(t[end - 2]));
    if (trimRight) end -= 1;
    std::string_view action = t.substr(start, end - start);
    // Trim spaces to detect comments.
    size_t b = action.find_first_not_of(" \t\r\n");
    std::string_view trimmed = b == std::string_view::npos ? std::string_view{} : action.substr(b);
    if (trimmed.substr(0, 2) == "/*") {
      size_t e = trimmed.find_last_not_of(" \t\r\n");
      if (trimmed.substr(0, e + 1).size() < 4 || trimmed.substr(e - 1, 2) != "*/") {
        fail("unclosed comment");
      }
    } else {
      if (trimmed.empty()) fail("missing value for command");
      nodes.push_back(Node{false, "", parsePipeline(action)});
    }
    i = close + 2;
    if (trimRight) {
      while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
    }
  }
  return nodes;
}

// ---- evaluation ----------------------------------------------------------------------------

TValue field(TValue v, const std::vector<std::string>& fields, size_t from) {
  for (size_t k = from; k < fields.size(); ++k) {
    if (v.kind != TValue::Kind::kMap) {
      fail(fmt::format("can't evaluate field {} in type {}", fields[k], goTypeName(v)));
    }
    v = str(std::string(get(v.m, fields[k])));
  }
  return v;
}

TValue rootField(const std::string& name, const TemplateData& d) {
  if (name == "Labels") return map(d.labels);
  if (name == "Value") return num(d.value);
  if (name == "ExternalLabels") return map(d.externalLabels);
  if (name == "ExternalURL") return str(d.externalURL);
  fail(fmt::format("can't evaluate field {} in type *template.tmplData", name));
}

TValue evalOperand(const Operand& op, const TemplateData& d) {
  switch (op.kind) {
    case Operand::Kind::kString: return str(op.s);
    case Operand::Kind::kNumber: {
      TValue v = num(op.n);
      v.isInt = op.isInt;
      return v;
    }
    case Operand::Kind::kVar: {
      TValue base;
      if (op.name == "labels") base = map(d.labels);
      else if (op.name == "value") base = num(d.value);
      else if (op.name == "externalLabels") base = map(d.externalLabels);
      else if (op.name == "externalURL") base = str(d.externalURL);
      else if (op.name.empty()) {
        if (op.fields.empty()) fail("can't print the root data");
        return field(rootField(op.fields[0], d), op.fields, 1);
      } else {
        fail(fmt::format("undefined variable \"${}\"", op.name));
      }
      return field(base, op.fields, 0);
    }
    case Operand::Kind::kField:
      if (op.fields.empty()) fail("can't print the root data");
      return field(rootField(op.fields[0], d), op.fields, 1);
    case Operand::Kind::kIdent: fail("unexpected identifier");
  }
  fail("bad operand");
}

TValue callFunction(const std::string& name, const std::vector<TValue>& args) {
  auto one = [&] {
    if (args.size() != 1) {
      fail(fmt::format("wrong number of args for {}: want 1 got {}", name, args.size()));
    }
    return args[0];
  };
  if (name == "humanize") return str(humanize(toFloat(one())));
  if (name == "humanize1024") return str(humanize1024(toFloat(one())));
  if (name == "humanizeDuration") return str(humanizeDuration(toFloat(one())));
  if (name == "humanizePercentage") return str(formatFloatG(toFloat(one()) * 100, 4) + "%");
  if (name == "toUpper" || name == "toLower") {
    TValue a = one();
    if (a.kind != TValue::Kind::kString) fail("wrong type for value; expected string");
    for (auto& c : a.s) {
      c = static_cast<char>(name == "toUpper" ? std::toupper(static_cast<unsigned char>(c))
                                              : std::tolower(static_cast<unsigned char>(c)));
    }
    return a;
  }
  if (name == "printf") {
    if (args.empty()) fail("wrong number of args for printf: want at least 1 got 0");
    if (args[0].kind != TValue::Kind::kString) fail("wrong type for value; expected string");
    return str(goSprintf(args[0].s, std::vector<TValue>(args.begin() + 1, args.end())));
  }
  if (name == "print") {
    std::string out;
    for (size_t i = 0; i < args.size(); ++i) {
      // fmt.Sprint adds spaces between operands when neither is a string.
      if (i > 0 && args[i].kind != TValue::Kind::kString &&
          args[i - 1].kind != TValue::Kind::kString) {
        out += " ";
      }
      out += printV(args[i]);
    }
    return str(out);
  }
  fail(fmt::format("function \"{}\" not defined", name));
}

TValue evalPipeline(const Pipeline& pipe, const TemplateData& d) {
  TValue prev;
  bool havePrev = false;
  for (const auto& cmd : pipe) {
    if (cmd[0].kind == Operand::Kind::kIdent) {
      std::vector<TValue> args;
      for (size_t k = 1; k < cmd.size(); ++k) args.push_back(evalOperand(cmd[k], d));
      if (havePrev) args.push_back(prev);
      prev = callFunction(cmd[0].name, args);
    } else {
      if (cmd.size() > 1 || havePrev) fail("can't give argument to non-function");
      prev = evalOperand(cmd[0], d);
    }
    havePrev = true;
  }
  return prev;
}

}  // namespace

Result<std::string> expandTemplate(std::string_view text, const TemplateData& data) {
  try {
    std::string out;
    for (const auto& n : parseTemplate(text)) {
      if (n.isText) {
        out += n.text;
      } else {
        out += printV(evalPipeline(n.pipe, data));
      }
    }
    return out;
  } catch (const Failure& f) {
    return Error{f.message, "", 0, 0};
  }
}

Status checkTemplate(std::string_view text) {
  try {
    parseTemplate(text);
    return Ok{};
  } catch (const Failure& f) {
    return Error{f.message, "", 0, 0};
  }
}

}  // namespace vigil::rules
