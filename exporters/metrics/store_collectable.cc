#include "exporters/metrics/store_collectable.h"

#include <prometheus/text_serializer.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

namespace vigil::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricType promType(series::MetricType t) {
  switch (t) {
    case series::MetricType::kGauge: return MetricType::Gauge;
    case series::MetricType::kCounter: return MetricType::Counter;
    case series::MetricType::kHistogram: return MetricType::Histogram;
    case series::MetricType::kUntyped: return MetricType::Untyped;
  }
  return MetricType::Untyped;
}

void copyLabels(const series::SeriesStore::SeriesView& v, ClientMetric& m, bool skipLe) {
  m.label.reserve(v.labelCount());
  for (size_t i = 0; i < v.labelCount(); ++i) {
    std::string_view n = v.labelName(i);
    if (n == kMetricNameLabel || (skipLe && n == "le")) continue;
    m.label.push_back(ClientMetric::Label{std::string(n), std::string(v.labelValue(i))});
  }
}

double parseBound(std::string_view le) {
  if (le == "+Inf") return INFINITY;
  return std::strtod(std::string(le).c_str(), nullptr);
}

// Histograms are stored as Prometheus stores them (_bucket{le}, _sum, _count series); the
// serializer wants one ClientMetric per label set, so the parts are joined back here.
void collectHistogram(const series::FamilyInfo& f,
                      const std::vector<series::SeriesStore::SeriesView>& views,
                      MetricFamily& out) {
  std::map<std::string, size_t> byKey;
  const std::string bucketName = f.name + "_bucket";
  const std::string sumName = f.name + "_sum";
  const std::string countName = f.name + "_count";
  for (const auto& v : views) {
    std::string key;
    for (size_t i = 0; i < v.labelCount(); ++i) {
      std::string_view n = v.labelName(i);
      if (n == kMetricNameLabel || n == "le") continue;
      key += n;
      key += '\xff';
      key += v.labelValue(i);
      key += '\xff';
    }
    auto [it, inserted] = byKey.try_emplace(key, out.metric.size());
    if (inserted) {
      out.metric.emplace_back();
      copyLabels(v, out.metric.back(), true);
    }
    ClientMetric& m = out.metric[it->second];
    const std::string_view name = v.label(kMetricNameLabel);
    const double value = v.latest()->v;
    if (name == bucketName) {
      m.histogram.bucket.push_back(
          ClientMetric::Bucket{static_cast<uint64_t>(value), parseBound(v.label("le"))});
    } else if (name == sumName) {
      m.histogram.sample_sum = value;
    } else if (name == countName) {
      m.histogram.sample_count = static_cast<uint64_t>(value);
    }
  }
  for (auto& m : out.metric) {
    std::sort(m.histogram.bucket.begin(), m.histogram.bucket.end(),
              [](const ClientMetric::Bucket& a, const ClientMetric::Bucket& b) {
                return a.upper_bound < b.upper_bound;
              });
  }
}

}  // namespace

std::vector<MetricFamily> StoreCollectable::Collect() const {
  std::vector<MetricFamily> families;
  store_.visitFamilies([&](const series::FamilyInfo& f,
                           const std::vector<series::SeriesStore::SeriesView>& views) {
    MetricFamily mf;
    mf.name = f.name;
    mf.help = f.help;
    mf.type = promType(f.type);
    if (f.type == series::MetricType::kHistogram) {
      collectHistogram(f, views, mf);
    } else {
      mf.metric.reserve(views.size());
      for (const auto& v : views) {
        ClientMetric m;
        copyLabels(v, m, false);
        const double value = v.latest()->v;
        switch (f.type) {
          case series::MetricType::kGauge: m.gauge.value = value; break;
          case series::MetricType::kCounter: m.counter.value = value; break;
          default: m.untyped.value = value; break;
        }
        mf.metric.push_back(std::move(m));
      }
    }
    families.push_back(std::move(mf));
  });
  return families;
}

std::string renderMetrics(const series::SeriesStore& store) {
  StoreCollectable c(store);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, c.Collect());
  return out.str();
}

}  // namespace vigil::metrics
