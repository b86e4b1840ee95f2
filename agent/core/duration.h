#pragma once
// Prometheus duration notation: "500ms", "5s", "1m30s", "4h", "7d", "1w", "1y" (units in
// descending order, each at most once, integers only), as in Prometheus' model.ParseDuration.

#include <optional>
#include <string>
#include <string_view>

#include "agent/core/clock.h"

namespace vigil {

/// Parses Prometheus notation; nullopt when malformed or overflowing. "0" and "0s" are zero.
std::optional<Duration> parseDuration(std::string_view s);

/// Formats like Prometheus' model.Duration.String(): "1m30s", "500ms", "0s".
std::string formatDuration(Duration d);

}  // namespace vigil
