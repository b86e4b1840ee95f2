#include "exporters/metrics/store_collectable.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
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
using Snapshot = series::SeriesStore::Snapshot;

MetricType promType(series::MetricType t) {
  switch (t) {
    case series::MetricType::kGauge: return MetricType::Gauge;
    case series::MetricType::kCounter: return MetricType::Counter;
    case series::MetricType::kHistogram: return MetricType::Histogram;
    case series::MetricType::kUntyped: return MetricType::Untyped;
  }
  return MetricType::Untyped;
}

double parseBound(std::string_view le) {
  if (le == "+Inf") return INFINITY;
  return std::strtod(std::string(le).c_str(), nullptr);
}

// Histograms are stored as Prometheus stores them (_bucket{le}, _sum, _count series); the
// serializer wants one ClientMetric per label set, so the parts are joined back here.
void collectHistogram(const Snapshot& snap, const Snapshot::Family& f, MetricFamily& out) {
  std::map<std::string, size_t> byKey;
  const std::string bucketName = f.info.name + "_bucket";
  const std::string sumName = f.info.name + "_sum";
  const std::string countName = f.info.name + "_count";
  for (const auto& item : f.items) {
    std::string key;
    std::string_view name, le;
    for (const auto& [n, v] : item.labelIds) {
      std::string_view ln = snap.str(n);
      if (ln == kMetricNameLabel) {
        name = snap.str(v);
        continue;
      }
      if (ln == "le") {
        le = snap.str(v);
        continue;
      }
      key += ln;
      key += '\xff';
      key += snap.str(v);
      key += '\xff';
    }
    auto [it, inserted] = byKey.try_emplace(key, out.metric.size());
    if (inserted) {
      ClientMetric m;
      for (const auto& [n, v] : item.labelIds) {
        std::string_view ln = snap.str(n);
        if (ln == kMetricNameLabel || ln == "le") continue;
        m.label.push_back(ClientMetric::Label{std::string(ln), std::string(snap.str(v))});
      }
      out.metric.push_back(std::move(m));
    }
    ClientMetric& m = out.metric[it->second];
    if (name == bucketName) {
      m.histogram.bucket.push_back(
          ClientMetric::Bucket{static_cast<uint64_t>(item.value), parseBound(le)});
    } else if (name == sumName) {
      m.histogram.sample_sum = item.value;
    } else if (name == countName) {
      m.histogram.sample_count = static_cast<uint64_t>(item.value);
    }
  }
  for (auto& m : out.metric) {
    std::sort(m.histogram.bucket.begin(), m.histogram.bucket.end(),
              [](const ClientMetric::Bucket& a, const ClientMetric::Bucket& b) {
                return a.upper_bound < b.upper_bound;
              });
  }
}

MetricFamily toFamily(const Snapshot& snap, const Snapshot::Family& f) {
  MetricFamily mf;
  mf.name = f.info.name;
  mf.help = f.info.help;
  mf.type = promType(f.info.type);
  if (f.info.type == series::MetricType::kHistogram) {
    collectHistogram(snap, f, mf);
    return mf;
  }
  mf.metric.reserve(f.items.size());
  for (const auto& item : f.items) {
    ClientMetric m;
    m.label.reserve(item.labelIds.size());
    for (const auto& [n, v] : item.labelIds) {
      std::string_view ln = snap.str(n);
      if (ln == kMetricNameLabel) continue;
      m.label.push_back(ClientMetric::Label{std::string(ln), std::string(snap.str(v))});
    }
    switch (f.info.type) {
      case series::MetricType::kGauge: m.gauge.value = item.value; break;
      case series::MetricType::kCounter: m.counter.value = item.value; break;
      default: m.untyped.value = item.value; break;
    }
    mf.metric.push_back(std::move(m));
  }
  return mf;
}

}  // namespace

std::vector<MetricFamily> StoreCollectable::Collect() const {
  const Snapshot snap = store_.snapshotLatest();
  std::vector<MetricFamily> families;
  families.reserve(snap.families.size());
  for (const auto& f : snap.families) families.push_back(toFamily(snap, f));
  return families;
}

void renderMetrics(const series::SeriesStore& store,
                   const std::function<void(std::string_view)>& sink) {
  // Through prometheus-cpp's serializer a family at a time, and large families in batches: the
  // intermediate ClientMetric objects of a 10,000-target scrape would otherwise take several
  // times the size of the output, and the output itself is streamed, never held whole.
  constexpr size_t kBatch = 512;
  const Snapshot snap = store.snapshotLatest();
  const prometheus::TextSerializer serializer;
  std::vector<MetricFamily> one(1);
  std::ostringstream out;
  for (const auto& f : snap.families) {
    if (f.info.type == series::MetricType::kHistogram || f.items.size() <= kBatch) {
      one[0] = toFamily(snap, f);
      out.str("");
      serializer.Serialize(out, one);
      sink(out.view());
      continue;
    }
    Snapshot::Family part;
    part.info = f.info;
    for (size_t first = 0; first < f.items.size(); first += kBatch) {
      const size_t last = std::min(f.items.size(), first + kBatch);
      part.items.assign(f.items.begin() + static_cast<std::ptrdiff_t>(first),
                        f.items.begin() + static_cast<std::ptrdiff_t>(last));
      one[0] = toFamily(snap, part);
      out.str("");
      serializer.Serialize(out, one);
      std::string_view text = out.view();
      if (first > 0) {
        // HELP and TYPE belong once per family: drop the batch's header lines.
        while (text.starts_with("# ")) {
          const auto nl = text.find('\n');
          text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        }
      }
      sink(text);
    }
  }
}

std::string renderMetrics(const series::SeriesStore& store) {
  std::string out;
  renderMetrics(store, [&out](std::string_view chunk) { out += chunk; });
  return out;
}

}  // namespace vigil::metrics
