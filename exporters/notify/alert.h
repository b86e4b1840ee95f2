#pragma once
// One alert as the notifier sees it: what the rule engine reports for each firing or recently
// resolved alert instance (pending alerts are never handed to the notifier).

#include <string>
#include <utility>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/labels.h"

namespace vigil::notify {

using Annotations = std::vector<std::pair<std::string, std::string>>;  ///< sorted by name

struct Alert {
  Labels labels;            ///< identity: alertname and the rule's and series' labels
  Annotations annotations;  ///< summary, description, runbook, ...
  TimestampMs startsAt = 0;  ///< when it started firing
  TimestampMs endsAt = 0;    ///< when resolved: the resolve time; ignored while firing
  std::string generatorURL;
  bool resolved = false;
  bool operator==(const Alert&) const = default;
};

}  // namespace vigil::notify
