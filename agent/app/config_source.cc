#include "agent/app/config_source.h"

#include "agent/app/support.h"
#include "agent/config/default_config.h"
#include "agent/config/loader.h"

namespace vigil {

Result<std::shared_ptr<const config::Config>> ConfigSource::load() const {
  Result<config::Config> parsed =
      file.empty() ? config::parseConfig(config::defaultConfigYaml(selfUrl, stateDir),
                                         "<embedded default>", ".")
                   : config::loadConfigFile(file);
  if (!parsed.ok()) return parsed.error();
  config::Config cfg = std::move(parsed).value();
  if (!stateDir.empty()) cfg.global.stateDir = stateDir;
  if (Status st = checkSupported(cfg); !st.ok()) return st.error();
  return std::shared_ptr<const config::Config>(
      std::make_shared<config::Config>(std::move(cfg)));
}

std::string ConfigSource::describe() const { return file.empty() ? "<embedded default>" : file; }

}  // namespace vigil
