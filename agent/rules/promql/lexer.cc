#include "agent/rules/promql/lexer.h"

#include <cctype>
#include <unordered_set>

#include <fmt/format.h>

#include "agent/core/duration.h"

namespace vigil::promql {
namespace {

bool isAlpha(char c) { return c == '_' || std::isalpha(static_cast<unsigned char>(c)); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlnum(char c) { return isAlpha(c) || isDigit(c); }

const std::unordered_set<std::string>& keywords() {
  static const std::unordered_set<std::string> k = {
      "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
      "bool", "offset", "sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile",
      "group", "stddev", "stdvar", "count_values"};
  return k;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

int hexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool unquoteString(std::string_view q, std::string& out) {
  out.clear();
  if (q.size() < 2 || q.front() != q.back()) return false;
  char quote = q.front();
  std::string_view body = q.substr(1, q.size() - 2);
  if (quote == '`') {
    out = std::string(body);
    return body.find('`') == std::string_view::npos;
  }
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == quote || c == '\n') return false;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= body.size()) return false;
    char e = body[i];
    switch (e) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '\'':
      case '"':
        // Go only accepts the escape of the quote character in use.
        if (e != quote) return false;
        out += e;
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t n = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        uint32_t v = 0;
        for (size_t k = 1; k <= n; ++k) {
          if (i + k >= body.size()) return false;
          int h = hexVal(body[i + k]);
          if (h < 0) return false;
          v = v * 16 + static_cast<uint32_t>(h);
        }
        i += n;
        if (e == 'x') {
          out += static_cast<char>(v);
        } else {
          if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) return false;
          appendUtf8(out, v);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          if (i + 2 >= body.size()) return false;
          int v = 0;
          for (size_t k = 0; k < 3; ++k) {
            char d = body[i + k];
            if (d < '0' || d > '7') return false;
            v = v * 8 + (d - '0');
          }
          if (v > 255) return false;
          out += static_cast<char>(v);
          i += 2;
          break;
        }
        return false;
    }
  }
  return true;
}

