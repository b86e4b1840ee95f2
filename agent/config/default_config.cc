#include "agent/config/default_config.h"

#include <unistd.h>

#include <climits>

#include <fmt/format.h>

namespace vigil::config {

namespace {

/// A YAML double-quoted scalar: host names and paths come from outside and may hold any byte
/// that would otherwise change the document's structure.
std::string yamlQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string hostName() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

std::string defaultConfigYaml(std::string_view selfUrl, std::string_view stateDir) {
  while (!selfUrl.empty() && selfUrl.back() == '/') selfUrl.remove_suffix(1);
  std::string out = "# The embedded default: this host's memory and the agent's own health.\n";
  out += "global:\n  interval: 5s\n";
  if (!stateDir.empty()) out += fmt::format("  state_dir: {}\n", yamlQuote(stateDir));
  out += "targets:\n";
  out += fmt::format("  - name: {}\n", yamlQuote(hostName()));
  out += "    memory:\n      local: true\n";
  out += "    http:\n";
  out += fmt::format("      - url: {}\n", yamlQuote(std::string(selfUrl) + "/-/healthy"));
  out += "rule_files: []\n";
  out += "alerting:\n";
  out += "  receivers:\n    - name: console\n      console: {}\n";
  out += "  route:\n    receiver: console\n    group_by: [alertname, target]\n";
  return out;
}

}  // namespace vigil::config
