#pragma once
// `vigil probe`: one probe now, printed as a human-readable trace.

#include <string>

namespace vigil {

/// Probes `url` with default settings. Exit code: 0 success, 1 failure.
int probeUrlCommand(const std::string& url, const std::string& timeout);

/// Runs every check of target `name` in `configFile`. Exit code: 0 all succeeded, 1 a probe
/// failed, 2 bad config or unknown target.
int probeTargetCommand(const std::string& configFile, const std::string& name);

}  // namespace vigil
