#include "agent/rules/promql/value.h"

#include <algorithm>

#include <fmt/format.h>
#include <re2/re2.h>

namespace vigil::promql {
namespace {

// Go's regexp/syntax wording for RE2's error codes, so messages read like Prometheus'.
const char* goRegexError(RE2::ErrorCode c) {
  switch (c) {
    case RE2::NoError: return "no error";
    case RE2::ErrorInternal: return "internal error";
    case RE2::ErrorBadEscape: return "invalid escape sequence";
    case RE2::ErrorBadCharClass: return "invalid character class";
    case RE2::ErrorBadCharRange: return "invalid character class range";
    case RE2::ErrorMissingBracket: return "missing closing ]";
    case RE2::ErrorMissingParen: return "missing closing )";
    case RE2::ErrorUnexpectedParen: return "unexpected )";
    case RE2::ErrorTrailingBackslash: return "trailing backslash at end of expression";
    case RE2::ErrorRepeatArgument: return "missing argument to repetition operator";
    case RE2::ErrorRepeatSize: return "invalid repeat count";
    case RE2::ErrorRepeatOp: return "invalid nested repetition operator";
    case RE2::ErrorBadPerlOp: return "invalid or unsupported Perl syntax";
    case RE2::ErrorBadUTF8: return "invalid UTF-8";
    case RE2::ErrorBadNamedCapture: return "invalid named capture";
    case RE2::ErrorPatternTooLarge: return "expression too large";
  }
  return "invalid regular expression";
}

}  // namespace

const char* toString(MatchType t) {
  switch (t) {
    case MatchType::kEqual: return "=";
    case MatchType::kNotEqual: return "!=";
    case MatchType::kRegexMatch: return "=~";
    case MatchType::kRegexNoMatch: return "!~";
  }
  return "?";
}

Result<Matcher> Matcher::make(MatchType type, std::string name, std::string value) {
  Matcher m;
  m.type_ = type;
  m.name_ = std::move(name);
  m.value_ = std::move(value);
  if (type == MatchType::kRegexMatch || type == MatchType::kRegexNoMatch) {
    // Prometheus anchors matchers at both ends (Go regexp: '.' does not match a newline, as
    // in RE2's default).
    RE2::Options opts;
    opts.set_log_errors(false);
    auto re = std::make_shared<RE2>("^(?:" + m.value_ + ")$", opts);
    if (!re->ok()) {
      return Error{fmt::format("error parsing regexp: {}: `{}`", goRegexError(re->error_code()),
                               re->error_arg()),
                   "", 0, 0};
    }
    m.re_ = std::move(re);
  }
  return m;
}

bool Matcher::matches(std::string_view v) const {
  switch (type_) {
    case MatchType::kEqual: return v == value_;
    case MatchType::kNotEqual: return v != value_;
    case MatchType::kRegexMatch: return RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
    case MatchType::kRegexNoMatch:
      return !RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
  }
  return false;
}

std::string Matcher::toString() const {
  std::string out = name_;
  out += promql::toString(type_);
  out += '"';
  for (char c : value_) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

bool matchesAll(const std::vector<Matcher>& matchers, const Labels& labels) {
  for (const auto& m : matchers) {
    if (!m.matches(get(labels, m.name()))) return false;
  }
  return true;
}

std::string_view SymbolSpace::str(SymbolId id) const {
  if (id & kLocalSymbol) return local_[id & ~kLocalSymbol];
  return base_ ? base_->str(id) : std::string_view{};
}

bool SymbolSpace::find(std::string_view s, SymbolId* id) const {
  if (auto it = index_.find(s); it != index_.end()) {
    *id = it->second;
    return true;
  }
  return base_ != nullptr && base_->find(s, id);
}

SymbolId SymbolSpace::intern(std::string_view s) {
  SymbolId id;
  if (find(s, &id)) return id;
  id = static_cast<SymbolId>(local_.size()) | kLocalSymbol;
  local_.emplace_back(s);
  index_.emplace(std::string_view(local_.back()), id);
  return id;
}

int compareLabels(std::span<const LabelIds> a, std::span<const LabelIds> b,
                  const SymbolSpace& symbols) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i].name != b[i].name) {
      int c = symbols.str(a[i].name).compare(symbols.str(b[i].name));
      if (c != 0) return c < 0 ? -1 : 1;
    }
    if (a[i].value != b[i].value) {
      int c = symbols.str(a[i].value).compare(symbols.str(b[i].value));
      if (c != 0) return c < 0 ? -1 : 1;
    }
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

std::unique_ptr<SelectSession> Queryable::openSession() const {
  return std::make_unique<CopyingSession>(*this);
}

SeriesIds CopyingSession::keep(Series s, SymbolSpace& symbols) {
  auto& ids = labels_.emplace_back();
  ids.reserve(s.labels.size());
  for (const auto& l : s.labels) ids.push_back({symbols.intern(l.name), symbols.intern(l.value)});
  auto& pts = points_.emplace_back(std::move(s.points));
  return SeriesIds{ids, PointsView{pts.data(), pts.size(), nullptr, 0}};
}

void CopyingSession::select(const std::vector<Matcher>& matchers, TimestampMs minT,
                            TimestampMs maxT, SymbolSpace& symbols, std::vector<SeriesIds>& out) {
  auto series = q_.select(matchers, minT, maxT);
  std::sort(series.begin(), series.end(),
            [](const Series& a, const Series& b) { return a.labels < b.labels; });
  for (auto& s : series) out.push_back(keep(std::move(s), symbols));
}

}  // namespace vigil::promql
