#pragma once
// `vigil run`: loads the config, starts the probe loop and the web listener, and handles signals
// (SIGHUP reloads, SIGTERM/SIGINT stop) until told to stop.

#include <string>

namespace vigil {

struct RunOptions {
  std::string configFile;  ///< empty: the embedded default
  std::string stateDir;    ///< empty: the config's global.state_dir
  std::string listenAddress = ":9469";
  bool enableLifecycle = false;
  std::string webConfigFile;
  std::string shard;  ///< --shard N/M; empty: every target  ///< --web.config.file (exporter-toolkit format); empty: none
};

/// Returns the process exit code: 0 after a clean shutdown, 2 bad config, 1 runtime failure.
int runDaemon(const RunOptions& options);

}  // namespace vigil
