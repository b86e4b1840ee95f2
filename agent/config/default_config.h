#pragma once
// The configuration `vigil run` uses when no --config is given.

#include <string>
#include <string_view>

namespace vigil::config {

/// YAML for a config that watches this host: one target named after the host name (gethostname,
/// "localhost" when unavailable) with `memory: {local: true}` and an http check of
/// `selfUrl` + "/-/healthy", the default 5s interval, and a console receiver that the root
/// route sends everything to. No rule files: the agent evaluates defaultRulePack() with it.
/// `stateDir` becomes global.state_dir when not empty. The result always passes parseConfig().
/// Thread-safe.
std::string defaultConfigYaml(std::string_view selfUrl, std::string_view stateDir);

/// The text of etc/rules/vigil-default.yaml as it was at build time (Prometheus rule-file YAML).
std::string_view defaultRulePack();

/// The name errors in the embedded rule pack are reported under.
inline constexpr std::string_view kDefaultRulePackName = "<embedded etc/rules/vigil-default.yaml>";

}  // namespace vigil::config
