#pragma once
// /metrics is the series store seen through prometheus-cpp: a Collectable that turns the latest
// sample of every live series into MetricFamily values for prometheus-cpp's text serializer.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/series/series_store.h"

namespace vigil::metrics {

/// Thread-safe (reads the store under its shared lock).
class StoreCollectable final : public prometheus::Collectable {
 public:
  explicit StoreCollectable(const series::SeriesStore& store) : store_(store) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const series::SeriesStore& store_;
};

/// The exposition (text format 0.0.4) of `store`, handed to `sink` in pieces as it is made.
/// Holds no store lock while formatting (see SeriesStore::snapshotLatest).
void renderMetrics(const series::SeriesStore& store,
                   const std::function<void(std::string_view)>& sink);

/// The whole exposition as one string (tests, small stores).
std::string renderMetrics(const series::SeriesStore& store);

/// The exposition through prometheus-cpp's own TextSerializer over StoreCollectable: the
/// reference renderMetrics() is tested against.
std::string renderMetricsWithPrometheusCpp(const series::SeriesStore& store);

}  // namespace vigil::metrics
