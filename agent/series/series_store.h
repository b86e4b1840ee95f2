#pragma once
// The agent's own time-series store: every series vigil exports or evaluates rules over lives
// here, as a ring buffer of (timestamp, value) per series. It is the single source for /metrics
// and for the rule engine, so a rule means the same in vigil as in a Prometheus scraping it.
//
// Memory is bounded by design: each series keeps only `retention` worth of samples (at least the
// latest one), label strings are interned once, and series released by their owner (a removed
// target) get Prometheus' staleness marker and are deleted after retention.

#include <cmath>
#include <cstdint>
#include <functional>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/labels.h"
#include "agent/series/symbol_table.h"

namespace vigil::series {

enum class MetricType { kGauge, kCounter, kHistogram, kUntyped };

std::string_view toString(MetricType t);

struct Sample {
  TimestampMs t = 0;
  double v = 0;
};

/// Prometheus' staleness marker: a NaN with a specific bit pattern (value.StaleNaN).
double staleNaN();
/// True only for the staleness marker, not for other NaNs.
bool isStaleNaN(double v);

/// A handle to one series; stable for the series' lifetime.
using SeriesRef = uint32_t;
inline constexpr SeriesRef kNoSeries = UINT32_MAX;

/// Metadata of one metric family (for histograms: the name without _bucket/_sum/_count).
struct FamilyInfo {
  std::string name;
  MetricType type = MetricType::kUntyped;
  std::string help;
};

/// Thread-safe: writers (the probe loop, the rule thread) take an exclusive lock per call or per
/// batch; readers (/metrics, rule evaluation) take a shared lock for the duration of a visit.
/// Visitor callbacks run under the shared lock and must not call back into the store.
class SeriesStore {
 public:
  struct Options {
    /// How much history each series keeps; 0 keeps only the latest sample.
    Duration retention{0};
    /// A hard cap on samples per series whatever the retention says.
    size_t maxSamplesPerSeries = 8192;
  };

  SeriesStore();
  explicit SeriesStore(Options options);

  /// Declares (or updates) a family's type and help. Series may exist before their family is
  /// described; they are then exported as untyped until it is.
  void describe(std::string_view family, MetricType type, std::string_view help);

  /// Changes retention for every series (e.g. after rules are loaded that need longer windows).
  void setRetention(Duration retention);
  /// Per metric name: series named in `byName` keep that much history, all others `fallback`.
  /// Rules read history of a few metrics only; keeping it for every series would multiply the
  /// store's memory by the samples per window.
  void setRetention(Duration fallback, std::unordered_map<std::string, Duration> byName);
  /// The longest retention of any metric name.
  Duration retention() const;

  /// The series with exactly these labels (`__name__` included, normalized), created if new.
  /// Each call adds one owner; every ref() must be paired with one release().
  SeriesRef ref(const Labels& labels);

  /// Drops one owner. When none is left the series gets a staleness marker at `now` and is
  /// deleted by compact() once the marker is older than retention (immediately when 0).
  void release(SeriesRef ref, TimestampMs now);

  /// Appends one sample. Samples older than the series' latest are dropped (out of order).
  void append(SeriesRef ref, TimestampMs t, double v);

  /// Appends many samples under one lock acquisition.
  void appendBatch(std::span<const std::pair<SeriesRef, double>> values, TimestampMs t);

  /// Deletes released series whose staleness marker is older than retention, and samples past
  /// retention. Call periodically (the probe loop does, once a second).
  void compact(TimestampMs now);

  using LabelPair = std::pair<SymbolId, SymbolId>;

  /// One series as a reader sees it; valid only inside the visit callback.
  struct SeriesView {
    const SymbolTable* symbols;
    std::span<const LabelPair> labelIds;  ///< sorted by name, __name__ included
    std::span<const Sample> head;         ///< oldest samples (ring-buffer first part)
    std::span<const Sample> tail;         ///< newest samples; head then tail is time order
    /// At or after the newest staleness marker the series holds (INT64_MIN: it holds none), so
    /// that a reader whose window starts later need not look for markers.
    TimestampMs newestStale = INT64_MIN;

