#include "agent/series/series_store.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>

#include <sys/mman.h>

namespace vigil::series {

namespace {

// Prometheus' value.StaleNaNBits: a signalling-free NaN no arithmetic produces.
constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ull;

constexpr std::string_view kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

}  // namespace

std::string_view toString(MetricType t) {
  switch (t) {
    case MetricType::kGauge: return "gauge";
    case MetricType::kCounter: return "counter";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kUntyped: return "untyped";
  }
  return "untyped";
}

double staleNaN() { return std::bit_cast<double>(kStaleNaNBits); }

bool isStaleNaN(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

std::string_view SeriesStore::SeriesView::label(std::string_view name) const {
  for (const auto& [n, v] : labelIds) {
    if (symbols->str(n) == name) return symbols->str(v);
  }
  return {};
}

Labels SeriesStore::SeriesView::labels() const {
  Labels out;
  out.reserve(labelIds.size());
  for (const auto& [n, v] : labelIds) {
    out.push_back(Label{std::string(symbols->str(n)), std::string(symbols->str(v))});
  }
  return out;
}

const Sample* SeriesStore::SeriesView::latest() const {
  if (!tail.empty()) return &tail.back();
  if (!head.empty()) return &head.back();
  return nullptr;
}

SeriesStore::SeriesStore() : SeriesStore(Options{}) {}

SeriesStore::SeriesStore(Options options) : options_(options) {}

void SeriesStore::describe(std::string_view family, MetricType type, std::string_view help) {
  std::unique_lock lock(mu_);
  uint32_t idx;
  if (auto it = familyByName_.find(family); it != familyByName_.end()) {
    idx = it->second;
  } else {
    idx = static_cast<uint32_t>(families_.size());
    families_.push_back(FamilyInfo{std::string(family), type, std::string(help)});
    familyMembers_.emplace_back();
    familyByName_.emplace(std::string(family), idx);
  }
  FamilyInfo& f = families_[idx];
  f.type = type;
  f.help = std::string(help);
  // Series created before the description may belong here now (e.g. a histogram's _bucket).
  for (uint32_t i = 0; i < families_.size(); ++i) {
    if (i == idx || familyMembers_[i].empty()) continue;
    if (families_[i].type != MetricType::kUntyped) continue;
    std::vector<SeriesRef> keep;
    for (SeriesRef r : familyMembers_[i]) {
      Series& s = series_[r];
      std::string_view name = symbols_.str(s.labels.front().second);
      if (familyIndexLocked(name) == idx) {
        s.family = idx;
        familyMembers_[idx].push_back(r);
      } else {
        keep.push_back(r);
      }
    }
    familyMembers_[i] = std::move(keep);
  }
}

void SeriesStore::setRetention(Duration retention) { setRetention(retention, {}); }

void SeriesStore::setRetention(Duration fallback,
                               std::unordered_map<std::string, Duration> byName) {
  std::unique_lock lock(mu_);
  options_.retention = fallback;
  retentionByName_ = std::move(byName);
  for (Series& s : series_) {
    if (!s.live) continue;
    std::string_view name;
    for (const auto& [n, v] : s.labels) {
      if (symbols_.str(n) == kMetricNameLabel) name = symbols_.str(v);
    }
    s.retentionMs = retentionForLocked(name);
  }
}

int64_t SeriesStore::retentionForLocked(std::string_view metricName) const {
  if (!retentionByName_.empty()) {
    if (auto it = retentionByName_.find(std::string(metricName)); it != retentionByName_.end()) {
      return std::max(it->second, options_.retention).count();
    }
  }
  return options_.retention.count();
}

Duration SeriesStore::retention() const {
  std::shared_lock lock(mu_);
  Duration longest = options_.retention;
  for (const auto& [name, d] : retentionByName_) longest = std::max(longest, d);
  return longest;
}

uint32_t SeriesStore::familyIndexLocked(std::string_view metricName) {
  auto exact = familyByName_.find(metricName);
  if (exact != familyByName_.end() && families_[exact->second].type != MetricType::kUntyped) {
    return exact->second;
  }
  // x_bucket, x_sum and x_count belong to histogram x when x is described as one.
  for (std::string_view suffix : kHistogramSuffixes) {
    if (metricName.size() > suffix.size() && metricName.ends_with(suffix)) {
      auto base = metricName.substr(0, metricName.size() - suffix.size());
      if (auto it = familyByName_.find(base);
          it != familyByName_.end() && families_[it->second].type == MetricType::kHistogram) {
        return it->second;
      }
    }
  }
  if (exact != familyByName_.end()) return exact->second;
  uint32_t idx = static_cast<uint32_t>(families_.size());
  families_.push_back(FamilyInfo{std::string(metricName), MetricType::kUntyped, ""});
  familyMembers_.emplace_back();
  familyByName_.emplace(std::string(metricName), idx);
  return idx;
}

bool SeriesStore::sameLabelsLocked(const Series& s, const Labels& labels) const {
  if (s.labels.size() != labels.size()) return false;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (symbols_.str(s.labels[i].first) != labels[i].name ||
        symbols_.str(s.labels[i].second) != labels[i].value) {
      return false;
    }
  }
  return true;
}

SeriesRef SeriesStore::ref(const Labels& labels) {
  const uint64_t h = hash(labels);
  std::unique_lock lock(mu_);
  auto [lo, hi] = byHash_.equal_range(h);
  for (auto it = lo; it != hi; ++it) {
    Series& s = series_[it->second];
    if (sameLabelsLocked(s, labels)) {
      if (s.owners++ == 0) removeFromVector(released_, it->second);
      return it->second;
    }
  }
  SeriesRef r;
  if (!free_.empty()) {
    r = free_.back();
    free_.pop_back();
  } else {
    r = static_cast<SeriesRef>(series_.size());
    series_.emplace_back();
  }
  Series& s = series_[r];
  s = Series{};
  s.labels.reserve(labels.size());
  SymbolId nameSym = 0;
  bool hasName = false;
  for (const auto& l : labels) {
    SymbolId n = symbols_.intern(l.name);
    symbols_.retain(n);
    SymbolId v = symbols_.intern(l.value);
    symbols_.retain(v);
    s.labels.emplace_back(n, v);
    if (l.name == kMetricNameLabel) {
      nameSym = v;
      hasName = true;
    }
  }
  s.hash = h;
  s.retentionMs = retentionForLocked(hasName ? symbols_.str(nameSym) : std::string_view{});
  s.owners = 1;
  s.live = true;
  byHash_.emplace(h, r);
  std::string_view name = hasName ? symbols_.str(nameSym) : std::string_view{};
  s.family = familyIndexLocked(name);
  familyMembers_[s.family].push_back(r);
  if (hasName) {
    byName_[nameSym].push_back(r);
    invalidateSortedLocked(nameSym);
  }
  return r;
}

void SeriesStore::removeFromVector(std::vector<SeriesRef>& v, SeriesRef ref) {
  auto it = std::find(v.begin(), v.end(), ref);
  if (it != v.end()) {
    *it = v.back();
    v.pop_back();
  }
}

void SeriesStore::release(SeriesRef r, TimestampMs now) {
  std::unique_lock lock(mu_);
  if (r >= series_.size() || !series_[r].live || series_[r].owners == 0) return;
  Series& s = series_[r];
  if (--s.owners > 0) return;
  appendLocked(s, now, staleNaN());
  released_.push_back(r);
}

size_t SeriesStore::capacityFor(const Series& s) const {
  // Without retention only the newest sample is kept: that is all /metrics and instant
  // selectors over fresh data need.
  return s.retentionMs == 0 ? 1 : options_.maxSamplesPerSeries;
}

void SeriesStore::trimLocked(Series& s, TimestampMs now) {
  const TimestampMs cutoff = now - s.retentionMs;
  // Keep at least one sample so the latest value is always available.
  while (s.count > 1) {
    const Sample& oldest = s.ring[s.start];
    if (oldest.t >= cutoff) break;
    s.start = static_cast<uint32_t>((s.start + 1) % s.ring.size());
    --s.count;
  }
}

void SeriesStore::appendLocked(Series& s, TimestampMs t, double v) {
  if (isStaleNaN(v)) s.newestStale = std::max(s.newestStale, t);
  if (s.count > 0) {
    const Sample& last = s.ring[(s.start + s.count - 1) % s.ring.size()];
    if (t < last.t) return;  // out of order: Prometheus rejects these too
    if (t == last.t) {
      s.ring[(s.start + s.count - 1) % s.ring.size()].v = v;
      return;
    }
  }
  const size_t cap = capacityFor(s);
  trimLocked(s, t);
  if (s.count == s.ring.size()) {
    if (s.ring.size() < cap) {
      // Grow: unroll the ring into a larger buffer in time order.
      uint32_t newCap = SamplePool::nextCap(s.ring.cap, cap);
      if (s.ring.cap == 4) {
        // Past the first few samples the interval is known: size the ring for the retention
        // at once, so that growing leaves no trail of small freed rings behind. The longer of
        // the latest and the average interval, so that neither a burst nor a counter's zero
        // written one millisecond early makes the ring far larger than the retention needs.
        const Sample& first = s.ring[s.start];
        const Sample& last = s.ring[(s.start + s.count - 1) % s.ring.size()];
        const int64_t interval =
            std::max<int64_t>({1, t - last.t, (t - first.t) / static_cast<int64_t>(s.count)});
        const size_t want = static_cast<size_t>(s.retentionMs / interval) + 2;
        while (newCap < want && newCap < cap) newCap = SamplePool::nextCap(newCap, cap);
      }
      Sample* bigger = pool_.alloc(newCap);
      for (uint32_t i = 0; i < s.count; ++i) bigger[i] = s.ring[(s.start + i) % s.ring.size()];
      freeRingLocked(s);
      s.ring.many = bigger;
      s.ring.cap = newCap;
      s.start = 0;
    } else {
      // Full at the cap: overwrite the oldest sample.
      s.start = static_cast<uint32_t>((s.start + 1) % s.ring.size());
      --s.count;
    }
  }
  s.ring[(s.start + s.count) % s.ring.size()] = Sample{t, v};
  ++s.count;
}

void SeriesStore::append(SeriesRef r, TimestampMs t, double v) {
  std::unique_lock lock(mu_);
  if (r >= series_.size() || !series_[r].live) return;
  appendLocked(series_[r], t, v);
}

void SeriesStore::appendBatch(std::span<const std::pair<SeriesRef, double>> values,
                              TimestampMs t) {
  std::unique_lock lock(mu_);
  for (const auto& [r, v] : values) {
    if (r >= series_.size() || !series_[r].live) continue;
    appendLocked(series_[r], t, v);
  }
}

void SeriesStore::compact(TimestampMs now) {
  std::unique_lock gc(gcMu_, std::try_to_lock);
  std::unique_lock lock(mu_);
  if (!gc.owns_lock()) {
    // A scrape is formatting a snapshot that points at these series' labels: delete nothing
    // now; the next round will.
    for (Series& s : series_) {
      if (s.live && s.count > 0 && s.retentionMs > 0) trimLocked(s, now);
    }
    return;
  }
  std::vector<SeriesRef> still;
  for (SeriesRef r : released_) {
    Series& s = series_[r];
    const Sample& last = s.ring[(s.start + s.count - 1) % s.ring.size()];
    if (s.owners > 0) continue;
    if (last.t > now - s.retentionMs) {
      still.push_back(r);
      continue;
    }
    // Delete: unlink from every index, release its symbols and recycle the slot.
    auto [lo, hi] = byHash_.equal_range(s.hash);
    for (auto it = lo; it != hi; ++it) {
      if (it->second == r) {
        byHash_.erase(it);
        break;
      }
    }
    removeFromVector(familyMembers_[s.family], r);
    SymbolId nameSym = 0;
    for (const auto& [n, v] : s.labels) {
      if (symbols_.str(n) == kMetricNameLabel) nameSym = v;
    }
    invalidateSortedLocked(nameSym);
    if (auto it = byName_.find(nameSym); it != byName_.end()) {
      removeFromVector(it->second, r);
      if (it->second.empty()) byName_.erase(it);
    }
    for (const auto& [n, v] : s.labels) {
      symbols_.release(n);
      symbols_.release(v);
    }
    freeRingLocked(s);
    s = Series{};
    free_.push_back(r);
  }
  released_ = std::move(still);
  for (Series& s : series_) {
    if (s.live && s.count > 0 && s.retentionMs > 0) trimLocked(s, now);
  }
}

SeriesStore::SeriesView SeriesStore::viewLocked(const Series& s) const {
  SeriesView v{&symbols_, s.labels, {}, {}, s.newestStale};
  if (s.count == 0) return v;
  const size_t n = s.ring.size();
  const size_t first = std::min<size_t>(s.count, n - s.start);
  v.head = std::span<const Sample>(s.ring.data() + s.start, first);
  // (tail wraps around to the start of the buffer)
  v.tail = std::span<const Sample>(s.ring.data(), s.count - first);
  return v;
}

void SeriesStore::visitFamilies(
    const std::function<void(const FamilyInfo&, const std::vector<SeriesView>&)>& fn) const {
  std::shared_lock lock(mu_);
  std::vector<SeriesView> views;
  for (const auto& [name, idx] : familyByName_) {
    views.clear();
    for (SeriesRef r : familyMembers_[idx]) {
      const Series& s = series_[r];
      SeriesView v = viewLocked(s);
      const Sample* last = v.latest();
      if (last == nullptr || isStaleNaN(last->v)) continue;
      views.push_back(v);
    }
    if (!views.empty()) fn(families_[idx], views);
  }
}

SeriesStore::Snapshot::~Snapshot() {
  if (store_ != nullptr) store_->gcMu_.unlock_shared();
}

SeriesStore::Snapshot SeriesStore::snapshotLatest() const {
  gcMu_.lock_shared();
  Snapshot snap(this);
  std::shared_lock lock(mu_);
  symbols_.views(snap.strings_);
  snap.families.reserve(familyByName_.size());
  for (const auto& [name, idx] : familyByName_) {
    Snapshot::Family fam;
    for (SeriesRef r : familyMembers_[idx]) {
      const Series& s = series_[r];
      if (s.count == 0) continue;
      const Sample& last = s.ring[(s.start + s.count - 1) % s.ring.size()];
      if (isStaleNaN(last.v)) continue;
      fam.items.push_back(Snapshot::Item{s.labels, last.v});
    }
    if (fam.items.empty()) continue;
    fam.info = families_[idx];
    snap.families.push_back(std::move(fam));
  }
  return snap;
}

void SeriesStore::visitSeries(std::string_view name,
                              const std::function<void(const SeriesView&)>& fn) const {
  std::shared_lock lock(mu_);
  if (name.empty()) {
    for (const Series& s : series_) {
      if (s.live) fn(viewLocked(s));
    }
    return;
  }
  SymbolId sym;
  if (!symbols_.find(name, &sym)) return;
  auto it = byName_.find(sym);
  if (it == byName_.end()) return;
  for (SeriesRef r : it->second) fn(viewLocked(series_[r]));
}

SeriesStore::Stats SeriesStore::stats() const {
  std::shared_lock lock(mu_);
  Stats st;
  st.bytes = symbols_.bytes() + series_.size() * sizeof(Series) +
             byHash_.size() * 48 + byHash_.bucket_count() * sizeof(void*);
  for (const Series& s : series_) {
    if (!s.live) continue;
    ++st.series;
    st.samples += s.count;
    st.bytes += s.labels.capacity() * sizeof(LabelPair) + 16 /* the labels' malloc overhead */ +
                2 * sizeof(SeriesRef);
  }
  st.bytes += pool_.bytes();
  return st;
}

void SeriesStore::invalidateSortedLocked(SymbolId name) {
  std::lock_guard lock(sortMu_);
  sortedByName_.erase(name);
}

const std::vector<SeriesRef>& SeriesStore::sortedByNameLocked(SymbolId name) const {
  static const std::vector<SeriesRef> kNone;
  std::lock_guard lock(sortMu_);
  if (auto it = sortedByName_.find(name); it != sortedByName_.end()) return it->second;
  auto members = byName_.find(name);
  if (members == byName_.end()) return kNone;
  std::vector<SeriesRef> refs = members->second;
  auto less = [&](SeriesRef x, SeriesRef y) {
    const auto& a = series_[x].labels;
    const auto& b = series_[y].labels;
    const size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
      if (a[i].first != b[i].first) {
        int c = symbols_.str(a[i].first).compare(symbols_.str(b[i].first));
        if (c != 0) return c < 0;
      }
      if (a[i].second != b[i].second) {
        int c = symbols_.str(a[i].second).compare(symbols_.str(b[i].second));
        if (c != 0) return c < 0;
      }
    }
    return a.size() < b.size();
  };
  std::sort(refs.begin(), refs.end(), less);
  // Entries are only erased under the exclusive lock, so the reference outlives this guard
  // for as long as the caller holds the shared lock.
  return sortedByName_.emplace(name, std::move(refs)).first->second;
}

