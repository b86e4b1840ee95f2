#pragma once
// Where the running configuration comes from: a file, or the embedded default. Loading always
// means parsing, validating and checking that this build supports everything asked for, so a
// reload applies all or nothing.

#include <memory>
#include <string>
#include <string_view>

#include "agent/config/config.h"
#include "agent/core/error.h"
#include "agent/rules/alerting.h"

namespace vigil {

/// A config with its rule files loaded and checked: what a (re)load applies, all or nothing.
struct LoadedConfig {
  std::shared_ptr<const config::Config> config;
  std::vector<rules::RuleGroup> groups;
};

/// Which shard a target or pool belongs to (SPEC §8): FNV-1a 64 of the name modulo `count`. A
/// pool's members go with their pool, so a pool and its members are always on one agent.
int shardOf(std::string_view name, int count);

/// Parses "N/M" (0 <= N < M); an Error says what is wrong.
Status parseShard(std::string_view s, int* index, int* count);

struct ConfigSource {
  std::string file;      ///< empty: the embedded default
  std::string stateDir;  ///< overrides global.state_dir when not empty
  std::string selfUrl;   ///< the agent's own URL, probed by the embedded default
  int shardIndex = 0;    ///< --shard N/M: this agent probes shard N (0-based) of M
  int shardCount = 1;

  /// Thread-safe (reads files only).
  Result<LoadedConfig> load() const;
  /// The file name, or "<embedded default>".
  std::string describe() const;
};

}  // namespace vigil
