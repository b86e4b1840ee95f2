#pragma once
// Why a probe failed. Every value becomes the `result` label of vigil_probes_total, so the
// strings are part of the metrics contract: add values, never rename them.

#include <optional>
#include <string_view>

namespace vigil {

enum class FailureReason {
  kNone,           ///< success
  kDns,            ///< the host name did not resolve
  kRefused,        ///< connection refused (nothing listening)
  kReset,          ///< connection reset or closed early by the peer
  kTimeout,        ///< the probe's deadline passed (any phase)
  kTls,            ///< TLS handshake or certificate verification failed
  kStatus,         ///< an HTTP status outside expect_status
  kBody,           ///< body_must_contain not found
  kTooLarge,       ///< headers or body larger than the configured bound
  kRedirects,      ///< too many redirects
  kProtocol,       ///< the peer spoke something that is not valid HTTP (or SSH, ...)
  kConnect,        ///< any other connect error (network unreachable, ...)
  kAuth,           ///< authentication was refused (SSH key, HTTP 401 where expected to pass)
  kHostKey,        ///< SSH host key unknown or changed
  kParse,          ///< the response could not be parsed (meminfo, exposition text, CSV)
  kInternal,       ///< a bug or resource exhaustion inside vigil
};

/// The label value, e.g. "timeout"; kNone is "success".
std::string_view toString(FailureReason r);

/// Inverse of toString; nullopt for an unknown string.
std::optional<FailureReason> failureReasonFromString(std::string_view s);

/// Every value, in declaration order (for exhaustive tests and pre-created series).
inline constexpr FailureReason kAllFailureReasons[] = {
    FailureReason::kNone,     FailureReason::kDns,      FailureReason::kRefused,
    FailureReason::kReset,    FailureReason::kTimeout,  FailureReason::kTls,
    FailureReason::kStatus,   FailureReason::kBody,     FailureReason::kTooLarge,
    FailureReason::kRedirects, FailureReason::kProtocol, FailureReason::kConnect,
    FailureReason::kAuth,     FailureReason::kHostKey,  FailureReason::kParse,
    FailureReason::kInternal,
};

}  // namespace vigil
