#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "agent/series/series_store.h"

using vigil::Duration;
using vigil::Labels;
using namespace vigil::series;

namespace {

Labels metric(const char* name, Labels extra = {}) {
  vigil::set(extra, "__name__", name);
  return extra;
}

std::vector<Sample> samplesOf(const SeriesStore& store, const char* name) {
  std::vector<Sample> out;
  store.visitSeries(name, [&](const SeriesStore::SeriesView& v) {
    v.forEachSample([&](const Sample& s) { out.push_back(s); });
  });
  return out;
}

}  // namespace

TEST_CASE("the same label set is the same series") {
  SeriesStore store;
  auto a = store.ref(metric("up", {{"target", "a"}}));
  auto b = store.ref(metric("up", {{"target", "a"}}));
  auto c = store.ref(metric("up", {{"target", "b"}}));
  REQUIRE(a == b);
  REQUIRE(a != c);
  REQUIRE(store.stats().series == 2);
}

TEST_CASE("without retention only the latest sample is kept") {
  SeriesStore store;
  auto r = store.ref(metric("up"));
  for (int i = 0; i < 10; ++i) store.append(r, 1000 + i, i);
  auto s = samplesOf(store, "up");
  REQUIRE(s.size() == 1);
  REQUIRE(s[0].t == 1009);
  REQUIRE(s[0].v == 9);
}