std::vector<Token> lex(std::string_view in) {
  std::vector<Token> toks;
  size_t i = 0;
  auto push = [&](Tok k, size_t start, std::string text) {
    toks.push_back(Token{k, static_cast<int>(start), std::move(text)});
  };
  auto fail = [&](size_t at, std::string msg) {
    toks.push_back(Token{Tok::kError, static_cast<int>(at), std::move(msg)});
    return toks;
  };
  while (i < in.size()) {
    char c = in[i];
    size_t start = i;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < in.size() && in[i] != '\n') ++i;
      continue;
    }
    if (isDigit(c) || (c == '.' && i + 1 < in.size() && isDigit(in[i + 1]))) {
      std::string digits = "0123456789";
      bool hex = false;
      if (c == '0' && i + 1 < in.size() && (in[i + 1] == 'x' || in[i + 1] == 'X')) {
        hex = true;
        i += 2;
      }
      auto run = [&](bool allowHex) {
        while (i < in.size() && (isDigit(in[i]) || (allowHex && hexVal(in[i]) >= 0))) ++i;
      };
      run(hex);
      if (!hex && i < in.size() && in[i] == '.') {
        ++i;
        run(false);
      }
      if (!hex && i < in.size() && (in[i] == 'e' || in[i] == 'E') && i + 1 < in.size() &&
          (isDigit(in[i + 1]) || ((in[i + 1] == '+' || in[i + 1] == '-') && i + 2 < in.size() &&
                                  isDigit(in[i + 2])))) {
        i += 2;
        run(false);
      }
      if (i < in.size() && isAlnum(in[i])) {
        // Possibly a duration such as 5m or 1h30m: take the whole alphanumeric run.
        while (i < in.size() && isAlnum(in[i])) ++i;
        std::string_view text = in.substr(start, i - start);
        if (!parseDuration(text)) {
          return fail(start, fmt::format("bad number or duration syntax: \"{}\"", text));
        }
        push(Tok::kDuration, start, std::string(text));
        continue;
      }
      push(Tok::kNumber, start, std::string(in.substr(start, i - start)));
      continue;
    }
    // Inside a range, "[5m:1m]" is a subquery colon, not the start of a metric name.
    if (c == ':' && !toks.empty() && toks.back().kind == Tok::kDuration) {
      ++i;
      push(Tok::kColon, start, ":");
      continue;
    }
    if (isAlpha(c) || c == ':') {
      bool colon = false;
      while (i < in.size() && (isAlnum(in[i]) || in[i] == ':')) {
        colon = colon || in[i] == ':';
        ++i;
      }
      std::string word(in.substr(start, i - start));
      std::string lw = lower(word);
      if (colon) {
        push(Tok::kMetricIdentifier, start, word);
      } else if (lw == "inf" || lw == "nan") {
        push(Tok::kNumber, start, word);
      } else if (keywords().count(lw)) {
        push(Tok::kKeyword, start, word);
      } else {
        push(Tok::kIdentifier, start, word);
      }
      continue;
    }
    if (c == '"' || c == '\'' || c == '`') {
      ++i;
      while (i < in.size() && in[i] != c) {
        if (in[i] == '\\' && c != '`') ++i;
        if (c != '`' && i < in.size() && in[i] == '\n') break;
        ++i;
      }
      if (i >= in.size() || in[i] != c) return fail(start, "unterminated quoted string");
      ++i;
      std::string v;
      if (!unquoteString(in.substr(start, i - start), v)) {
        return fail(start, "invalid syntax in quoted string");
      }
      push(Tok::kString, start, v);
      continue;
    }
    auto two = [&](char n) { return i + 1 < in.size() && in[i + 1] == n; };
    Tok k = Tok::kError;
    size_t len = 1;
    switch (c) {
      case '(': k = Tok::kLParen; break;
      case ')': k = Tok::kRParen; break;
      case '{': k = Tok::kLBrace; break;
      case '}': k = Tok::kRBrace; break;
      case '[': k = Tok::kLBracket; break;
      case ']': k = Tok::kRBracket; break;
      case ',': k = Tok::kComma; break;
      case '@': k = Tok::kAt; break;
      case '+': k = Tok::kAdd; break;
      case '-': k = Tok::kSub; break;
      case '*': k = Tok::kMul; break;
      case '/': k = Tok::kDiv; break;
      case '%': k = Tok::kMod; break;
      case '^': k = Tok::kPow; break;
      case '=':
        if (two('=')) { k = Tok::kEql; len = 2; }
        else if (two('~')) { k = Tok::kEqlRegex; len = 2; }
        else { k = Tok::kAssign; }
        break;
      case '!':
        if (two('=')) { k = Tok::kNeq; len = 2; }
        else if (two('~')) { k = Tok::kNeqRegex; len = 2; }
        else {
          return fail(start, fmt::format("unexpected character after '!': '{}'",
                                         i + 1 < in.size() ? std::string(1, in[i + 1]) : ""));
        }
        break;
      case '<':
        if (two('=')) { k = Tok::kLte; len = 2; } else { k = Tok::kLss; }
        break;
      case '>':
        if (two('=')) { k = Tok::kGte; len = 2; } else { k = Tok::kGtr; }
        break;
      default:
        return fail(start, fmt::format("unexpected character: '{}'", c));
    }
    i += len;
    push(k, start, std::string(in.substr(start, len)));
  }
  push(Tok::kEof, in.size(), "");
  return toks;
}

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEof: return "end of input";
    case Tok::kError: return t.text;
    case Tok::kIdentifier: return fmt::format("identifier \"{}\"", t.text);
    case Tok::kMetricIdentifier: return fmt::format("metric identifier \"{}\"", t.text);
    case Tok::kNumber: return fmt::format("number \"{}\"", t.text);
    case Tok::kDuration: return fmt::format("duration \"{}\"", t.text);
    case Tok::kString: return "string";
    case Tok::kKeyword: return fmt::format("<{}>", t.text);
    case Tok::kLParen: return "\"(\"";
    case Tok::kRParen: return "\")\"";
    case Tok::kLBrace: return "\"{\"";
    case Tok::kRBrace: return "\"}\"";
    case Tok::kLBracket: return "\"[\"";
    case Tok::kRBracket: return "\"]\"";
    case Tok::kComma: return "\",\"";
    case Tok::kColon: return "\":\"";
    case Tok::kAt: return "\"@\"";
    case Tok::kAssign: return "\"=\"";
    case Tok::kEqlRegex: return "\"=~\"";
    case Tok::kNeqRegex: return "\"!~\"";
    case Tok::kEql: return "\"==\"";
    case Tok::kNeq: return "\"!=\"";
    case Tok::kLss: return "\"<\"";
    case Tok::kGtr: return "\">\"";
    case Tok::kLte: return "\"<=\"";
    case Tok::kGte: return "\">=\"";
    case Tok::kAdd: return "\"+\"";
    case Tok::kSub: return "\"-\"";
    case Tok::kMul: return "\"*\"";
    case Tok::kDiv: return "\"/\"";
    case Tok::kMod: return "\"%\"";
    case Tok::kPow: return "\"^\"";
  }
  return "token";
}

}  // namespace vigil::promql
