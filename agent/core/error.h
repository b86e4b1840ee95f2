#pragma once
// Expected failures are values (STYLE rule 4): Error carries a message and, for config and rule
// files, the position it refers to; Result<T> is a value or an Error.

#include <string>
#include <utility>
#include <variant>

namespace vigil {

/// An expected failure with an optional position in a file (1-based line and column).
struct Error {
  std::string message;
  std::string file;  ///< empty when the error is not about a file
  int line = 0;      ///< 0 when unknown
  int column = 0;    ///< 0 when unknown

  /// "FILE:LINE:COL: message", "FILE: message" or "message" depending on what is known.
  std::string format() const;
};

/// Either a T or an Error. Small, copyable, no exceptions.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}        // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/// Result of an operation with no value.
struct Ok {};
using Status = Result<Ok>;

}  // namespace vigil
