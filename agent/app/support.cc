#include "agent/app/support.h"

#include <fmt/format.h>

#include <map>

namespace vigil {

namespace {

Error at(const config::Position& p, std::string message) {
  return Error{std::move(message), p.file, p.line, p.column};
}

}  // namespace

Status checkSupported(const config::Config& cfg) {
  for (const auto& p : cfg.pools) {
    // A pool's frontend is probed as the target "<pool>/frontend" (Agent): no real target may
    // have that name, or the two would share series.
    if (!p.frontend.empty()) {
      const std::string name = p.name + "/frontend";
      for (const auto& t : cfg.targets) {
        if (t.name == name) {
          return at(t.position, fmt::format("target name \"{}\" is reserved for the frontend "
                                            "of pool \"{}\"", name, p.name));
        }
      }
    }
    // Two members mapped to one HAProxy server would both claim its state and traffic.
    std::map<std::string, const config::Target*> servers;
    for (const auto& t : cfg.targets) {
      if (t.pool != p.name) continue;
      const std::string& server = t.haproxyServer.empty() ? t.name : t.haproxyServer;
      auto [it, inserted] = servers.emplace(server, &t);
      if (!inserted) {
        return at(t.position,
                  fmt::format("target \"{}\" maps to HAProxy server \"{}\" of pool \"{}\", "
                              "as target \"{}\" does already", t.name, server, p.name,
                              it->second->name));
      }
    }
  }
  return Ok{};
}

}  // namespace vigil