    size_t labelCount() const { return labelIds.size(); }
    std::string_view labelName(size_t i) const { return symbols->str(labelIds[i].first); }
    std::string_view labelValue(size_t i) const { return symbols->str(labelIds[i].second); }
    /// The value of label `name`, or "".
    std::string_view label(std::string_view name) const;
    /// A copy of the label set.
    Labels labels() const;
    /// The newest sample, or nullptr when the series holds none.
    const Sample* latest() const;
    /// Calls fn(sample) for every sample in time order.
    template <typename F>
    void forEachSample(F&& fn) const {
      for (const Sample& s : head) fn(s);
      for (const Sample& s : tail) fn(s);
    }
  };

  /// The latest value of every exported series, copied out under a short lock so that formatting
  /// a large scrape never blocks the probe loop. While a snapshot exists compact() deletes
  /// nothing, so the label strings it points into stay valid. Families are sorted by name;
  /// series whose latest sample is a staleness marker are left out.
  class Snapshot {
   public:
    struct Item {
      std::span<const LabelPair> labelIds;
      double value;
    };
    struct Family {
      FamilyInfo info;
      std::vector<Item> items;
    };
    std::vector<Family> families;
    /// The string of a label id in `items` (copied views: reading the live symbol table
    /// outside the store's lock would race with interning).
    std::string_view str(SymbolId id) const { return strings_[id]; }

    Snapshot(Snapshot&& o) noexcept
        : families(std::move(o.families)),
          strings_(std::move(o.strings_)),
          store_(std::exchange(o.store_, nullptr)) {}
    Snapshot& operator=(Snapshot&&) = delete;
    ~Snapshot();

   private:
    friend class SeriesStore;
    explicit Snapshot(const SeriesStore* store) : store_(store) {}
    std::vector<std::string_view> strings_;
    const SeriesStore* store_;
  };
  Snapshot snapshotLatest() const;

  /// Visits every family (sorted by name) with its series, for exposition. Series whose latest
  /// sample is a staleness marker are skipped. Holds the read lock throughout: prefer
  /// snapshotLatest() for large outputs.
  void visitFamilies(
      const std::function<void(const FamilyInfo&, const std::vector<SeriesView>&)>& fn) const;

  /// Visits every series whose metric name equals `name` (all when empty).
  void visitSeries(std::string_view name, const std::function<void(const SeriesView&)>& fn) const;

  /// A consistent read view for a query that makes many selections (one rule evaluation):
  /// holds the store's shared lock until destroyed, so label ids, symbol strings and samples
  /// stay valid and unchanged; writers wait meanwhile. Do not call other store methods from
  /// the thread holding it.
  class ReadLock {
   public:
    std::string_view str(SymbolId id) const { return store_->symbols_.str(id); }
    bool find(std::string_view s, SymbolId* id) const { return store_->symbols_.find(s, id); }
    /// Calls fn(view) for every series whose metric name is the symbol `name`, in the order of
    /// their label sets (by name, then value, as Prometheus sorts series).
    template <typename F>
    void forEachNamedSorted(SymbolId name, F&& fn) const {
      const auto& refs = store_->sortedByNameLocked(name);
      for (size_t i = 0; i < refs.size(); ++i) {
        // Series of one name are scattered in memory: fetch ahead.
        if (i + 16 < refs.size()) {
          // A Series spans two or three cache lines; the view reads from each.
          const char* p = reinterpret_cast<const char*>(&store_->series_[refs[i + 16]]);
          __builtin_prefetch(p);
          __builtin_prefetch(p + 64);
          __builtin_prefetch(p + sizeof(Series) - 1);
        }
        fn(store_->viewLocked(store_->series_[refs[i]]));
      }
    }
    /// Calls fn(view) for every live series, in no particular order.
    template <typename F>
    void forEachSeries(F&& fn) const {
      for (const Series& s : store_->series_) {
        if (s.live) fn(store_->viewLocked(s));
      }
    }

   private:
    friend class SeriesStore;
    explicit ReadLock(const SeriesStore* store) : lock_(store->mu_), store_(store) {}
    std::shared_lock<std::shared_mutex> lock_;
    const SeriesStore* store_;
  };
  ReadLock readLock() const { return ReadLock(this); }

  struct Stats {
    size_t series = 0;
    size_t samples = 0;
    size_t bytes = 0;  ///< estimated heap bytes held by the store
  };
  Stats stats() const;

