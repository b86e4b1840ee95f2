#include "agent/app/recorder.h"

#include "exporters/metrics/names.h"

namespace vigil {

namespace {

Labels named(Labels labels, std::string_view name) {
  set(labels, kMetricNameLabel, name);
  return labels;
}

}  // namespace

ProbeCounters::ProbeCounters(series::SeriesStore& store, TimestampMs now) : store_(store) {
  // Pre-create every HTTP outcome at zero so rate() sees zeros rather than absent series.
  for (FailureReason r : kAllFailureReasons) {
    if (r == FailureReason::kAuth || r == FailureReason::kHostKey || r == FailureReason::kParse) {
      continue;
    }
    counters_.emplace(std::pair{std::string("http"), r},
                      series::StoreCounter(store_, names::kProbesTotal,
                                           Labels{{std::string(names::kProbe), "http"},
                                                  {std::string(names::kResult),
                                                   std::string(toString(r))}}));
  }
  for (auto& [key, counter] : counters_) counter.touch(now);
}

void ProbeCounters::count(std::string_view probe, FailureReason reason, TimestampMs t) {
  auto key = std::pair{std::string(probe), reason};
  auto it = counters_.find(key);
  if (it == counters_.end()) {
    it = counters_
             .emplace(key, series::StoreCounter(
                               store_, names::kProbesTotal,
                               Labels{{std::string(names::kProbe), std::string(probe)},
                                      {std::string(names::kResult),
                                       std::string(toString(reason))}}))
             .first;
  }
  it->second.inc(t);
}

double ProbeCounters::value(std::string_view probe, FailureReason reason) const {
  auto it = counters_.find(std::pair{std::string(probe), reason});
  return it == counters_.end() ? 0 : it->second.value();
}

const std::vector<double>& httpDurationBuckets() {
  static const std::vector<double> b = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,    1,     2.5,  5,     10};
  return b;
}

CheckRecorder::CheckRecorder(series::SeriesStore& store, ProbeCounters& counters,
                             const config::Target& target, std::string probe, std::string url)
    : store_(store), counters_(counters), probe_(std::move(probe)) {
  // Target labels first, then ours: target/pool/url always mean what the config says.
  base_ = target.labels;
  set(base_, names::kTarget, target.name);
  set(base_, names::kPool, target.pool);
  set(base_, names::kUrl, url);
  Labels withProbe = base_;
  set(withProbe, names::kProbe, probe_);
  success_ = store_.ref(named(withProbe, names::kProbeSuccess));
  duration_ = store_.ref(named(withProbe, names::kProbeDurationSeconds));
  if (probe_ == "http") {
    latency_ = std::make_unique<series::StoreHistogram>(store_, names::kHttpRequestDurationSeconds,
                                                        base_, httpDurationBuckets());
  }
}

CheckRecorder::~CheckRecorder() {
  const TimestampMs now = SystemClock::instance().nowMs();
  store_.release(success_, now);
  store_.release(duration_, now);
  for (auto& c : cache_) {
    if (c.ref != series::kNoSeries) store_.release(c.ref, now);
  }
}

series::SeriesRef CheckRecorder::refFor(size_t index, const ProbeSample& s) {
  if (index >= cache_.size()) cache_.resize(index + 1);
  Cached& c = cache_[index];
  if (c.ref != series::kNoSeries && c.name == s.name && c.labels == s.labels) return c.ref;
  // The shape changed (e.g. the certificate expiry appears once TLS is used): re-resolve. The
  // old series is released only if no other position still uses it.
  series::SeriesRef old = c.ref;
  Labels l = base_;
  for (const auto& extra : s.labels) set(l, extra.name, extra.value);
  c.name = s.name;
  c.labels = s.labels;
  c.ref = store_.ref(named(std::move(l), s.name));
  if (old != series::kNoSeries) store_.release(old, SystemClock::instance().nowMs());
  return c.ref;
}

void CheckRecorder::record(const ProbeResult& r, TimestampMs t) {
  batch_.clear();
  batch_.emplace_back(success_, r.success() ? 1.0 : 0.0);
  batch_.emplace_back(duration_, r.durationSeconds);
  for (size_t i = 0; i < r.samples.size(); ++i) {
    batch_.emplace_back(refFor(i, r.samples[i]), r.samples[i].value);
  }
  if (probe_ == "memory" && r.samples.empty()) {
    // A failed memory probe says nothing about memory: like Prometheus after a failed scrape,
    // the figures go stale at once instead of repeating their last value for five minutes.
    for (const auto& c : cache_) {
      if (c.ref != series::kNoSeries) batch_.emplace_back(c.ref, series::staleNaN());
    }
  }
  store_.appendBatch(batch_, t);
  counters_.count(probe_, r.reason, t);

  if (probe_ == "http") {
    // The status code of a response, or "error" when none arrived (refused, timeout, ...).
    std::string code = "error";
    for (const auto& s : r.samples) {
      if (s.name == names::kProbeHttpStatusCode && s.value > 0) {
        code = std::to_string(static_cast<int>(s.value));
      }
    }
    auto it = responses_.find(code);
    if (it == responses_.end()) {
      Labels l = base_;
      set(l, names::kCode, code);
      it = responses_.emplace(code, series::StoreCounter(store_, names::kHttpResponsesTotal, l))
               .first;
      // The count was 0 until now: saying so one millisecond earlier lets rate() and increase()
      // in the agent's own rules see the very first response of a new code, instead of needing
      // a second one to have two samples.
      it->second.touch(t - 1);
    }
    it->second.inc(t);
    latency_->observe(t, r.durationSeconds);
  }
}

}  // namespace vigil
