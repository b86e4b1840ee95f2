#include "agent/state/state_db.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using vigil::state::AlertRecord;
using vigil::state::Event;
using vigil::state::NotifyLogEntry;
using vigil::state::OutboxEntry;
using vigil::state::StateDb;

namespace {

/// A fresh directory under $TMPDIR, removed (permissions restored first) at the end of the test.
struct TempDir {
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base ? base : "/tmp") + "/vigil-state-XXXXXX";
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      ::chmod(it->path().c_str(), 0700);
    }
    ::chmod(path.c_str(), 0700);
    fs::remove_all(path, ec);
  }
  std::string sub(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::unique_ptr<StateDb> openOk(const std::string& dir) {
  auto db = StateDb::open(dir);
  INFO((db.ok() ? std::string() : db.error().format()));
  REQUIRE(db.ok());
  return std::move(db).value();
}

OutboxEntry entry(const std::string& key, const std::string& receiver = "oncall") {
  OutboxEntry e;
  e.receiver = receiver;
  e.groupKey = "{}:{alertname=\"RedundancyLost\"}";
  e.idempotencyKey = key;
  e.contentType = "application/json";
  e.body = std::string("{\"status\":\"firing\",\"x\":\"\0binary\"}", 33);
  e.resolved = false;
  e.createdAt = 1'700'000'000'000;
  e.expiresAt = 1'700'086'400'000;
  e.nextAttemptAt = 1'700'000'000'000;
  return e;
}

void requireSameEntry(const OutboxEntry& a, const OutboxEntry& b) {
  CHECK(a.receiver == b.receiver);
  CHECK(a.groupKey == b.groupKey);
  CHECK(a.idempotencyKey == b.idempotencyKey);
  CHECK(a.contentType == b.contentType);
  CHECK(a.body == b.body);
  CHECK(a.resolved == b.resolved);
  CHECK(a.createdAt == b.createdAt);
  CHECK(a.expiresAt == b.expiresAt);
  CHECK(a.nextAttemptAt == b.nextAttemptAt);
  CHECK(a.attempts == b.attempts);
  CHECK(a.lastError == b.lastError);
}

Event event(vigil::TimestampMs at, const std::string& kind, const std::string& subject,
            const std::string& from, const std::string& to, const std::string& detail = "") {
  Event e;
  e.at = at;
  e.kind = kind;
  e.subject = subject;
  e.labels = {{"alertname", subject}, {"pool", "web"}};
  e.from = from;
  e.to = to;
  e.detail = detail;
  return e;
}

/// Runs SQL on a database file with SQLite directly (to build foreign or damaged files).
void rawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err != nullptr ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

std::string rawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    out = p != nullptr ? p : "";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

}  // namespace

