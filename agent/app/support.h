#pragma once
// Parts of the configuration schema that this build parses and validates but does not run yet,
// and combinations the agent cannot run (a target named like a pool's frontend, two members of a
// pool mapped to one HAProxy server). They are rejected with a clear error instead of being
// silently ignored.

#include "agent/config/config.h"
#include "agent/core/error.h"

namespace vigil {

/// An Error at the position of the first unsupported setting, or Ok.
Status checkSupported(const config::Config& cfg);

}  // namespace vigil
