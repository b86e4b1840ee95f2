#include "agent/app/config_source.h"

#include "agent/app/support.h"
#include "agent/config/default_config.h"
#include "agent/config/loader.h"
#include "agent/rules/rule_file.h"

namespace vigil {

int shardOf(std::string_view name, int count) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return count <= 1 ? 0 : static_cast<int>(h % static_cast<uint64_t>(count));
}

Status parseShard(std::string_view s, int* index, int* count) {
  const auto slash = s.find('/');
  auto number = [](std::string_view t, int* out) {
    if (t.empty() || t.size() > 6) return false;
    int v = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
  };
  if (slash == std::string_view::npos || !number(s.substr(0, slash), index) ||
      !number(s.substr(slash + 1), count)) {
    return Error{"--shard: want N/M, e.g. 0/2 (shard N of M, counting from 0), got \"" +
                 std::string(s) + "\""};
  }
  if (*count < 1 || *index >= *count) {
    return Error{"--shard " + std::string(s) + ": N must be 0 to M-1 and M at least 1"};
  }
  return Ok{};
}

Result<LoadedConfig> ConfigSource::load() const {
  Result<config::Config> parsed =
      file.empty() ? config::parseConfig(config::defaultConfigYaml(selfUrl, stateDir),
                                         "<embedded default>", ".")
                   : config::loadConfigFile(file);
  if (!parsed.ok()) return parsed.error();
  config::Config cfg = std::move(parsed).value();
  if (!stateDir.empty()) cfg.global.stateDir = stateDir;
  if (Status st = checkSupported(cfg); !st.ok()) return st.error();
  if (shardCount > 1) {
    // Only this shard's targets and pools; a pool member goes with its pool.
    std::erase_if(cfg.targets, [&](const config::Target& t) {
      return shardOf(t.pool.empty() ? t.name : t.pool, shardCount) != shardIndex;
    });
    std::erase_if(cfg.pools, [&](const config::Pool& p) {
      return shardOf(p.name, shardCount) != shardIndex;
    });
  }
  auto groups = rules::loadRuleGroups(cfg.ruleFilePaths, cfg.global.externalLabels);
  if (!groups.ok()) return groups.error();
  if (file.empty()) {
    // The embedded default evaluates the default pack that is compiled in.
    auto pack = rules::parseRuleFile(config::defaultRulePack(),
                                     std::string(config::kDefaultRulePackName));
    if (!pack.ok()) return pack.error();
    for (auto& g : pack->groups) groups->emplace_back(std::move(g), cfg.global.externalLabels);
  }
  return LoadedConfig{std::make_shared<config::Config>(std::move(cfg)), std::move(groups).value()};
}

std::string ConfigSource::describe() const { return file.empty() ? "<embedded default>" : file; }

}  // namespace vigil
