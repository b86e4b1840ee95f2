#include "agent/app/pool_recorder.h"

#include <fmt/format.h>

#include "agent/core/log.h"
#include "exporters/metrics/names.h"

namespace vigil {

namespace {

Labels named(Labels labels, std::string_view name) {
  set(labels, kMetricNameLabel, name);
  return labels;
}

std::string joined(const std::set<std::string>& s) {
  return s.empty() ? std::string("none") : fmt::format("{}", fmt::join(s, ","));
}

}  // namespace

PoolRecorder::PoolRecorder(series::SeriesStore& store, ProbeCounters& counters, std::string pool)
    : store_(store), counters_(counters), pool_(std::move(pool)) {
  Labels base{{std::string(names::kPool), pool_}};
  membersRef_ = store_.ref(named(base, names::kPoolMembers));
  minRef_ = store_.ref(named(base, names::kPoolMinInRotation));
  // The LB probe's own series carry the pool but no target: it probes the load balancer.
  set(base, names::kProbe, "lb");
  success_ = store_.ref(named(base, names::kProbeSuccess));
  duration_ = store_.ref(named(base, names::kProbeDurationSeconds));
}

PoolRecorder::~PoolRecorder() {
  const TimestampMs now = SystemClock::instance().nowMs();
  releaseAll(now);
  for (series::SeriesRef r : {membersRef_, minRef_, success_, duration_}) store_.release(r, now);
}

void PoolRecorder::configure(int members, int minInRotation,
                             std::map<std::string, Labels> memberLabels) {
  members_ = members;
  minInRotation_ = minInRotation;
  memberLabels_ = std::move(memberLabels);
}

void PoolRecorder::recordConfig(TimestampMs t) {
  batch_.clear();
  batch_.emplace_back(membersRef_, members_);
  batch_.emplace_back(minRef_, minInRotation_);
  store_.appendBatch(batch_, t);
}

void PoolRecorder::releaseAll(TimestampMs t) {
  for (auto& [key, ref] : live_) store_.release(ref, t);
  live_.clear();
}

Labels PoolRecorder::labelsFor(const ProbeSample& s) const {
  // The target's own labels first, then ours: pool/target always mean what the config says.
  Labels l;
  if (std::string_view target = get(s.labels, names::kTarget); !target.empty()) {
    if (auto it = memberLabels_.find(std::string(target)); it != memberLabels_.end()) {
      l = it->second;
    }
  }
  for (const auto& extra : s.labels) set(l, extra.name, extra.value);
  set(l, names::kPool, pool_);
  return named(std::move(l), s.name);
}

void PoolRecorder::record(const ProbeResult& r, TimestampMs t) {
  batch_.clear();
  batch_.emplace_back(success_, r.success() ? 1.0 : 0.0);
  batch_.emplace_back(duration_, r.durationSeconds);
  counters_.count("lb", r.reason, t);

  if (!r.success()) {
    store_.appendBatch(batch_, t);
    if (!failing_) {
      failing_ = true;
      LOG_WARN("cannot read the load balancer's stats; pool series kept until they are too old",
               {"pool", pool_}, {"result", std::string(toString(r.reason))}, {"err", r.error});
    }
    if (!live_.empty() && t - lastSuccess_ >= kLbStaleAfter.count()) {
      LOG_WARN("load balancer stats unreadable for too long; pool series marked stale",
               {"pool", pool_});
      releaseAll(t);
    }
    return;
  }
  if (failing_) {
    failing_ = false;
    LOG_INFO("load balancer stats readable again", {"pool", pool_});
  }
  lastSuccess_ = t;

  std::map<Labels, series::SeriesRef> next;
  std::set<std::string> unknown, absent;
  for (const ProbeSample& s : r.samples) {
    // Keyed by the full label set, so a reload that changes a member's `labels:` moves its
    // series to the new labels (a few dozen samples per pool: the copies cost nothing).
    Labels key = labelsFor(s);
    series::SeriesRef ref = series::kNoSeries;
    if (auto it = live_.find(key); it != live_.end()) {
      ref = it->second;
      live_.erase(it);
    } else if (auto dup = next.find(key); dup != next.end()) {
      ref = dup->second;  // cannot happen with lbSamples(); harmless if it did
    } else {
      ref = store_.ref(key);
    }
    next.emplace(std::move(key), ref);
    batch_.emplace_back(ref, s.value);
    if (s.name == names::kPoolUnknownServerInRotation) {
      unknown.insert(std::string(get(s.labels, names::kServer)));
    }
    if (s.name == names::kPoolMemberInRotation &&
        get(s.labels, names::kLbState) == "absent") {
      absent.insert(std::string(get(s.labels, names::kTarget)));
    }
  }
  store_.appendBatch(batch_, t);
  // What the LB no longer reports (a server removed, a member's old lb_state) goes stale now.
  releaseAll(t);
  live_ = std::move(next);

  if (unknown != unknown_) {
    if (!unknown.empty()) {
      LOG_WARN("servers in the load balancer's backend that no target of the pool maps to",
               {"pool", pool_}, {"servers", joined(unknown)});
    } else {
      LOG_INFO("every server of the load balancer's backend maps to a target", {"pool", pool_});
    }
    unknown_ = std::move(unknown);
  }
  if (absent != absent_) {
    if (!absent.empty()) {
      LOG_WARN("pool members that the load balancer's backend does not have",
               {"pool", pool_}, {"targets", joined(absent)});
    } else {
      LOG_INFO("every member of the pool is in the load balancer's backend", {"pool", pool_});
    }
    absent_ = std::move(absent);
  }
}

}  // namespace vigil
