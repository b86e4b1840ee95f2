#pragma once
// Where the running configuration comes from: a file, or the embedded default. Loading always
// means parsing, validating and checking that this build supports everything asked for, so a
// reload applies all or nothing.

#include <memory>
#include <string>

#include "agent/config/config.h"
#include "agent/core/error.h"
#include "agent/rules/alerting.h"

namespace vigil {

/// A config with its rule files loaded and checked: what a (re)load applies, all or nothing.
struct LoadedConfig {
  std::shared_ptr<const config::Config> config;
  std::vector<rules::RuleGroup> groups;
};

struct ConfigSource {
  std::string file;      ///< empty: the embedded default
  std::string stateDir;  ///< overrides global.state_dir when not empty
  std::string selfUrl;   ///< the agent's own URL, probed by the embedded default

  /// Thread-safe (reads files only).
  Result<LoadedConfig> load() const;
  /// The file name, or "<embedded default>".
  std::string describe() const;
};

}  // namespace vigil
