#include "exporters/notify/fingerprint.h"

#include <fmt/format.h>

namespace vigil::notify {

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;
// Prometheus' model.SeparatorByte: never part of valid UTF-8, so ("ab","c") != ("a","bc").
constexpr unsigned char kSeparator = 0xff;

uint64_t add(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  h ^= kSeparator;
  h *= kFnvPrime;
  return h;
}

/// Go's unicode.IsPrint for the characters label values realistically hold. The ranges are the
/// Cc, Cf, Zs (other than ' '), Zl, Zp, Co and noncharacter code points of Unicode 13.
bool isPrint(char32_t r) {
  struct Range {
    char32_t lo, hi;
  };
  static constexpr Range kNotPrintable[] = {
      {0x80, 0xa0},       {0xad, 0xad},       {0x600, 0x605},     {0x61c, 0x61c},
      {0x6dd, 0x6dd},     {0x70f, 0x70f},     {0x8e2, 0x8e2},     {0x1680, 0x1680},
      {0x180e, 0x180e},   {0x2000, 0x200f},   {0x2028, 0x202f},   {0x205f, 0x2064},
      {0x2066, 0x206f},   {0x3000, 0x3000},   {0xd800, 0xf8ff},   {0xfeff, 0xfeff},
      {0xfff9, 0xfffb},   {0xfffe, 0xffff},   {0x110bd, 0x110bd}, {0x110cd, 0x110cd},
      {0x13430, 0x13438}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
      {0xe0020, 0xe007f}, {0xf0000, 0x10ffff},
  };
  for (const Range& rg : kNotPrintable) {
    if (r >= rg.lo && r <= rg.hi) return false;
  }
  return true;
}

/// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when it is not valid UTF-8
/// (bad lead byte, truncated, overlong, surrogate or beyond U+10FFFF), as Go's decoder judges.
size_t decode(std::string_view s, size_t i, char32_t* out) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  char32_t r;
  char32_t min;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, r = c & 0x1f, min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, r = c & 0x0f, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, r = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    r = (r << 6) | (b(i + k) & 0x3f);
  }
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return 0;
  *out = r;
  return n;
}

}  // namespace

Fingerprint fingerprint(const Labels& labels) {
  uint64_t h = kFnvOffset;
  for (const Label& l : labels) {
    h = add(h, l.name);
    h = add(h, l.value);
  }
  return h;
}

std::string toHex(Fingerprint fp) { return fmt::format("{:016x}", fp); }

std::string goQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out += fmt::format("\\x{:02x}", c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    char32_t r = 0;
    size_t n = decode(s, i, &r);
    if (n == 0) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    } else if (isPrint(r)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += r < 0x10000 ? fmt::format("\\u{:04x}", static_cast<uint32_t>(r))
                         : fmt::format("\\U{:08x}", static_cast<uint32_t>(r));
      i += n;
    }
  }
  out += '"';
  return out;
}

std::string labelSetString(const Labels& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += labels[i].name;
    out += '=';
    out += goQuote(labels[i].value);
  }
  out += '}';
  return out;
}

}  // namespace vigil::notify
