// vigil_notify_replay CONFIG.yaml STEPS.json: runs the notifier's dispatcher over a scripted
// sequence of alert sets in virtual time and prints what it decides, so that integration tests
// can compare it with a real Alertmanager given the same routing tree and alerts.
//
// STEPS.json: {"externalURL": "...", "steps": [{"now": ms, "alerts": [{"labels": {..},
//   "annotations": {..}, "startsAt": ms, "endsAt": ms, "generatorURL": "..", "resolved": bool}]}]}
// Or: vigil_notify_replay --rule-alert EXTERNAL_URL EXPR LABELS_JSON EXTERNAL_LABELS_JSON.
// Output, one JSON object per line:
//   {"fingerprint": "<16 hex>", "labels": {..}}   for every distinct label set in the steps
//   {"step": i, "receiver": .., "groupKey": .., "resolved": .., "contentType": .., "body": ..}
// Exit codes: 0 ok, 2 bad arguments, config or steps.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "agent/config/loader.h"
#include "exporters/notify/dispatcher.h"
#include "exporters/notify/rule_alerts.h"

using namespace vigil;
using namespace vigil::notify;
using nlohmann::json;

namespace {

Alert parseAlert(const json& j) {
  Alert a;
  for (const auto& [k, v] : j.at("labels").items()) a.labels.push_back({k, v.get<std::string>()});
  normalize(a.labels);
  if (j.contains("annotations")) {
    for (const auto& [k, v] : j["annotations"].items()) {
      a.annotations.emplace_back(k, v.get<std::string>());
    }
  }
  a.startsAt = j.value("startsAt", int64_t{0});
  a.endsAt = j.value("endsAt", int64_t{0});
  a.generatorURL = j.value("generatorURL", "");
  a.resolved = j.value("resolved", false);
  return a;
}

}  // namespace

/// --rule-alert EXTERNAL_URL EXPR LABELS_JSON EXTERNAL_LABELS_JSON: one firing alert of a rule
/// through fromRuleAlerts(); prints {"labels", "fingerprint", "generatorURL"}.
int ruleAlert(char** argv) {
  try {
    rules::Alert r;
    r.state = rules::AlertState::kFiring;
    const json labels = json::parse(argv[4]);
    for (auto it = labels.begin(); it != labels.end(); ++it) {
      r.labels.push_back({it.key(), it.value().get<std::string>()});
    }
    normalize(r.labels);
    Labels external;
    const json externalJson = json::parse(argv[5]);
    for (auto it = externalJson.begin(); it != externalJson.end(); ++it) {
      external.push_back({it.key(), it.value().get<std::string>()});
    }
    normalize(external);
    auto out = fromRuleAlerts({r}, external, generatorURL(argv[2], argv[3]));
    json l = json::object();
    for (const Label& x : out.at(0).labels) l[x.name] = x.value;
    std::cout << json{{"labels", l},
                      {"fingerprint", toHex(fingerprint(out[0].labels))},
                      {"generatorURL", out[0].generatorURL}}
                     .dump()
              << "\n";
  } catch (const json::exception& e) {
    std::fprintf(stderr, "vigil_notify_replay: %s\n", e.what());
    return 2;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 6 && std::string_view(argv[1]) == "--rule-alert") return ruleAlert(argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: vigil_notify_replay CONFIG.yaml STEPS.json\n");
    return 2;
  }
  auto cfg = config::loadConfigFile(argv[1]);
  if (!cfg) {
    std::fprintf(stderr, "vigil_notify_replay: %s\n", cfg.error().format().c_str());
    return 2;
  }
  json steps;
  try {
    std::ifstream in(argv[2]);
    steps = json::parse(in);
    DispatcherOptions opts;
    opts.externalURL = steps.value("externalURL", "");
    auto d = Dispatcher::create(cfg->alerting, opts);
    if (!d) {
      std::fprintf(stderr, "vigil_notify_replay: %s\n", d.error().format().c_str());
      return 2;
    }
    std::set<Fingerprint> printed;
    int i = 0;
    for (const json& step : steps.at("steps")) {
      std::vector<Alert> alerts;
      for (const json& a : step.at("alerts")) alerts.push_back(parseAlert(a));
      for (const Alert& a : alerts) {
        Fingerprint fp = fingerprint(a.labels);
        if (!printed.insert(fp).second) continue;
        json l = json::object();
        for (const Label& x : a.labels) l[x.name] = x.value;
        std::cout << json{{"fingerprint", toHex(fp)}, {"labels", l}}.dump() << "\n";
      }
      for (const Notification& n : (*d)->update(alerts, step.at("now").get<int64_t>())) {
        std::cout << json{{"step", i},
                          {"receiver", n.receiver},
                          {"groupKey", n.groupKey},
                          {"resolved", n.resolved},
                          {"contentType", n.contentType},
                          {"body", n.body}}
                         .dump()
                  << "\n";
      }
      ++i;
    }
  } catch (const json::exception& e) {
    std::fprintf(stderr, "vigil_notify_replay: %s: %s\n", argv[2], e.what());
    return 2;
  }
  return 0;
}
