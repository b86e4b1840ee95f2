#include "agent/app/config_source.h"

#include "agent/app/support.h"
#include "agent/config/default_config.h"
#include "agent/config/loader.h"
#include "agent/rules/rule_file.h"

namespace vigil {

Result<LoadedConfig> ConfigSource::load() const {
  Result<config::Config> parsed =
      file.empty() ? config::parseConfig(config::defaultConfigYaml(selfUrl, stateDir),
                                         "<embedded default>", ".")
                   : config::loadConfigFile(file);
  if (!parsed.ok()) return parsed.error();
  config::Config cfg = std::move(parsed).value();
  if (!stateDir.empty()) cfg.global.stateDir = stateDir;
  if (Status st = checkSupported(cfg); !st.ok()) return st.error();
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