TEST_CASE("retention keeps a window of samples in time order") {
  SeriesStore store(SeriesStore::Options{Duration{10'000}, 8192});
  auto r = store.ref(metric("up"));
  for (int i = 0; i < 30; ++i) store.append(r, i * 1000, i);
  auto s = samplesOf(store, "up");
  // Samples at 19s..29s are within 10s of the newest one.
  REQUIRE(s.size() == 11);
  REQUIRE(s.front().t == 19'000);
  REQUIRE(s.back().t == 29'000);
  for (size_t i = 1; i < s.size(); ++i) REQUIRE(s[i].t > s[i - 1].t);
}

TEST_CASE("the per-series cap bounds memory whatever retention says") {
  SeriesStore store(SeriesStore::Options{Duration{1'000'000'000}, 16});
  auto r = store.ref(metric("up"));
  for (int i = 0; i < 100; ++i) store.append(r, i, i);
  auto s = samplesOf(store, "up");
  REQUIRE(s.size() == 16);
  REQUIRE(s.back().v == 99);
  REQUIRE(s.front().v == 84);
}

TEST_CASE("out-of-order samples are dropped; a repeated timestamp overwrites") {
  SeriesStore store(SeriesStore::Options{Duration{60'000}, 64});
  auto r = store.ref(metric("up"));
  store.append(r, 2000, 1);
  store.append(r, 1000, 5);
  store.append(r, 2000, 2);
  auto s = samplesOf(store, "up");
  REQUIRE(s.size() == 1);
  REQUIRE(s[0].v == 2);
}

TEST_CASE("a released series goes stale, leaves /metrics, and is deleted after retention") {
  SeriesStore store(SeriesStore::Options{Duration{5'000}, 64});
  auto r = store.ref(metric("up", {{"target", "gone"}}));
  store.append(r, 1000, 1);
  store.release(r, 2000);
  auto s = samplesOf(store, "up");
  REQUIRE(s.size() == 2);
  REQUIRE(isStaleNaN(s.back().v));
  REQUIRE_FALSE(isStaleNaN(std::nan("")));
  size_t exported = 0;
  store.visitFamilies([&](const FamilyInfo&, const std::vector<SeriesStore::SeriesView>& v) {
    exported += v.size();
  });
  REQUIRE(exported == 0);
  store.compact(3000);
  REQUIRE(store.stats().series == 1);  // still within retention: rules can see the marker
  store.compact(8000);
  REQUIRE(store.stats().series == 0);
}

TEST_CASE("a series with two owners lives until both release it") {
  SeriesStore store;
  auto a = store.ref(metric("up"));
  auto b = store.ref(metric("up"));
  store.append(a, 1000, 1);
  store.release(a, 2000);
  store.compact(3000);
  REQUIRE(store.stats().series == 1);
  REQUIRE_FALSE(isStaleNaN(samplesOf(store, "up").back().v));
  store.release(b, 4000);
  store.compact(5000);
  REQUIRE(store.stats().series == 0);
}

TEST_CASE("slots of deleted series are reused and their labels are not confused") {
  SeriesStore store;
  auto a = store.ref(metric("up", {{"target", "a"}}));
  store.append(a, 1, 1);
  store.release(a, 2);
  store.compact(3);
  auto b = store.ref(metric("down", {{"target", "b"}}));
  store.append(b, 4, 7);
  Labels seen;
  store.visitSeries("down", [&](const SeriesStore::SeriesView& v) { seen = v.labels(); });
  REQUIRE(seen == metric("down", {{"target", "b"}}));
  REQUIRE(samplesOf(store, "up").empty());
}

TEST_CASE("families group series and histogram parts") {
  SeriesStore store;
  store.describe("lat", MetricType::kHistogram, "latency");
  auto b = store.ref(metric("lat_bucket", {{"le", "+Inf"}}));
  auto c = store.ref(metric("lat_count"));
  auto g = store.ref(metric("g"));
  store.append(b, 1, 1);
  store.append(c, 1, 1);
  store.append(g, 1, 1);
  std::vector<std::pair<std::string, size_t>> fams;
  store.visitFamilies([&](const FamilyInfo& f, const std::vector<SeriesStore::SeriesView>& v) {
    fams.emplace_back(f.name, v.size());
  });
  REQUIRE(fams == std::vector<std::pair<std::string, size_t>>{{"g", 1}, {"lat", 2}});
}

TEST_CASE("describing a histogram after its series exist moves them into the family") {
  SeriesStore store;
  auto b = store.ref(metric("lat_bucket", {{"le", "1"}}));
  store.append(b, 1, 1);
  store.describe("lat", MetricType::kHistogram, "latency");
  std::vector<std::string> fams;
  store.visitFamilies([&](const FamilyInfo& f, const std::vector<SeriesStore::SeriesView>&) {
    fams.push_back(f.name);
  });
  REQUIRE(fams == std::vector<std::string>{"lat"});
}

TEST_CASE("stats count series and samples and estimate bytes") {
  SeriesStore store(SeriesStore::Options{Duration{60'000}, 64});
  for (int t = 0; t < 100; ++t) {
    auto r = store.ref(metric("m", {{"i", std::to_string(t)}}));
    for (int k = 0; k < 5; ++k) store.append(r, k * 1000, k);
  }
  auto st = store.stats();
  REQUIRE(st.series == 100);
  REQUIRE(st.samples == 500);
  REQUIRE(st.bytes > 500 * sizeof(Sample));
}

TEST_CASE("rings keep every sample through growth, whatever the first interval was") {
  // A counter's zero one millisecond before its first value, then samples every 10s: the ring
  // is sized from the interval it sees after a few samples and must still grow when the
  // interval shrinks later.
  SeriesStore store(SeriesStore::Options{Duration{600'000}, 8192});
  auto r = store.ref(metric("c"));
  std::vector<Sample> want;
  auto add = [&](int64_t t, double v) {
    store.append(r, t, v);
    want.push_back({t, v});
  };
  add(9'999, 0);
  int64_t t = 10'000;
  for (int i = 0; i < 30; ++i, t += 10'000) add(t, i);
  for (int i = 0; i < 200; ++i, t += 1'000) add(t, 100 + i);  // ten times as often
  // Only the last 600s are kept.
  std::erase_if(want, [&](const Sample& s) { return s.t < want.back().t - 600'000; });
  auto got = samplesOf(store, "c");
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    REQUIRE(got[i].t == want[i].t);
    REQUIRE(got[i].v == want[i].v);
  }
}

TEST_CASE("a read lock visits one name's series in label order, following new and deleted ones") {
  SeriesStore store(SeriesStore::Options{Duration{0}, 8192});
  auto order = [&] {
    std::vector<std::string> targets;
    auto lock = store.readLock();
    SymbolId name;
    REQUIRE(lock.find("up", &name));
    lock.forEachNamedSorted(name, [&](const SeriesStore::SeriesView& v) {
      targets.emplace_back(v.label("target"));
    });
    return targets;
  };
  auto b = store.ref(metric("up", {{"target", "web-b"}}));
  auto c = store.ref(metric("up", {{"target", "web-c"}}));
  auto a = store.ref(metric("up", {{"target", "web-a"}}));
  store.ref(metric("other", {{"target", "web-0"}}));
  for (auto r : {a, b, c}) store.append(r, 1000, 1);
  REQUIRE(order() == std::vector<std::string>{"web-a", "web-b", "web-c"});
  auto a2 = store.ref(metric("up", {{"target", "web-a2"}}));
  store.append(a2, 1000, 1);
  REQUIRE(order() == std::vector<std::string>{"web-a", "web-a2", "web-b", "web-c"});
  store.release(b, 2000);
  store.compact(2000);  // retention 0: deleted at once
  REQUIRE(order() == std::vector<std::string>{"web-a", "web-a2", "web-c"});
}
