#pragma once
// From the rule engine's alerts to the notifier's, as Prometheus hands its alerts to
// Alertmanager (rules/alerting.go sendAlerts, notifier.Manager.Send), so that the built-in
// notifier and an Alertmanager fed by the push see the same labels and fingerprints.

#include <string>
#include <string_view>
#include <vector>

#include "agent/core/labels.h"
#include "agent/rules/alerting.h"
#include "exporters/notify/alert.h"

namespace vigil::notify {

/// Pending alerts are left out; a firing alert starts at firedAt; a resolved one (inactive with
/// resolvedAt) ends at resolvedAt. External labels are added where the alert lacks the label.
/// `generatorURL` is the same for every alert of one rule (see generatorURL()). Pure.
std::vector<Alert> fromRuleAlerts(const std::vector<rules::Alert>& alerts,
                                  const Labels& externalLabels, const std::string& generatorURL);

/// Prometheus' generator URL for a rule: externalURL + "/graph?g0.expr=<expr, query-escaped as
/// Go's url.QueryEscape does>&g0.tab=1". Empty when externalURL is empty.
std::string generatorURL(std::string_view externalURL, std::string_view expr);

}  // namespace vigil::notify
