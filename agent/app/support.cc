#include "agent/app/support.h"

namespace vigil {

namespace {

Error at(const config::Position& p, std::string message) {
  return Error{std::move(message), p.file, p.line, p.column};
}

}  // namespace

Status checkSupported(const config::Config& cfg) {
  for (const auto& p : cfg.pools) {
    if (p.loadBalancer) {
      return at(p.position, "pools.load_balancer is not supported by this build yet");
    }
    if (!p.frontend.empty()) {
      return at(p.position, "pools.frontend is not supported by this build yet");
    }
  }
  for (const auto& r : cfg.alerting.receivers) {
    if (r.webhook) {
      return at(r.position, "alerting.receivers[].webhook is not supported by this build yet");
    }
  }
  return Ok{};
}

}  // namespace vigil
