#include "exporters/metrics/store_collectable.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <charconv>
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

namespace {

void appendValue(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
  }
}

void appendEscaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '"':
        if (quote) {
          out += "\\\"";
          break;
        }
        [[fallthrough]];
      default: out += c;
    }
  }
}

}  // namespace

void renderMetrics(const series::SeriesStore& store,
                   const std::function<void(std::string_view)>& sink) {
  // The same text prometheus-cpp's TextSerializer produces for StoreCollectable::Collect()
  // (a unit test compares the two), written straight from the snapshot: going through
  // ClientMetric objects and iostreams costs ~1.5 us per series, which at 10,000 targets
  // (290,000 series) was more CPU than all the probing.
  const Snapshot snap = store.snapshotLatest();
  std::string out;
  out.reserve(256 << 10);
  for (const auto& f : snap.families) {
    if (!f.info.help.empty()) {
      out += "# HELP ";
      out += f.info.name;
      out += ' ';
      appendEscaped(out, f.info.help, false);
      out += '\n';
    }
    out += "# TYPE ";
    out += f.info.name;
    out += ' ';
    out += series::toString(f.info.type);
    out += '\n';
    for (const auto& item : f.items) {
      std::string_view name;
      for (const auto& [n, v] : item.labelIds) {
        if (snap.str(n) == kMetricNameLabel) name = snap.str(v);
      }
      out += name;
      bool first = true;
      // `le` goes last, as Prometheus' own client libraries write it.
      std::string_view le;
      for (const auto& [n, v] : item.labelIds) {
        std::string_view ln = snap.str(n);
        if (ln == kMetricNameLabel) continue;
        if (ln == "le") {
          le = snap.str(v);
          continue;
        }
        out += first ? '{' : ',';
        first = false;
        out += ln;
        out += "=\"";
        appendEscaped(out, snap.str(v), true);
        out += '"';
      }
      if (!le.empty()) {
        out += first ? '{' : ',';
        first = false;
        out += "le=\"";
        out += le;
        out += '"';
      }
      if (!first) out += '}';
      out += ' ';
      appendValue(out, item.value);
      out += '\n';
    }
    if (out.size() >= (128 << 10)) {
      sink(out);
      out.clear();
    }
  }
  if (!out.empty()) sink(out);
}

std::string renderMetricsWithPrometheusCpp(const series::SeriesStore& store) {
  StoreCollectable c(store);
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, c.Collect());
  return out.str();
}

std::string renderMetrics(const series::SeriesStore& store) {
  std::string out;
  renderMetrics(store, [&out](std::string_view chunk) { out += chunk; });
  return out;
}

}  // namespace vigil::metrics
