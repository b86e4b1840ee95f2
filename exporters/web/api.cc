#include "exporters/web/api.h"

#include <fmt/format.h>

#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "agent/core/duration.h"
#include "exporters/metrics/names.h"

namespace vigil::web {

std::string rfc3339(TimestampMs t) { return formatRfc3339(t); }

std::string targetsJson(const std::vector<CheckStatus>& checks) {
  nlohmann::json active = nlohmann::json::array();
  for (const auto& c : checks) {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& l : c.labels) labels[l.name] = l.value;
    labels[std::string(names::kProbe)] = c.probe;
    std::string health = "unknown";
    if (c.lastRun > 0) health = c.lastReason == FailureReason::kNone ? "up" : "down";
    active.push_back({
        {"discoveredLabels", labels},
        {"labels", labels},
        {"scrapePool", c.target},
        {"scrapeUrl", c.url.empty() ? std::string("memory://") + c.target : c.url},
        {"globalUrl", c.url.empty() ? std::string("memory://") + c.target : c.url},
        {"lastError", c.lastError},
        {"lastScrape", rfc3339(c.lastRun)},
        {"lastScrapeDuration", c.lastDurationSeconds},
        {"health", health},
        {"scrapeInterval", formatDuration(c.interval)},
        {"scrapeTimeout", formatDuration(c.timeout)},
        {"probe", c.probe},
        {"lastResult", c.lastRun > 0 ? std::string(toString(c.lastReason)) : ""},
    });
  }
  nlohmann::json body = {{"status", "success"},
                         {"data", {{"activeTargets", active},
                                   {"droppedTargets", nlohmann::json::array()}}}};
  return body.dump();
}

std::string errorJson(const std::string& type, const std::string& message) {
  return nlohmann::json{{"status", "error"}, {"errorType", type}, {"error", message}}.dump();
}

std::string probeMetricsText(const ProbeResult& r) {
  // Grouped by family so each gets one HELP/TYPE line, as the format requires.
  std::map<std::string, std::vector<const ProbeSample*>> byName;
  for (const auto& s : r.samples) byName[s.name].push_back(&s);
  std::string out;
  auto family = [&out](std::string_view name, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
  };
  family(names::kProbeDurationSeconds, "Returns how long the probe took to complete in seconds");
  out += fmt::format("{} {}\n", names::kProbeDurationSeconds, r.durationSeconds);
  for (const auto& [name, samples] : byName) {
    family(name, "See vigil's documentation");
    for (const ProbeSample* s : samples) {
      std::string labels;
      for (const auto& l : s->labels) {
        labels += fmt::format("{}{}=\"{}\"", labels.empty() ? "" : ",", l.name,
                              escapeLabelValue(l.value));
      }
      out += labels.empty() ? fmt::format("{} {}\n", name, s->value)
                            : fmt::format("{}{{{}}} {}\n", name, labels, s->value);
    }
  }
  family(names::kProbeSuccess, "Displays whether or not the probe was a success");
  out += fmt::format("{} {}\n", names::kProbeSuccess, r.success() ? 1 : 0);
  return out;
}

}  // namespace vigil::web
