#pragma once
// PromQL tokens. The lexer is context free except for one thing Prometheus does too: a number
// immediately followed by a unit letter is a duration ("5m"), wherever it appears; the parser
// decides where durations are allowed.

#include <string>
#include <string_view>
#include <vector>

namespace vigil::promql {

enum class Tok {
  kEof, kError,
  kIdentifier,        ///< [a-zA-Z_][a-zA-Z0-9_]*
  kMetricIdentifier,  ///< an identifier containing ':'
  kNumber, kDuration, kString,
  kLParen, kRParen, kLBrace, kRBrace, kLBracket, kRBracket, kComma, kColon, kAt,
  kAssign,  ///< =
  kEqlRegex, kNeqRegex,
  kEql, kNeq, kLss, kGtr, kLte, kGte,
  kAdd, kSub, kMul, kDiv, kMod, kPow,
  kKeyword,  ///< and or unless by without on ignoring group_left group_right bool offset,
             ///< aggregators; `text` holds the word as written (keywords are case-insensitive)
};

/// One token: kind, byte offset in the input and its text (for strings: the unquoted value;
/// for errors: the message).
struct Token {
  Tok kind = Tok::kEof;
  int pos = 0;
  std::string text;
};

/// Splits a whole expression into tokens. Stops at the first error, which is the last token
/// (kind kError). Always ends with kEof or kError. Pure function, thread-safe.
std::vector<Token> lex(std::string_view input);

/// Human-readable description of a token for error messages ("identifier \"foo\"").
std::string describe(const Token& t);

/// Unquotes a Go-style quoted string ("..", '..' or `..`); false on bad escapes.
bool unquoteString(std::string_view quoted, std::string& out);

}  // namespace vigil::promql
