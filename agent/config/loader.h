#pragma once
// Loading and validating the YAML configuration (SPEC §2).

#include <string>
#include <string_view>

#include "agent/config/config.h"
#include "agent/core/error.h"

namespace vigil::config {

/// Reads `path` and parses it with parseConfig(), relative paths resolved against the file's
/// directory. An unreadable file is an Error naming the path (no line). Thread-safe.
Result<Config> loadConfigFile(const std::string& path);

/// Parses and completely validates a configuration. `fileName` is used in every Error and in
/// Config::file and positions; `baseDir` is the directory that relative paths (`rule_files`
/// globs, secret and certificate files) are resolved against ("" means the working directory).
/// Relative file paths are stored resolved. Files named by the config must exist and be
/// readable now; their contents are never read into errors.
///
/// On failure returns the first problem found as Error{message, file, line, column} (1-based),
/// pointing at the offending key or value. Never throws: yaml-cpp's exceptions are caught here.
/// Defaults: interval 5s; timeout min(3s, 80% of the interval) unless set in `global` or on the
/// target; evaluation_interval 1s; targets inherit interval and timeout from `global`.
/// Thread-safe (touches only the file system, read-only).
Result<Config> parseConfig(std::string_view yamlText, const std::string& fileName,
                           const std::string& baseDir);

}  // namespace vigil::config