TEST_CASE("state: a new database is created 0600 in a 0700 directory, WAL, schema version 1") {
  TempDir tmp;
  const std::string dir = tmp.sub("a/b/state");
  {
    auto db = openOk(dir);
    CHECK(db->path() == dir + "/vigil.db");
    REQUIRE(db->enqueue(entry("k1")).ok());
    struct stat st {};
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(::stat(db->path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    // SQLite gives its -wal file the database's mode.
    REQUIRE(::stat((db->path() + "-wal").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  CHECK(rawQuery(dir + "/vigil.db", "PRAGMA journal_mode") == "wal");
  CHECK(rawQuery(dir + "/vigil.db", "PRAGMA user_version") == "1");
}

TEST_CASE("state: an existing directory keeps its mode") {
  TempDir tmp;
  const std::string dir = tmp.sub("state");
  REQUIRE(::mkdir(dir.c_str(), 0750) == 0);
  openOk(dir);
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0750);
}

TEST_CASE("state: outbox round trip") {
  TempDir tmp;
  auto db = openOk(tmp.path);
  const auto a = entry("key-a"), b = entry("key-b", "slack"), c = entry("key-c");
  auto ia = db->enqueue(a), ib = db->enqueue(b), ic = db->enqueue(c);
  REQUIRE(ia.ok());
  REQUIRE(ib.ok());
  REQUIRE(ic.ok());
  CHECK(*ia < *ib);
  CHECK(*ib < *ic);

  auto p = db->pending();
  REQUIRE(p.ok());
  REQUIRE(p->size() == 3);
  CHECK((*p)[0].id == *ia);
  requireSameEntry((*p)[0], a);
  requireSameEntry((*p)[1], b);
  requireSameEntry((*p)[2], c);

  SECTION("delivered removes the entry") {
    REQUIRE(db->delivered(*ib).ok());
    p = db->pending();
    REQUIRE(p.ok());
    REQUIRE(p->size() == 2);
    CHECK((*p)[0].id == *ia);
    CHECK((*p)[1].id == *ic);
    auto again = db->delivered(*ib);
    REQUIRE_FALSE(again.ok());
    CHECK_THAT(again.error().format(), Catch::Contains(db->path()));
  }
  SECTION("retryLater records attempts, next attempt and the error") {
    REQUIRE(db->retryLater(*ia, 3, 1'700'000'060'000, "503 Service Unavailable").ok());
    p = db->pending();
    REQUIRE(p.ok());
    CHECK((*p)[0].attempts == 3);
    CHECK((*p)[0].nextAttemptAt == 1'700'000'060'000);
    CHECK((*p)[0].lastError == "503 Service Unavailable");
    CHECK((*p)[1].attempts == 0);
    CHECK_FALSE(db->retryLater(12345, 1, 0, "x").ok());
  }
  SECTION("drop removes the entry") {
    REQUIRE(db->drop(*ic, "expired").ok());
    p = db->pending();
    REQUIRE(p.ok());
    CHECK(p->size() == 2);
    CHECK_FALSE(db->drop(*ic, "expired").ok());
  }
  SECTION("an idempotency key is unique") {
    auto dup = db->enqueue(entry("key-a", "other"));
    REQUIRE_FALSE(dup.ok());
    CHECK_THAT(dup.error().format(), Catch::Contains(db->path()) && Catch::Contains("key-a"));
    p = db->pending();
    REQUIRE(p.ok());
    CHECK(p->size() == 3);
  }
  SECTION("ids keep increasing after every entry was delivered") {
    for (auto id : {*ia, *ib, *ic}) REQUIRE(db->delivered(id).ok());
    auto id = db->enqueue(entry("key-d"));
    REQUIRE(id.ok());
    CHECK(*id > *ic);
  }
}

TEST_CASE("state: notification log round trip, upsert by receiver and group") {
  TempDir tmp;
  auto db = openOk(tmp.path);
  NotifyLogEntry a{"oncall", "{}:{pool=\"web\"}", 1000, {1, 0xffffffffffffffffULL, 42}, {7}};
  NotifyLogEntry b{"oncall", "{}:{pool=\"db\"}", 2000, {}, {}};
  REQUIRE(db->recordNotified(a).ok());
  REQUIRE(db->recordNotified(b).ok());
  a.sentAt = 3000;
  a.firingFingerprints = {5};
  a.resolvedFingerprints = {1, 42};
  REQUIRE(db->recordNotified(a).ok());
  auto log = db->notifyLog();
  REQUIRE(log.ok());
  REQUIRE(log->size() == 2);
  const auto& got = (*log)[0].groupKey == a.groupKey ? (*log)[0] : (*log)[1];
  const auto& other = (*log)[0].groupKey == a.groupKey ? (*log)[1] : (*log)[0];
  CHECK(got.receiver == "oncall");
  CHECK(got.sentAt == 3000);
  CHECK(got.firingFingerprints == std::vector<uint64_t>{5});
  CHECK(got.resolvedFingerprints == std::vector<uint64_t>{1, 42});
  CHECK(other.groupKey == b.groupKey);
  CHECK(other.sentAt == 2000);
  CHECK(other.firingFingerprints.empty());
}

TEST_CASE("state: alert states are replaced as a whole") {
  TempDir tmp;
  auto db = openOk(tmp.path);
  AlertRecord a;
  a.group = "etc/rules/pools.yaml;pools";
  a.rule = "RedundancyLost";
  a.labels = {{"alertname", "RedundancyLost"}, {"pool", "web"}, {"quote", "a\"b\\c\n"}};
  a.state = "firing";
  a.value = 1;
  a.activeAt = 10;
  a.firedAt = 20;
  a.lastSentAt = 30;
  a.validUntil = 40;
  a.keepFiringSince = 50;
  AlertRecord b = a;
  b.rule = "MemoryExhaustion";
  b.labels = {{"alertname", "MemoryExhaustion"}, {"instance", "web-01"}};
  b.state = "pending";
  b.value = std::nan("");
  b.resolvedAt = 60;
  REQUIRE(db->saveAlerts({a, b}).ok());
  auto got = db->loadAlerts();
  REQUIRE(got.ok());
  REQUIRE(got->size() == 2);
  const auto& ga = (*got)[0];
  CHECK(ga.group == a.group);
  CHECK(ga.rule == a.rule);
  CHECK(ga.labels == a.labels);
  CHECK(ga.state == "firing");
  CHECK(ga.value == 1);
  CHECK(ga.activeAt == 10);
  CHECK(ga.firedAt == 20);
  CHECK(ga.resolvedAt == 0);
  CHECK(ga.lastSentAt == 30);
  CHECK(ga.validUntil == 40);
  CHECK(ga.keepFiringSince == 50);
  CHECK((*got)[1].rule == "MemoryExhaustion");
  CHECK(std::isnan((*got)[1].value));
  CHECK((*got)[1].resolvedAt == 60);

  REQUIRE(db->saveAlerts({b}).ok());
  got = db->loadAlerts();
  REQUIRE(got.ok());
  REQUIRE(got->size() == 1);
  CHECK((*got)[0].rule == "MemoryExhaustion");
  REQUIRE(db->saveAlerts({}).ok());
  got = db->loadAlerts();
  REQUIRE(got.ok());
  CHECK(got->empty());
}

TEST_CASE("state: events by half-open window, oldest first; prune") {
  TempDir tmp;
  auto db = openOk(tmp.path);
  REQUIRE(db->addEvent(event(3000, "alert", "B", "pending", "firing", "line1\nline2 | x")).ok());
  REQUIRE(db->addEvent(event(1000, "alert", "A", "inactive", "pending")).ok());
  REQUIRE(db->addEvent(event(2000, "probe", "web-01", "up", "down", "status 500")).ok());
  REQUIRE(db->addEvent(event(3000, "reload", "vigil.yaml", "", "ok")).ok());
  REQUIRE(db->addEvent(event(4000, "notification", "oncall", "", "sent")).ok());

  auto all = db->events(0, 10'000);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 5);
  CHECK((*all)[0].subject == "A");
  CHECK((*all)[1].subject == "web-01");
  CHECK((*all)[1].detail == "status 500");
  // Same timestamp: insertion order.
  CHECK((*all)[2].subject == "B");
  CHECK((*all)[2].detail == "line1\nline2 | x");
  CHECK((*all)[2].labels == vigil::Labels{{"alertname", "B"}, {"pool", "web"}});
  CHECK((*all)[2].from == "pending");
  CHECK((*all)[2].to == "firing");
  CHECK((*all)[3].kind == "reload");
  CHECK((*all)[0].id < (*all)[1].id);

  auto window = db->events(2000, 4000);
  REQUIRE(window.ok());
  REQUIRE(window->size() == 3);
  CHECK(window->front().at == 2000);
  CHECK(window->back().at == 3000);

  auto pruned = db->pruneEvents(3000);
  REQUIRE(pruned.ok());
  CHECK(*pruned == 2);
  all = db->events(0, 10'000);
  REQUIRE(all.ok());
  CHECK(all->size() == 3);
  pruned = db->pruneEvents(3000);
  REQUIRE(pruned.ok());
  CHECK(*pruned == 0);
}

TEST_CASE("state: everything survives close and reopen") {
  TempDir tmp;
  int64_t lastId = 0;
  {
    auto db = openOk(tmp.path);
    auto id = db->enqueue(entry("k1"));
    REQUIRE(id.ok());
    REQUIRE(db->enqueue(entry("k2")).ok());
    auto last = db->enqueue(entry("k3"));
    REQUIRE(last.ok());
    lastId = *last;
    REQUIRE(db->delivered(*id).ok());
    REQUIRE(db->recordNotified({"oncall", "g", 5, {1}, {}}).ok());
    AlertRecord a;
    a.rule = "X";
    a.labels = {{"alertname", "X"}};
    a.state = "pending";
    REQUIRE(db->saveAlerts({a}).ok());
    REQUIRE(db->addEvent(event(100, "alert", "X", "inactive", "pending")).ok());
  }
  auto db = openOk(tmp.path);
  auto p = db->pending();
  REQUIRE(p.ok());
  REQUIRE(p->size() == 2);
  CHECK((*p)[0].idempotencyKey == "k2");
  CHECK((*p)[1].id == lastId);
  auto log = db->notifyLog();
  REQUIRE(log.ok());
  REQUIRE(log->size() == 1);
  CHECK(log->front().firingFingerprints == std::vector<uint64_t>{1});
  auto alerts = db->loadAlerts();
  REQUIRE(alerts.ok());
  REQUIRE(alerts->size() == 1);
  CHECK(alerts->front().state == "pending");
  auto ev = db->events(0, 1000);
  REQUIRE(ev.ok());
  CHECK(ev->size() == 1);
  auto next = db->enqueue(entry("k4"));
  REQUIRE(next.ok());
  CHECK(*next > lastId);
}

namespace {

/// A real vigil database with enough rows to span several pages, closed (checkpointed).
void makeRealDb(const std::string& dir) {
  auto db = openOk(dir);
  for (int i = 0; i < 30; ++i) {
    REQUIRE(db->addEvent(event(i, "probe", "web-" + std::to_string(i), "up", "down",
                               std::string(2000, 'x')))
                .ok());
  }
}

}  // namespace

TEST_CASE("state: a damaged or foreign file is refused, named, and left byte-identical") {
  TempDir tmp;
  const std::string dir = tmp.sub("state");
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  const std::string file = dir + "/vigil.db";
  std::string expect;

  SECTION("random bytes") {
    std::mt19937 rng(42);
    std::string data(8192, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    writeFile(file, data);
    REQUIRE(fs::file_size(file) == data.size());
    expect = "not an SQLite database";
  }
  SECTION("text") {
    writeFile(file, "global:\n  state_dir: /var/lib/vigil\n");
    REQUIRE(fs::file_size(file) > 0);
    expect = "not an SQLite database";
  }
  SECTION("a truncated vigil database") {
    makeRealDb(dir);
    REQUIRE_FALSE(fs::exists(file + "-wal"));
    const auto size = fs::file_size(file);
    REQUIRE(size > 8 * 4096);
    fs::resize_file(file, size / 2);
    expect = "corrupt";
  }
  SECTION("a vigil database with a page overwritten") {
    makeRealDb(dir);
    std::string data = readFile(file);
    // Page 3 (of the events table) filled with garbage; the header stays valid.
    for (size_t i = 2 * 4096; i < 3 * 4096 && i < data.size(); ++i) data[i] = '\x5a';
    writeFile(file, data);
    expect = "corrupt";
  }
  SECTION("a valid SQLite database of another application") {
    rawExec(file, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
                  "INSERT INTO users (name) VALUES ('alice');");
    expect = "not vigil's";
  }
  SECTION("a vigil database of a newer schema") {
    makeRealDb(dir);
    rawExec(file, "PRAGMA user_version = 99");
    expect = "newer";
  }
  SECTION("a vigil database missing a table") {
    makeRealDb(dir);
    rawExec(file, "DROP TABLE outbox");
    expect = "outbox is missing";
  }
  const std::string before = readFile(file);
  REQUIRE_FALSE(before.empty());
  auto db = StateDb::open(dir);
  REQUIRE_FALSE(db.ok());
  const std::string msg = db.error().format();
  INFO(msg);
  CHECK_THAT(msg, Catch::StartsWith(file + ": ") && Catch::Contains(expect));
  CHECK(readFile(file) == before);
  // Read-only opening refuses it the same way.
  auto ro = StateDb::openReadOnly(dir);
  REQUIRE_FALSE(ro.ok());
  CHECK_THAT(ro.error().format(), Catch::Contains(file));
  CHECK(readFile(file) == before);
}

TEST_CASE("state: a 0-byte file becomes a new database") {
  TempDir tmp;
  writeFile(tmp.sub("vigil.db"), "");
  auto db = openOk(tmp.path);
  REQUIRE(db->enqueue(entry("k")).ok());
}

TEST_CASE("state: a read-only file or directory is refused") {
  TempDir tmp;
  const std::string dir = tmp.sub("state");
  makeRealDb(dir);
  const std::string file = dir + "/vigil.db";
  const std::string before = readFile(file);
  std::string expect;
  SECTION("file") {
    REQUIRE(::chmod(file.c_str(), 0400) == 0);
    expect = file + ": is not writable";
  }
  SECTION("directory") {
    REQUIRE(::chmod(dir.c_str(), 0500) == 0);
    expect = dir + ": the state directory is not writable";
  }
  auto db = StateDb::open(dir);
  REQUIRE_FALSE(db.ok());
  CHECK_THAT(db.error().format(), Catch::StartsWith(expect));
  CHECK(readFile(file) == before);
  // Reading is still possible.
  auto ro = StateDb::openReadOnly(dir);
  INFO((ro.ok() ? std::string() : ro.error().format()));
  REQUIRE(ro.ok());
  auto ev = (*ro)->events(0, 1000);
  REQUIRE(ev.ok());
  CHECK(ev->size() == 30);
}

TEST_CASE("state: a state directory that is a file is refused") {
  TempDir tmp;
  writeFile(tmp.sub("state"), "x");
  auto db = StateDb::open(tmp.sub("state"));
  REQUIRE_FALSE(db.ok());
  CHECK_THAT(db.error().format(), Catch::Contains(tmp.sub("state")) &&
                                      Catch::Contains("not a directory"));
}

TEST_CASE("state: read-only opening creates nothing and writes nothing") {
  TempDir tmp;
  const std::string dir = tmp.sub("absent");
  auto ro = StateDb::openReadOnly(dir);
  REQUIRE_FALSE(ro.ok());
  CHECK_THAT(ro.error().format(), Catch::Contains(dir));
  CHECK_FALSE(fs::exists(dir));

  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  ro = StateDb::openReadOnly(dir);
  REQUIRE_FALSE(ro.ok());
  CHECK_THAT(ro.error().format(), Catch::Contains(dir + "/vigil.db") &&
                                      Catch::Contains("does not exist"));
  CHECK_FALSE(fs::exists(dir + "/vigil.db"));

  {
    auto db = openOk(dir);
    REQUIRE(db->addEvent(event(5, "alert", "A", "inactive", "firing")).ok());
  }
  ro = StateDb::openReadOnly(dir);
  REQUIRE(ro.ok());
  auto ev = (*ro)->events(0, 10);
  REQUIRE(ev.ok());
  CHECK(ev->size() == 1);
  auto add = (*ro)->addEvent(event(6, "alert", "A", "firing", "resolved"));
  REQUIRE_FALSE(add.ok());
  CHECK_THAT(add.error().format(), Catch::Contains(dir + "/vigil.db"));
  CHECK_FALSE((*ro)->enqueue(entry("k")).ok());
}

TEST_CASE("state: a row the schema does not allow is an error naming the file") {
  TempDir tmp;
  {
    auto db = openOk(tmp.path);
    REQUIRE(db->addEvent(event(5, "alert", "A", "inactive", "firing")).ok());
  }
  rawExec(tmp.sub("vigil.db"), "UPDATE events SET labels = 'not json'");
  auto db = openOk(tmp.path);
  auto ev = db->events(0, 10);
  REQUIRE_FALSE(ev.ok());
  CHECK_THAT(ev.error().format(), Catch::StartsWith(tmp.sub("vigil.db")) &&
                                      Catch::Contains("labels"));
}

TEST_CASE("state: an enqueued entry survives SIGKILL of the process before it closes") {
  TempDir tmp;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  constexpr int kEntries = 5;
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto db = StateDb::open(tmp.path);
    if (!db.ok()) ::_exit(3);
    for (int i = 0; i < kEntries; ++i) {
      if (!(*db)->enqueue(entry("crash-" + std::to_string(i))).ok()) ::_exit(4);
      // Told only after enqueue() returned: from here on the entry must be durable.
      const char ack = 'k';
      if (::write(fds[1], &ack, 1) != 1) ::_exit(5);
    }
    // Never closes the database: waits (bounded) to be killed.
    for (int i = 0; i < 600; ++i) ::usleep(100'000);
    ::_exit(6);
  }
  ::close(fds[1]);
  int acks = 0;
  char c;
  while (acks < kEntries && ::read(fds[0], &c, 1) == 1) ++acks;
  ::close(fds[0]);
  REQUIRE(::kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("child exit status " << status);
  REQUIRE(acks == kEntries);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  auto db = openOk(tmp.path);
  auto p = db->pending();
  REQUIRE(p.ok());
  REQUIRE(p->size() == kEntries);
  for (int i = 0; i < kEntries; ++i) {
    CHECK((*p)[i].idempotencyKey == "crash-" + std::to_string(i));
  }
}

TEST_CASE("state: four threads at once") {
  TempDir tmp;
  auto db = openOk(tmp.path);
  constexpr int kThreads = 4, kPerThread = 40;
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto id = db->enqueue(entry("t" + std::to_string(t) + "-" + std::to_string(i)));
        if (!id.ok()) {
          ++failures[t];
          continue;
        }
        ids[t].push_back(*id);
        if (!db->addEvent(event(t * 1000 + i, "probe", "t", "up", "down")).ok()) ++failures[t];
        if (!db->pending().ok()) ++failures[t];
        if (i % 2 == 0 && !db->delivered(*id).ok()) ++failures[t];
        if (!db->recordNotified({"r" + std::to_string(t), "g", i, {uint64_t(i)}, {}}).ok()) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int64_t> all;
  for (int t = 0; t < kThreads; ++t) {
    CHECK(failures[t] == 0);
    REQUIRE(ids[t].size() == kPerThread);
    // Each thread sees its own ids increase.
    CHECK(std::is_sorted(ids[t].begin(), ids[t].end()));
    all.insert(ids[t].begin(), ids[t].end());
  }
  CHECK(all.size() == size_t{kThreads * kPerThread});
  auto p = db->pending();
  REQUIRE(p.ok());
  CHECK(p->size() == size_t{kThreads * kPerThread / 2});
  auto ev = db->events(0, 1'000'000);
  REQUIRE(ev.ok());
  CHECK(ev->size() == size_t{kThreads * kPerThread});
  auto log = db->notifyLog();
  REQUIRE(log.ok());
  REQUIRE(log->size() == size_t{kThreads});
  for (const auto& e : *log) CHECK(e.sentAt == kPerThread - 1);
}

TEST_CASE("state: a read-only reader sees what a writer commits while both are open") {
  TempDir tmp;
  auto writer = openOk(tmp.path);
  REQUIRE(writer->addEvent(event(1, "alert", "A", "inactive", "pending")).ok());
  auto reader = StateDb::openReadOnly(tmp.path);
  REQUIRE(reader.ok());
  auto ev = (*reader)->events(0, 100);
  REQUIRE(ev.ok());
  CHECK(ev->size() == 1);
  for (int i = 2; i <= 20; ++i) {
    REQUIRE(writer->addEvent(event(i, "alert", "A", "pending", "firing")).ok());
    ev = (*reader)->events(0, 100);
    REQUIRE(ev.ok());
    REQUIRE(ev->size() == static_cast<size_t>(i));
    CHECK(ev->back().at == i);
  }
  // The writer still writes while the reader is open.
  REQUIRE(writer->enqueue(entry("k")).ok());
  auto p = (*reader)->pending();
  REQUIRE(p.ok());
  CHECK(p->size() == 1);
}
