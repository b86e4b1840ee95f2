#include "agent/core/failure_reason.h"

namespace vigil {

std::string_view toString(FailureReason r) {
  switch (r) {
    case FailureReason::kNone: return "success";
    case FailureReason::kDns: return "dns";
    case FailureReason::kRefused: return "refused";
    case FailureReason::kReset: return "reset";
    case FailureReason::kTimeout: return "timeout";
    case FailureReason::kTls: return "tls";
    case FailureReason::kStatus: return "status";
    case FailureReason::kBody: return "body";
    case FailureReason::kTooLarge: return "too_large";
    case FailureReason::kRedirects: return "redirects";
    case FailureReason::kProtocol: return "protocol";
    case FailureReason::kConnect: return "connect";
    case FailureReason::kAuth: return "auth";
    case FailureReason::kHostKey: return "host_key";
    case FailureReason::kParse: return "parse";
    case FailureReason::kInternal: return "internal";
  }
  return "internal";
}

std::optional<FailureReason> failureReasonFromString(std::string_view s) {
  for (FailureReason r : kAllFailureReasons) {
    if (toString(r) == s) return r;
  }
  return std::nullopt;
}

}  // namespace vigil
