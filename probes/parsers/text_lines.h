#pragma once
// Line splitting shared by the parsers: every format here is line-oriented, and every error
// must name a 1-based line number, so the splitter counts lines and hides CRLF endings.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace vigil::parsers {

/// Walks `text` line by line without copying. A trailing "\r" is stripped from each line (files
/// that passed through Windows tools or HTTP bodies with CRLF). A final line without "\n" is
/// still returned; an empty text has no lines. Not thread-safe (one reader per instance).
class LineReader {
 public:
  /// `firstLine` is the number given to the first line, for texts that are slices of a larger
  /// one (e.g. the /proc/vmstat part of `cat /proc/meminfo /proc/vmstat`).
  explicit LineReader(std::string_view text, int firstLine = 1)
      : text_(text), nextLine_(firstLine) {}

  /// Stores the next line in `line` and its number in `number`; false at the end of the text.
  bool next(std::string_view& line, int& number) {
    if (pos_ >= text_.size()) return false;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;
    number = nextLine_;
    // Saturates rather than overflowing on a text of more than 2^31 lines.
    if (nextLine_ < std::numeric_limits<int>::max()) ++nextLine_;
    return true;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int nextLine_;
};

/// True for the blanks that separate fields in /proc files and the exposition format.
inline bool isBlank(char c) { return c == ' ' || c == '\t'; }

/// `s` without leading and trailing blanks.
inline std::string_view trimBlanks(std::string_view s) {
  while (!s.empty() && isBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && isBlank(s.back())) s.remove_suffix(1);
  return s;
}

/// `s` as an unsigned decimal integer: digits only (no sign, no blanks), no overflow.
inline std::optional<uint64_t> parseUint64(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

/// 1-based column for the 0-based offset `pos`, saturating on lines longer than INT_MAX.
inline int toColumn(size_t pos) {
  constexpr size_t kMax = static_cast<size_t>(std::numeric_limits<int>::max()) - 1;
  return static_cast<int>(pos < kMax ? pos : kMax) + 1;
}

/// 1-based column of `at` inside `line` (both views into the same text).
inline int columnOf(std::string_view line, const char* at) {
  return toColumn(static_cast<size_t>(at - line.data()));
}

}  // namespace vigil::parsers
