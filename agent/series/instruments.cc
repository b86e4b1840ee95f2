#include "agent/series/instruments.h"

#include <fmt/format.h>

#include <cmath>
#include <utility>

namespace vigil::series {

namespace {

Labels withName(Labels labels, std::string_view name) {
  set(labels, kMetricNameLabel, name);
  return labels;
}

TimestampMs releaseTime() {
  // Instruments are released on the owner's thread at "now"; the store only needs a time at or
  // after the last sample, and the wall clock is what every writer uses.
  return SystemClock::instance().nowMs();
}

}  // namespace

std::string formatBound(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

StoreCounter::StoreCounter(SeriesStore& store, std::string_view name, Labels labels)
    : store_(&store), ref_(store.ref(withName(std::move(labels), name))) {}

StoreCounter::~StoreCounter() {
  if (store_ != nullptr && ref_ != kNoSeries) store_->release(ref_, releaseTime());
}

StoreCounter::StoreCounter(StoreCounter&& o) noexcept
    : store_(std::exchange(o.store_, nullptr)),
      ref_(std::exchange(o.ref_, kNoSeries)),
      value_(o.value_) {}

StoreCounter& StoreCounter::operator=(StoreCounter&& o) noexcept {
  if (this != &o) {
    if (store_ != nullptr && ref_ != kNoSeries) store_->release(ref_, releaseTime());
    store_ = std::exchange(o.store_, nullptr);
    ref_ = std::exchange(o.ref_, kNoSeries);
    value_ = o.value_;
  }
  return *this;
}

void StoreCounter::inc(TimestampMs t, double v) {
  value_ += v;
  if (store_ != nullptr) store_->append(ref_, t, value_);
}

void StoreCounter::touch(TimestampMs t) {
  if (store_ != nullptr) store_->append(ref_, t, value_);
}

StoreHistogram::StoreHistogram(SeriesStore& store, std::string_view name, Labels labels,
                               std::vector<double> bounds)
    : store_(&store), bounds_(std::move(bounds)) {
  const std::string base(name);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    Labels l = withName(labels, base + "_bucket");
    set(l, "le", formatBound(i < bounds_.size() ? bounds_[i] : INFINITY));
    bucketRefs_.push_back(store.ref(l));
  }
  bucketCounts_.assign(bucketRefs_.size(), 0);
  sumRef_ = store.ref(withName(labels, base + "_sum"));
  countRef_ = store.ref(withName(std::move(labels), base + "_count"));
}

void StoreHistogram::releaseAll() {
  if (store_ == nullptr) return;
  const TimestampMs t = releaseTime();
  for (SeriesRef r : bucketRefs_) store_->release(r, t);
  store_->release(sumRef_, t);
  store_->release(countRef_, t);
  store_ = nullptr;
}

StoreHistogram::~StoreHistogram() { releaseAll(); }

StoreHistogram::StoreHistogram(StoreHistogram&& o) noexcept
    : store_(std::exchange(o.store_, nullptr)),
      bounds_(std::move(o.bounds_)),
      bucketRefs_(std::move(o.bucketRefs_)),
      bucketCounts_(std::move(o.bucketCounts_)),
      sumRef_(o.sumRef_),
      countRef_(o.countRef_),
      sum_(o.sum_),
      count_(o.count_) {}

StoreHistogram& StoreHistogram::operator=(StoreHistogram&& o) noexcept {
  if (this != &o) {
    releaseAll();
    store_ = std::exchange(o.store_, nullptr);
    bounds_ = std::move(o.bounds_);
    bucketRefs_ = std::move(o.bucketRefs_);
    bucketCounts_ = std::move(o.bucketCounts_);
    sumRef_ = o.sumRef_;
    countRef_ = o.countRef_;
    sum_ = o.sum_;
    count_ = o.count_;
  }
  return *this;
}

void StoreHistogram::observe(TimestampMs t, double v) {
  if (store_ == nullptr) return;
  for (size_t i = 0; i < bucketCounts_.size(); ++i) {
    if (i == bounds_.size() || v <= bounds_[i]) ++bucketCounts_[i];
  }
  sum_ += v;
  ++count_;
  scratch_.clear();
  for (size_t i = 0; i < bucketRefs_.size(); ++i) {
    scratch_.emplace_back(bucketRefs_[i], static_cast<double>(bucketCounts_[i]));
  }
  scratch_.emplace_back(sumRef_, sum_);
  scratch_.emplace_back(countRef_, static_cast<double>(count_));
  store_->appendBatch(scratch_, t);
}

}  // namespace vigil::series