SeriesStore::SamplePool::~SamplePool() {
  for (void* c : chunks_) std::free(c);
}

uint32_t SeriesStore::SamplePool::nextCap(uint32_t cap, size_t max) {
  uint32_t next;
  if (cap < 4) {
    next = 4;
  } else if ((cap & (cap - 1)) == 0) {
    next = cap + cap / 2;  // 2^k -> 1.5 * 2^k
  } else {
    next = cap / 3 * 4;  // 1.5 * 2^k -> 2^(k+1)
  }
  return static_cast<uint32_t>(std::min<size_t>(next, std::max<size_t>(max, 1)));
}

Sample* SeriesStore::SamplePool::alloc(uint32_t cap) {
  if (auto it = free_.find(cap); it != free_.end() && !it->second.empty()) {
    Sample* p = it->second.back();
    it->second.pop_back();
    return p;
  }
  const size_t need = size_t{cap} * sizeof(Sample);
  if (need > kChunk / 4) {
    bytes_ += need;
    return new Sample[cap];
  }
  if (left_ < need) {
    void* c = std::aligned_alloc(kChunk, kChunk);
    if (c == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(c, kChunk, MADV_HUGEPAGE);  // advice only: without THP these are 4 KiB pages
#endif
    chunks_.push_back(c);
    bytes_ += kChunk;
    bump_ = static_cast<char*>(c);
    left_ = kChunk;
  }
  Sample* p = std::uninitialized_value_construct_n(reinterpret_cast<Sample*>(bump_), cap) - cap;
  bump_ += need;
  left_ -= need;
  return p;
}

void SeriesStore::SamplePool::free(Sample* p, uint32_t cap) {
  if (size_t{cap} * sizeof(Sample) > kChunk / 4) {
    bytes_ -= size_t{cap} * sizeof(Sample);
    delete[] p;
    return;
  }
  free_[cap].push_back(p);
}

void SeriesStore::freeRingLocked(Series& s) {
  if (s.ring.cap > 1 && s.ring.many != nullptr) pool_.free(s.ring.many, s.ring.cap);
  s.ring.many = nullptr;
  s.ring.cap = 1;
}

}  // namespace vigil::series
