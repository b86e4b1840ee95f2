#include "exporters/notify/rule_alerts.h"

#include <fmt/format.h>

namespace vigil::notify {

std::vector<Alert> fromRuleAlerts(const std::vector<rules::Alert>& alerts,
                                  const Labels& externalLabels, const std::string& generatorURL) {
  std::vector<Alert> out;
  out.reserve(alerts.size());
  for (const rules::Alert& r : alerts) {
    Alert a;
    switch (r.state) {
      case rules::AlertState::kPending: continue;
      case rules::AlertState::kFiring: break;
      case rules::AlertState::kInactive:
        if (r.resolvedAt == 0) continue;
        a.resolved = true;
        a.endsAt = r.resolvedAt;
        break;
    }
    a.labels = r.labels;
    for (const Label& l : externalLabels) {
      if (get(a.labels, l.name).empty()) set(a.labels, l.name, l.value);
    }
    a.annotations = r.annotations;
    a.startsAt = r.firedAt;
    a.generatorURL = generatorURL;
    out.push_back(std::move(a));
  }
  return out;
}

std::string generatorURL(std::string_view externalURL, std::string_view expr) {
  if (externalURL.empty()) return {};
  std::string q;
  for (unsigned char c : expr) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      q += static_cast<char>(c);
    } else if (c == ' ') {
      q += '+';
    } else {
      q += fmt::format("%{:02X}", c);
    }
  }
  std::string base(externalURL);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/graph?g0.expr=" + q + "&g0.tab=1";
}

}  // namespace vigil::notify
