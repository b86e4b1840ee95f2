#pragma once
// JSON bodies shaped like Prometheus' HTTP API ({"status":"success","data":...}).

#include <string>
#include <vector>

#include "agent/core/check_status.h"
#include "agent/core/probe.h"

namespace vigil::web {

/// /api/v1/targets: one activeTarget per check.
std::string targetsJson(const std::vector<CheckStatus>& checks);

/// {"status":"error","errorType":type,"error":message}
std::string errorJson(const std::string& type, const std::string& message);

/// RFC 3339 with milliseconds in UTC; Go's zero time for 0, as Prometheus prints "never".
std::string rfc3339(TimestampMs t);

/// The exposition text blackbox_exporter's /probe answers with, for one probe.
std::string probeMetricsText(const ProbeResult& r);

}  // namespace vigil::web
