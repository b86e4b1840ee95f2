// The durable state's throughput with fsync on (WAL, synchronous=FULL), in wall-clock time since
// the cost is the disk's, not the CPU's: notifications through the outbox (enqueue, then
// delivered: two synced commits each) and events appended (one synced commit each).
// The database lives under $VIGIL_BENCH_DIR, else /var/tmp (a disk, not tmpfs).

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "agent/state/state_db.h"

namespace {

struct BenchDb {
  BenchDb() {
    const char* base = std::getenv("VIGIL_BENCH_DIR");
    std::string tmpl = std::string(base != nullptr && *base ? base : "/var/tmp") +
                       "/vigil-bench-state-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
    auto opened = vigil::state::StateDb::open(dir);
    if (!opened.ok()) {
      std::fprintf(stderr, "%s\n", opened.error().format().c_str());
      std::abort();
    }
    db = std::move(opened).value();
  }
  ~BenchDb() {
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
  std::unique_ptr<vigil::state::StateDb> db;
};

vigil::state::OutboxEntry notification(int64_t n) {
  vigil::state::OutboxEntry e;
  e.receiver = "oncall";
  e.groupKey = "{}:{alertname=\"RedundancyLost\"}";
  e.idempotencyKey = "bench-" + std::to_string(n);
  e.contentType = "application/json";
  // About the size of an Alertmanager webhook payload with one alert.
  e.body = std::string(1500, 'x');
  e.createdAt = 1'700'000'000'000 + n;
  e.expiresAt = e.createdAt + 86'400'000;
  e.nextAttemptAt = e.createdAt;
  return e;
}

void BM_OutboxEnqueueDelivered(benchmark::State& state) {
  BenchDb b;
  int64_t n = 0;
  for (auto _ : state) {
    auto id = b.db->enqueue(notification(n++));
    if (!id.ok() || !b.db->delivered(*id).ok()) {
      state.SkipWithError("state database error");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("notifications enqueued+delivered, fsync on");
}
BENCHMARK(BM_OutboxEnqueueDelivered)->UseRealTime()->MinTime(2.0);

void BM_EventAppend(benchmark::State& state) {
  BenchDb b;
  vigil::state::Event e;
  e.kind = "alert";
  e.subject = "RedundancyLost";
  e.labels = {{"alertname", "RedundancyLost"}, {"pool", "web"}};
  e.from = "pending";
  e.to = "firing";
  e.detail = "pool web has 1 of 2 members in rotation (min 2)";
  int64_t n = 0;
  for (auto _ : state) {
    e.at = 1'700'000'000'000 + n++;
    if (!b.db->addEvent(e).ok()) {
      state.SkipWithError("state database error");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("events appended, fsync on");
}
BENCHMARK(BM_EventAppend)->UseRealTime()->MinTime(2.0);

/// What a restart reads: every pending notification, at a backlog of state.range(0).
void BM_OutboxPendingRead(benchmark::State& state) {
  BenchDb b;
  for (int64_t i = 0; i < state.range(0); ++i) {
    if (!b.db->enqueue(notification(i)).ok()) std::abort();
  }
  for (auto _ : state) {
    auto p = b.db->pending();
    if (!p.ok()) std::abort();
    benchmark::DoNotOptimize(p->size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_OutboxPendingRead)->Arg(1000)->UseRealTime();

}  // namespace
