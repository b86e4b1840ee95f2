#pragma once
// HMAC-SHA256 for webhook signatures: X-Vigil-Signature: sha256=<hex of HMAC(secret, body)>,
// the scheme GitHub's and many receivers' webhook verification uses.

#include <string>
#include <string_view>

namespace vigil::notify {

/// Lower-case hex of HMAC-SHA256(key, message) (64 characters). Thread-safe.
std::string hmacSha256Hex(std::string_view key, std::string_view message);

/// The X-Vigil-Signature header value: "sha256=" + hmacSha256Hex(key, body).
std::string signatureHeaderValue(std::string_view key, std::string_view body);

}  // namespace vigil::notify
