#include "probes/parsers/exposition.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "probes/parsers/text_lines.h"

namespace vigil::parsers {

std::string_view toString(MetricType t) {
  switch (t) {
    case MetricType::kUntyped: return "untyped";
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kSummary: return "summary";
  }
  return "untyped";
}

std::optional<MetricType> metricTypeFromString(std::string_view s) {
  for (MetricType t : {MetricType::kUntyped, MetricType::kCounter, MetricType::kGauge,
                       MetricType::kHistogram, MetricType::kSummary}) {
    if (toString(t) == s) return t;
  }
  return std::nullopt;
}

namespace {

bool isNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isLabelNameChar(char c) { return isNameStart(c) || isDigit(c); }
bool isMetricNameChar(char c) { return isLabelNameChar(c) || c == ':'; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}

// Go's strconv.ParseFloat is what Prometheus uses; from_chars covers the decimal forms, and
// the sign and the spellings of NaN/Inf are handled here because from_chars takes no '+'.
std::optional<double> parseFloatValue(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  double v = 0;
  if (equalsIgnoreCase(s, "nan")) {
    v = std::numeric_limits<double>::quiet_NaN();
  } else if (equalsIgnoreCase(s, "inf") || equalsIgnoreCase(s, "infinity")) {
    v = std::numeric_limits<double>::infinity();
  } else {
    if (!isDigit(s.front()) && s.front() != '.') return std::nullopt;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) {
      // Underflow is 0, as with Go's ParseFloat. Overflow is ±Inf: Prometheus would reject the
      // whole page there, but one absurd sample should not blind the memory probe to the rest.
      // A negative exponent is the only way to underflow.
      size_t e = s.find_first_of("eE");
      bool underflow = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
      v = underflow ? 0.0 : std::numeric_limits<double>::infinity();
    } else if (ec != std::errc()) {
      return std::nullopt;
    }
    if (end != s.data() + s.size()) return std::nullopt;
  }
  return negative ? -v : v;
}

std::optional<int64_t> parseTimestamp(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Parses one line; holds the line and the position in it so that every error can name the
// column it happened at.
class LineParser {
 public:
  LineParser(std::string_view line, int number, std::string_view source)
      : line_(line), number_(number), source_(source) {}

  Error error(std::string message) const { return errorAt(pos_, std::move(message)); }
  Error errorAt(size_t pos, std::string message) const {
    return Error{std::move(message), std::string(source_), number_, toColumn(pos)};
  }

  bool atEnd() const { return pos_ >= line_.size(); }
  char peek() const { return atEnd() ? '\0' : line_[pos_]; }
  size_t pos() const { return pos_; }
  void advance() { ++pos_; }
  void skipBlanks() {
    while (!atEnd() && isBlank(line_[pos_])) ++pos_;
  }
  /// Characters up to the next blank or the end of the line.
  std::string_view word() {
    size_t start = pos_;
    while (!atEnd() && !isBlank(line_[pos_])) ++pos_;
    return line_.substr(start, pos_ - start);
  }
  std::string_view metricName() {
    size_t start = pos_;
    if (!atEnd() && (isNameStart(line_[pos_]) || line_[pos_] == ':')) {
      while (!atEnd() && isMetricNameChar(line_[pos_])) ++pos_;
    }
    return line_.substr(start, pos_ - start);
  }
  std::string_view labelName() {
    size_t start = pos_;
    if (!atEnd() && isNameStart(line_[pos_])) {
      while (!atEnd() && isLabelNameChar(line_[pos_])) ++pos_;
    }
    return line_.substr(start, pos_ - start);
  }
  std::string_view rest() {
    std::string_view r = line_.substr(pos_);
    pos_ = line_.size();
    return r;
  }

  /// A label value after its opening quote, up to and including the closing quote.
  Result<std::string> quotedValue() {
    std::string out;
    while (!atEnd()) {
      char c = line_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        if (pos_ + 1 >= line_.size()) break;
        char e = line_[pos_ + 1];
        switch (e) {
          case '\\': out += '\\'; break;
          case '"': out += '"'; break;
          case 'n': out += '\n'; break;
          default:
            return error(fmt::format("invalid escape sequence \"\\{}\" in label value", e));
        }
        pos_ += 2;
        continue;
      }
      out += c;
      ++pos_;
    }
    return error("unterminated label value (missing '\"')");
  }

  /// HELP text: `\\` and `\n` are the only escapes, as in Prometheus' parser.
  Result<std::string> helpText() {
    std::string out;
    while (!atEnd()) {
      char c = line_[pos_];
      if (c == '\\') {
        char e = pos_ + 1 < line_.size() ? line_[pos_ + 1] : '\0';
        if (e == '\\') {
          out += '\\';
        } else if (e == 'n') {
          out += '\n';
        } else {
          return error("invalid escape sequence in HELP text (only \\\\ and \\n are allowed)");
        }
        pos_ += 2;
        continue;
      }
      out += c;
      ++pos_;
    }
    return out;
  }

 private:
  std::string_view line_;
  size_t pos_ = 0;
  int number_;
  std::string_view source_;
};

Status parseComment(LineParser& p, Exposition& out) {
  p.skipBlanks();
  std::string_view keyword = p.word();
  bool help = keyword == "HELP";
  if (!help && keyword != "TYPE") return Ok{};
  p.skipBlanks();
  // "# HELP" with nothing after it is a plain comment in Prometheus' parser too.
  if (p.atEnd()) return Ok{};
  size_t namePos = p.pos();
  std::string_view name = p.metricName();
  if (name.empty() || (!p.atEnd() && !isBlank(p.peek()))) {
    return p.errorAt(namePos, fmt::format("invalid metric name in {} line", keyword));
  }
  auto [it, inserted] = out.metadata.try_emplace(std::string(name));
  MetricMetadata& meta = it->second;
  p.skipBlanks();
  if (help) {
    if (meta.help) return p.errorAt(namePos, fmt::format("second HELP line for \"{}\"", name));
    auto text = p.helpText();
    if (!text) return text.error();
    meta.help = std::move(text).value();
    return Ok{};
  }
  if (meta.hasType) return p.errorAt(namePos, fmt::format("second TYPE line for \"{}\"", name));
  size_t typePos = p.pos();
  std::string_view typeName = trimBlanks(p.rest());
  auto type = metricTypeFromString(typeName);
  if (!type) return p.errorAt(typePos, fmt::format("unknown metric type \"{}\"", typeName));
  meta.type = *type;
  meta.hasType = true;
  return Ok{};
}

// Label names of one sample with their positions; reused across lines to save allocations.
using NameScratch = std::vector<std::pair<std::string_view, size_t>>;

Status parseLabels(LineParser& p, Labels& labels, NameScratch& names) {
  // Called after '{'. Names are checked for duplicates before normalize() drops empty values,
  // so {a="",a="x"} is still an error, as it is for Prometheus. Sorting once at the end keeps
  // a line with thousands of labels O(n log n) without a set per sample.
  names.clear();
  while (true) {
    p.skipBlanks();
    if (p.atEnd()) return p.error("unterminated label set (missing '}')");
    if (p.peek() == '}') {
      p.advance();
      break;
    }
    size_t namePos = p.pos();
    std::string_view name = p.labelName();
    if (name.empty()) return p.error("expected a label name or '}'");
    if (name == kMetricNameLabel) {
      return p.errorAt(namePos, "label name \"__name__\" is reserved");
    }
    names.emplace_back(name, namePos);
    p.skipBlanks();
    if (p.peek() != '=') return p.error(fmt::format("expected '=' after label \"{}\"", name));
    p.advance();
    p.skipBlanks();
    if (p.peek() != '"') {
      return p.error(fmt::format("expected '\"' to open the value of \"{}\"", name));
    }
    p.advance();
    auto value = p.quotedValue();
    if (!value) return value.error();
    labels.push_back(Label{std::string(name), std::move(value).value()});
    p.skipBlanks();
    if (p.peek() == ',') {
      p.advance();
    } else if (p.peek() != '}') {
      return p.error("expected ',' or '}' after a label value");
    }
  }
  std::sort(names.begin(), names.end());
  for (size_t i = 1; i < names.size(); ++i) {
    if (names[i].first == names[i - 1].first) {
      return p.errorAt(names[i].second, fmt::format("duplicate label \"{}\"", names[i].first));
    }
  }
  normalize(labels);
  return Ok{};
}

Status parseSample(LineParser& p, Exposition& out, NameScratch& names) {
  Sample sample;
  size_t namePos = p.pos();
  sample.name = std::string(p.metricName());
  if (sample.name.empty()) return p.errorAt(namePos, "expected a metric name");
  p.skipBlanks();
  if (p.peek() == '{') {
    p.advance();
    if (auto st = parseLabels(p, sample.labels, names); !st) return st.error();
    p.skipBlanks();
  } else if (!p.atEnd() && p.pos() == namePos + sample.name.size()) {
    return p.error(fmt::format("unexpected character '{}' after metric name", p.peek()));
  }
  if (p.atEnd()) return p.error(fmt::format("missing value for \"{}\"", sample.name));
  size_t valuePos = p.pos();
  std::string_view valueText = p.word();
  auto value = parseFloatValue(valueText);
  if (!value) return p.errorAt(valuePos, fmt::format("invalid value \"{}\"", valueText));
  sample.value = *value;
  p.skipBlanks();
  if (!p.atEnd()) {
    size_t tsPos = p.pos();
    std::string_view tsText = p.word();
    auto ts = parseTimestamp(tsText);
    if (!ts) return p.errorAt(tsPos, fmt::format("invalid timestamp \"{}\"", tsText));
    sample.timestampMs = *ts;
    p.skipBlanks();
    if (!p.atEnd()) return p.error("unexpected text after the timestamp");
  }
  out.samples.push_back(std::move(sample));
  return Ok{};
}

}  // namespace

Result<Exposition> parseExposition(std::string_view text, std::string_view source) {
  Exposition out;
  NameScratch names;
  LineReader reader(text);
  std::string_view line;
  int number = 0;
  while (reader.next(line, number)) {
    LineParser p(line, number, source);
    p.skipBlanks();
    if (p.atEnd()) continue;
    Status st = Ok{};
    if (p.peek() == '#') {
      p.advance();
      st = parseComment(p, out);
    } else {
      st = parseSample(p, out, names);
    }
    if (!st) return st.error();
  }
  return out;
}

std::vector<Sample> nodeMemorySeries(const Exposition& page) {
  std::vector<Sample> out;
  for (const Sample& s : page.samples) {
    if (s.name.starts_with("node_memory_") || s.name == "node_vmstat_oom_kill") {
      out.push_back(s);
    }
  }
  return out;
}

}  // namespace vigil::parsers
