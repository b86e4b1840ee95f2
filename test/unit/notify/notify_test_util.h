#pragma once
// Shared by the notifier's unit tests: configs from YAML, alerts in a line.

#include <catch2/catch.hpp>

#include <string>

#include "agent/config/loader.h"
#include "exporters/notify/alert.h"

namespace vigil::notify::test {

/// 2026-11-25T18:00:00Z: the time the captured Alertmanager fixtures use.
inline constexpr TimestampMs kT0 = 1'795'629'600'000;
inline constexpr int64_t kSec = 1000;
inline constexpr int64_t kMin = 60 * kSec;
inline constexpr int64_t kHour = 60 * kMin;

/// The `alerting:` section of a config written as YAML (indented as under `alerting:`).
inline config::Alerting alerting(const std::string& yaml) {
  auto c = config::parseConfig("alerting:\n" + yaml, "t.yaml", "/tmp");
  if (!c.ok()) FAIL(c.error().format());
  return c->alerting;
}

inline Alert firing(Labels labels, TimestampMs startsAt, Annotations annotations = {}) {
  normalize(labels);
  Alert a;
  a.labels = std::move(labels);
  a.annotations = std::move(annotations);
  a.startsAt = startsAt;
  return a;
}

inline Alert resolvedAt(Alert a, TimestampMs endsAt) {
  a.resolved = true;
  a.endsAt = endsAt;
  return a;
}

}  // namespace vigil::notify::test
