#include "agent/config/matcher.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include "agent/core/labels.h"

namespace vigil::config {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool isNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (!first && c >= '0' && c <= '9');
}

// A cursor over one matcher string; every error names the whole input so the user can find it
// in a list of similar strings.
class MatcherParser {
 public:
  explicit MatcherParser(std::string_view text) : text_(text), s_(trim(text)) {}

  Result<std::vector<Matcher>> parse() {
    if (!s_.empty() && s_.front() == '{') {
      if (s_.back() != '}') return fail("missing closing }");
      s_ = trim(s_.substr(1, s_.size() - 2));
    }
    if (s_.empty()) return fail("no matcher");
    std::vector<Matcher> out;
    while (true) {
      Result<Matcher> m = one();
      if (!m) return m.error();
      out.push_back(std::move(m).value());
      skipSpace();
      if (pos_ == s_.size()) break;
      if (s_[pos_] != ',') {
        return fail(fmt::format("unexpected {:?} after the value of {:?}", s_.substr(pos_, 1),
                                out.back().name));
      }
      ++pos_;
      skipSpace();
      if (pos_ == s_.size()) return fail("trailing comma");
    }
    return out;
  }

 private:
  Error fail(std::string_view why) const {
    return Error{fmt::format("invalid matcher {:?}: {}", text_, why), {}, 0, 0};
  }

  void skipSpace() {
    while (pos_ < s_.size() && isSpace(s_[pos_])) ++pos_;
  }

  Result<Matcher> one() {
    Matcher m;
    skipSpace();
    size_t start = pos_;
    while (pos_ < s_.size() && isNameChar(s_[pos_], pos_ == start)) ++pos_;
    m.name = std::string(s_.substr(start, pos_ - start));
    if (m.name.empty()) return fail("expected a label name");
    skipSpace();
    std::string_view rest = s_.substr(pos_);
    if (rest.starts_with("=~")) {
      m.op = Matcher::Op::kRegexMatch;
      pos_ += 2;
    } else if (rest.starts_with("!~")) {
      m.op = Matcher::Op::kRegexNoMatch;
      pos_ += 2;
    } else if (rest.starts_with("!=")) {
      m.op = Matcher::Op::kNotEqual;
      pos_ += 2;
    } else if (rest.starts_with("=")) {
      m.op = Matcher::Op::kEqual;
      pos_ += 1;
    } else {
      return fail(fmt::format("expected an operator (=, !=, =~ or !~) after {:?}", m.name));
    }
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == '"') {
      ++pos_;
      bool closed = false;
      while (pos_ < s_.size()) {
        char c = s_[pos_++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c != '\\') {
          m.value += c;
          continue;
        }
        if (pos_ == s_.size()) break;
        char e = s_[pos_++];
        switch (e) {
          case '"': m.value += '"'; break;
          case '\\': m.value += '\\'; break;
          case 'n': m.value += '\n'; break;
          case 't': m.value += '\t'; break;
          case 'r': m.value += '\r'; break;
          default: return fail(fmt::format("unknown escape \\{} in the value of {:?}", e, m.name));
        }
      }
      if (!closed) return fail(fmt::format("unterminated quoted value of {:?}", m.name));
    } else {
      size_t vstart = pos_;
      while (pos_ < s_.size() && s_[pos_] != ',') ++pos_;
      std::string_view v = trim(s_.substr(vstart, pos_ - vstart));
      if (v.find('"') != std::string_view::npos) {
        return fail(fmt::format("stray quote in the value of {:?}", m.name));
      }
      m.value = std::string(v);
    }
    if (m.op == Matcher::Op::kRegexMatch || m.op == Matcher::Op::kRegexNoMatch) {
      // Compiled on its own, not inside the anchors users apply: "a)|(b" would pass when
      // wrapped in ^(?:...)$ and then mean something other than what was written.
      RE2::Options opts;
      opts.set_log_errors(false);
      RE2 re(m.value, opts);
      if (!re.ok()) {
        return fail(fmt::format("bad regular expression {:?}: {}", m.value, re.error()));
      }
    }
    return m;
  }

  std::string_view text_;
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::vector<Matcher>> parseMatchers(std::string_view text) {
  return MatcherParser(text).parse();
}

std::string_view toString(Matcher::Op op) {
  switch (op) {
    case Matcher::Op::kEqual: return "=";
    case Matcher::Op::kNotEqual: return "!=";
    case Matcher::Op::kRegexMatch: return "=~";
    case Matcher::Op::kRegexNoMatch: return "!~";
  }
  return "?";
}

}  // namespace vigil::config
