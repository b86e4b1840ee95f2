#pragma once
// Reads the latest value of one series from a SeriesStore, as a scrape would show it.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/series/series_store.h"

namespace vigil::testing {

/// The latest value of the one series named `name` whose labels include `labels`; nullopt when
/// there is none.
inline std::optional<double> metricValue(
    const series::SeriesStore& store, const std::string& name,
    const std::vector<std::pair<std::string, std::string>>& labels) {
  std::optional<double> out;
  store.visitSeries(name, [&](const series::SeriesStore::SeriesView& s) {
    for (const auto& [k, v] : labels) {
      if (s.label(k) != v) return;
    }
    if (const series::Sample* latest = s.latest()) out = latest->v;
  });
  return out;
}

}  // namespace vigil::testing