 private:
  struct Series {
    std::vector<LabelPair> labels;  // interned: a series costs 8 bytes per label
    // Ring storage: one sample inline (the common case without retention costs no heap block),
    // more on the heap once retention asks for history.
    struct Ring {
      Sample one;
      Sample* many = nullptr;  // from pool_ when cap > 1
      uint32_t cap = 1;
      Sample* data() { return cap == 1 ? &one : many; }
      const Sample* data() const { return cap == 1 ? &one : many; }
      size_t size() const { return cap; }
      Sample& operator[](size_t i) { return data()[i]; }
      const Sample& operator[](size_t i) const { return data()[i]; }
    } ring;
    uint32_t start = 0;  // index of the oldest sample in ring
    uint32_t count = 0;
    uint32_t owners = 0;
    uint32_t family = 0;
    uint64_t hash = 0;
    int64_t retentionMs = 0;  // history this series keeps (by its metric name)
    TimestampMs newestStale = INT64_MIN;  // the newest staleness marker appended (an upper bound)
    bool live = false;
  };

  // Sample rings are carved from 2 MiB chunks (advised as transparent huge pages where the
  // kernel grants them): the rule engine reads the samples of 100,000s of series per
  // evaluation, and rings scattered over the malloc heap, each behind its own cache and TLB
  // misses, cost more than the arithmetic. Sizes grow by 1.5x steps (4, 6, 8, 12, ...), and
  // jump to the retention's need once the interval is known, so a ring holds at most about a
  // third more than it needs. Freed rings are reused for rings of the same size; chunks are
  // returned when the store is destroyed. Used under the exclusive lock only.
  class SamplePool {
   public:
    SamplePool() = default;
    SamplePool(const SamplePool&) = delete;
    SamplePool& operator=(const SamplePool&) = delete;
    ~SamplePool();
    Sample* alloc(uint32_t cap);
    void free(Sample* p, uint32_t cap);
    size_t bytes() const { return bytes_; }
    /// The ring size after `cap` (at most `max`).
    static uint32_t nextCap(uint32_t cap, size_t max);

   private:
    static constexpr size_t kChunk = size_t{2} << 20;
    std::vector<void*> chunks_;
    char* bump_ = nullptr;
    size_t left_ = 0;
    size_t bytes_ = 0;
    std::unordered_map<uint32_t, std::vector<Sample*>> free_;
  };
  void freeRingLocked(Series& s);

  uint32_t familyIndexLocked(std::string_view metricName);
  bool sameLabelsLocked(const Series& s, const Labels& labels) const;
  SeriesView viewLocked(const Series& s) const;
  void appendLocked(Series& s, TimestampMs t, double v);
  void trimLocked(Series& s, TimestampMs now);
  static void removeFromVector(std::vector<SeriesRef>& v, SeriesRef ref);
  size_t capacityFor(const Series& s) const;
  int64_t retentionForLocked(std::string_view metricName) const;
  const std::vector<SeriesRef>& sortedByNameLocked(SymbolId name) const;
  void invalidateSortedLocked(SymbolId name);

  Options options_;  // options_.retention is the fallback for names not in retentionByName_
  std::unordered_map<std::string, Duration> retentionByName_;
  mutable std::shared_mutex mu_;
  // Readers of a Snapshot hold this shared; compact() deletes series only when it can take it
  // exclusively (it skips a round rather than wait for a slow scrape).
  mutable std::shared_mutex gcMu_;
  // A deque: growing never copies the series or leaves a vector's doubling slack behind, which
  // at 300,000 series was tens of MB.
  std::deque<Series> series_;
  std::vector<SeriesRef> free_;
  std::unordered_multimap<uint64_t, SeriesRef> byHash_;
  std::vector<FamilyInfo> families_;
  std::map<std::string, uint32_t, std::less<>> familyByName_;
  std::vector<std::vector<SeriesRef>> familyMembers_;
  SymbolTable symbols_;
  SamplePool pool_;
  std::unordered_map<SymbolId, std::vector<SeriesRef>> byName_;
  std::vector<SeriesRef> released_;  // series with no owner, waiting for deletion
  // byName_'s lists sorted by label set, made by readers on first use (under sortMu_ and the
  // shared lock) and dropped by writers (under the exclusive lock) when membership changes.
  mutable std::mutex sortMu_;
  mutable std::unordered_map<SymbolId, std::vector<SeriesRef>> sortedByName_;
};

}  // namespace vigil::series
