#include "agent/state/state_db.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/core/log.h"

namespace vigil::state {

namespace {

/// Bumped whenever the schema changes; open() migrates older versions forward and refuses newer
/// ones (a downgraded binary must not write into a schema it does not know).
constexpr int kSchemaVersion = 1;

/// PRAGMA application_id: "VIGL". Tells vigil's database apart from any other SQLite file that
/// happens to sit at the same path.
constexpr int kApplicationId = 0x5649474c;

/// How long a statement waits for another connection's lock (`vigil report` reading while the
/// daemon writes, or a checkpoint) before it fails with SQLITE_BUSY.
constexpr int kBusyTimeoutMs = 5000;

constexpr char kSqliteMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                   'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  receiver TEXT NOT NULL,
  group_key TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  content_type TEXT NOT NULL,
  body BLOB NOT NULL,
  resolved INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL
);
CREATE TABLE notify_log (
  receiver TEXT NOT NULL,
  group_key TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  firing BLOB NOT NULL,
  resolved BLOB NOT NULL,
  PRIMARY KEY (receiver, group_key)
) WITHOUT ROWID;
CREATE TABLE alerts (
  seq INTEGER PRIMARY KEY,
  grp TEXT NOT NULL,
  rule TEXT NOT NULL,
  labels TEXT NOT NULL,
  state TEXT NOT NULL,
  value REAL,  -- NULL: NaN (SQLite stores NaN as NULL)
  active_at INTEGER NOT NULL,
  fired_at INTEGER NOT NULL,
  resolved_at INTEGER NOT NULL,
  last_sent_at INTEGER NOT NULL,
  valid_until INTEGER NOT NULL,
  keep_firing_since INTEGER NOT NULL
);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  labels TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX events_at ON events (at, id);
)sql";

/// The tables a vigil database of the current schema has (sqlite_sequence comes with
/// AUTOINCREMENT).
constexpr std::array<const char*, 5> kTables = {"alerts", "events", "notify_log", "outbox",
                                                "sqlite_sequence"};

/// Every statement the methods run, prepared once at open and reused.
enum Stmt : int {
  kEnqueue,
  kPending,
  kDelivered,
  kRetryLater,
  kDrop,
  kRecordNotified,
  kNotifyLog,
  kDeleteAlerts,
  kInsertAlert,
  kLoadAlerts,
  kAddEvent,
  kEvents,
  kPruneEvents,
  kBegin,
  kCommit,
  kRollback,
  kStmtCount,
};

constexpr std::array<const char*, kStmtCount> kSql = {
    "INSERT INTO outbox (receiver, group_key, idempotency_key, content_type, body, resolved,"
    " created_at, expires_at, next_attempt_at, attempts, last_error)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "SELECT id, receiver, group_key, idempotency_key, content_type, body, resolved, created_at,"
    " expires_at, next_attempt_at, attempts, last_error FROM outbox ORDER BY id",
    "DELETE FROM outbox WHERE id = ?",
    "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
    "DELETE FROM outbox WHERE id = ?",
    "INSERT INTO notify_log (receiver, group_key, sent_at, firing, resolved) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (receiver, group_key) DO UPDATE SET sent_at = excluded.sent_at,"
    " firing = excluded.firing, resolved = excluded.resolved",
    "SELECT receiver, group_key, sent_at, firing, resolved FROM notify_log"
    " ORDER BY receiver, group_key",
    "DELETE FROM alerts",
    "INSERT INTO alerts (seq, grp, rule, labels, state, value, active_at, fired_at, resolved_at,"
    " last_sent_at, valid_until, keep_firing_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "SELECT grp, rule, labels, state, value, active_at, fired_at, resolved_at, last_sent_at,"
    " valid_until, keep_firing_since FROM alerts ORDER BY seq",
    "INSERT INTO events (at, kind, subject, labels, from_state, to_state, detail)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)",
    "SELECT id, at, kind, subject, labels, from_state, to_state, detail FROM events"
    " WHERE at >= ? AND at < ? ORDER BY at, id",
    "DELETE FROM events WHERE at < ?",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
};

/// Closes the connection however open() leaves.
struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

std::string labelsToJson(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& l : labels) j[l.name] = l.value;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// Fingerprints as packed little-endian 64-bit words.
std::string packFingerprints(const std::vector<uint64_t>& fps) {
  std::string out;
  out.reserve(fps.size() * 8);
  for (uint64_t fp : fps) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((fp >> (8 * i)) & 0xff));
  }
  return out;
}

bool unpackFingerprints(const std::string& blob, std::vector<uint64_t>* out) {
  if (blob.size() % 8 != 0) return false;
  out->clear();
  for (size_t off = 0; off < blob.size(); off += 8) {
    uint64_t fp = 0;
    for (int i = 0; i < 8; ++i) {
      fp |= static_cast<uint64_t>(static_cast<unsigned char>(blob[off + i])) << (8 * i);
    }
    out->push_back(fp);
  }
  return true;
}

std::string columnText(sqlite3_stmt* st, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(st, col));
  const int n = sqlite3_column_bytes(st, col);
  return p == nullptr ? std::string() : std::string(p, static_cast<size_t>(n));
}

/// fsync of a directory, so that a file just created in it survives a crash.
void syncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

/// Write permission as the owner means it. access(2) alone says yes to root for a file or
/// directory whose every write bit is clear; a state file made read-only on purpose is refused
/// the same way for root as for anyone else.
bool writable(const std::string& path, const struct stat& st) {
  if ((st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0) return false;
  return ::access(path.c_str(), W_OK) == 0;
}

}  // namespace

struct StateDb::Impl {
  std::string dir;
  std::string path;
  bool readOnly = false;
  std::mutex mu;  // guards everything below: one connection, one statement at a time
  DbHandle db;
  std::array<sqlite3_stmt*, kStmtCount> stmts{};

  ~Impl() {
    for (sqlite3_stmt* st : stmts) sqlite3_finalize(st);
  }

  Error fail(std::string_view what) const {
    const char* msg = db ? sqlite3_errmsg(db.get()) : "out of memory";
    return Error{fmt::format("{}: {}", what, msg), path};
  }
  Error fail(std::string_view what, int rc) const {
    return Error{fmt::format("{}: {}", what, sqlite3_errstr(rc)), path};
  }

  /// Runs SQL that needs no parameters and returns no rows (schema, pragmas).
  Status exec(const char* sql, std::string_view what) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db.get(), sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      Error e{fmt::format("{}: {}", what, err != nullptr ? err : sqlite3_errstr(rc)), path};
      sqlite3_free(err);
      return e;
    }
    return Ok{};
  }

  /// A single integer from a query such as "PRAGMA user_version".
  Result<int64_t> queryInt(const char* sql, std::string_view what) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db.get(), sql, -1, &st, nullptr);
    if (rc != SQLITE_OK) return fail(what);
    rc = sqlite3_step(st);
    int64_t v = 0;
    if (rc == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return fail(what, rc);
    return v;
  }

  static Result<std::unique_ptr<Impl>> open(const std::string& dir, bool readOnly);
  Status validate();
  Status createSchema();
  Status removeEntry(int stmt, int64_t id, std::string_view what);

  /// The prepared statement `s`, reset and with its bindings cleared when the guard goes.
  class Use {
   public:
    Use(Impl& impl, Stmt s) : st_(impl.stmts[s]) {}
    ~Use() {
      sqlite3_reset(st_);
      sqlite3_clear_bindings(st_);
    }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    sqlite3_stmt* get() const { return st_; }
    void bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); }
    void bind(int i, double v) { sqlite3_bind_double(st_, i, v); }
    void bindText(int i, const std::string& v) {
      sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    void bindBlob(int i, const std::string& v) {
      sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    int step() { return sqlite3_step(st_); }

   private:
    sqlite3_stmt* st_;
  };

  Status checkWritable() const {
    if (readOnly) return Error{"the database was opened read-only", path};
    return Ok{};
  }

  /// Runs a statement that returns no rows.
  Status run(Use& u, std::string_view what) {
    const int rc = u.step();
    if (rc != SQLITE_DONE) return fail(what);
    return Ok{};
  }

  Status begin() {
    Use u(*this, kBegin);
    return run(u, "cannot begin a transaction");
  }
  Status commit() {
    Use u(*this, kCommit);
    return run(u, "cannot commit");
  }
  void rollback() {
    Use u(*this, kRollback);
    u.step();
  }

  Result<Labels> parseLabels(const std::string& text, std::string_view table) const {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Error{fmt::format("table {}: labels are not a JSON object: {}", table, text), path};
    }
    Labels out;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!it.value().is_string()) {
        return Error{fmt::format("table {}: label {} is not a string", table, it.key()), path};
      }
      out.push_back({it.key(), it.value().get<std::string>()});
    }
    normalize(out);
    return out;
  }
};

Status StateDb::Impl::validate() {
  // Integrity first: a damaged file must be refused before anything writes into it.
  {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db.get(), "PRAGMA quick_check", -1, &st, nullptr);
    if (rc != SQLITE_OK) return fail("is corrupt or unreadable");
    std::string problems;
    int n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::string line = columnText(st, 0);
      if (line == "ok") continue;
      if (n++ < 3) problems += (problems.empty() ? "" : "; ") + line;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail("is corrupt (integrity check failed)", rc);
    if (!problems.empty()) {
      return Error{fmt::format("is corrupt (integrity check: {}{})", problems,
                               n > 3 ? fmt::format("; and {} more", n - 3) : ""),
                   path};
    }
  }
  auto appId = queryInt("PRAGMA application_id", "cannot read the application id");
  if (!appId.ok()) return appId.error();
  auto version = queryInt("PRAGMA user_version", "cannot read the schema version");
  if (!version.ok()) return version.error();
  auto tables = queryInt("SELECT count(*) FROM sqlite_master", "cannot read the schema");
  if (!tables.ok()) return tables.error();

  if (*appId == 0 && *version == 0 && *tables == 0) return createSchema();  // new, empty
  if (*appId != kApplicationId) {
    return Error{fmt::format("is an SQLite database but not vigil's state (application_id {:#x}, "
                             "{} schema objects); refusing to use or overwrite it",
                             *appId, *tables),
                 path};
  }
  if (*version > kSchemaVersion) {
    return Error{fmt::format("has schema version {}, newer than this vigil understands ({}); "
                             "run a newer vigil or move the file away",
                             *version, kSchemaVersion),
                 path};
  }
  if (*version < 1) {
    return Error{fmt::format("has an invalid schema version {}", *version), path};
  }
  // Version 1 is the only one so far; migrations from older versions go here, each in its own
  // transaction that ends by setting user_version.
  for (const char* table : kTables) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db.get(),
                           "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1,
                           &st, nullptr) != SQLITE_OK) {
      return fail("cannot read the schema");
    }
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    const int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
      return Error{fmt::format("schema version {} but table {} is missing", *version, table),
                   path};
    }
  }
  return Ok{};
}

Status StateDb::Impl::createSchema() {
  if (readOnly) return Error{"is empty: no vigil state has been recorded in it", path};
  if (auto st = exec("BEGIN IMMEDIATE", "cannot create the schema"); !st.ok()) return st;
  const std::string sql = fmt::format("{}PRAGMA application_id = {}; PRAGMA user_version = {};",
                                      kSchemaV1, kApplicationId, kSchemaVersion);
  if (auto st = exec(sql.c_str(), "cannot create the schema"); !st.ok()) {
    (void)exec("ROLLBACK", "rollback");  // the error to report is the one above
    return st;
  }
  return exec("COMMIT", "cannot create the schema");
}

StateDb::StateDb(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StateDb::~StateDb() = default;

const std::string& StateDb::path() const { return impl_->path; }

Result<std::unique_ptr<StateDb::Impl>> StateDb::Impl::open(const std::string& dir,
                                                           bool readOnly) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir.empty() ? std::string(".") : dir;
  impl->path = (std::filesystem::path(impl->dir) / "vigil.db").string();
  impl->readOnly = readOnly;
  const std::string& path = impl->path;

  struct stat dst{};
  if (::stat(impl->dir.c_str(), &dst) != 0) {
    if (errno != ENOENT || readOnly) {
      return Error{fmt::format("state directory: {}", std::strerror(errno)), impl->dir};
    }
    // Parents as the umask says; the state directory itself only for vigil's user.
    std::error_code ec;
    const auto parent = std::filesystem::path(impl->dir).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (::mkdir(impl->dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Error{fmt::format("cannot create the state directory: {}", std::strerror(errno)),
                   impl->dir};
    }
    if (::stat(impl->dir.c_str(), &dst) != 0) {
      return Error{fmt::format("state directory: {}", std::strerror(errno)), impl->dir};
    }
  }
  if (!S_ISDIR(dst.st_mode)) return Error{"the state directory is not a directory", impl->dir};

  struct stat fst{};
  const bool exists = ::stat(path.c_str(), &fst) == 0;
  if (!exists && errno != ENOENT) return Error{std::strerror(errno), path};
  if (exists) {
    if (!S_ISREG(fst.st_mode)) return Error{"is not a regular file", path};
    if (::access(path.c_str(), R_OK) != 0) {
      return Error{fmt::format("cannot be read: {}", std::strerror(errno)), path};
    }
    if (!readOnly && !writable(path, fst)) {
      return Error{"is not writable (read-only file); vigil needs to write its state there", path};
    }
    // Not SQLite at all: refuse before SQLite sees it (a 0-byte file is an empty database).
    if (fst.st_size > 0) {
      char magic[sizeof kSqliteMagic] = {};
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Error{fmt::format("cannot be read: {}", std::strerror(errno)), path};
      const ssize_t n = ::read(fd, magic, sizeof magic);
      ::close(fd);
      if (n != static_cast<ssize_t>(sizeof magic) ||
          std::memcmp(magic, kSqliteMagic, sizeof magic) != 0) {
        return Error{"is not an SQLite database (bad header); refusing to use or overwrite it",
                     path};
      }
    }
  } else if (readOnly) {
    return Error{"does not exist: no state has been recorded in this state directory", path};
  }
  // WAL needs the -wal and -shm files beside the database.
  if (!readOnly && !writable(impl->dir, dst)) {
    return Error{"the state directory is not writable (read-only); vigil keeps its database, "
                 "-wal and -shm files there",
                 impl->dir};
  }
  if (!exists) {
    // Created here rather than by SQLite so that it is 0600 from the start (SQLite gives its
    // -wal and -shm files the database's mode), and the new directory entry is synced.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Error{fmt::format("cannot create the database: {}", std::strerror(errno)), path};
    }
    ::close(fd);
    syncDir(impl->dir);
  }

  sqlite3* raw = nullptr;
  const int flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  impl->db.reset(raw);
  if (rc != SQLITE_OK) return impl->fail("cannot open");
  if (!readOnly && sqlite3_db_readonly(impl->db.get(), "main") == 1) {
    return Error{"can only be opened read-only (read-only file system?)", path};
  }
  sqlite3_busy_timeout(impl->db.get(), kBusyTimeoutMs);
  sqlite3_extended_result_codes(impl->db.get(), 1);

  if (auto st = impl->validate(); !st.ok()) return st.error();
  if (!readOnly) {
    // Only now that the file is known to be ours and intact does anything write to it.
    auto mode = [&]() -> Result<std::string> {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(impl->db.get(), "PRAGMA journal_mode = WAL", -1, &st, nullptr) !=
          SQLITE_OK) {
        return impl->fail("cannot switch to WAL mode");
      }
      const int step = sqlite3_step(st);
      std::string m = step == SQLITE_ROW ? columnText(st, 0) : std::string();
      sqlite3_finalize(st);
      if (step != SQLITE_ROW) return impl->fail("cannot switch to WAL mode", step);
      return m;
    }();
    if (!mode.ok()) return mode.error();
    if (*mode != "wal") {
      return Error{fmt::format("cannot switch to WAL mode (journal mode is {})", *mode), path};
    }
  }
  if (auto st = impl->exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                           "cannot set pragmas");
      !st.ok()) {
    return st.error();
  }
  for (int i = 0; i < kStmtCount; ++i) {
    rc = sqlite3_prepare_v3(impl->db.get(), kSql[i], -1, SQLITE_PREPARE_PERSISTENT,
                            &impl->stmts[i], nullptr);
    if (rc != SQLITE_OK) return impl->fail(fmt::format("cannot prepare \"{}\"", kSql[i]));
  }
  return impl;
}

Result<std::unique_ptr<StateDb>> StateDb::open(const std::string& dir) {
  auto impl = Impl::open(dir, false);
  if (!impl.ok()) return impl.error();
  return std::unique_ptr<StateDb>(new StateDb(std::move(impl).value()));
}

Result<std::unique_ptr<StateDb>> StateDb::openReadOnly(const std::string& dir) {
  auto impl = Impl::open(dir, true);
  if (!impl.ok()) return impl.error();
  return std::unique_ptr<StateDb>(new StateDb(std::move(impl).value()));
}

// --- outbox ---

Result<int64_t> StateDb::enqueue(const OutboxEntry& e) {
  std::lock_guard lock(impl_->mu);
  if (auto st = impl_->checkWritable(); !st.ok()) return st.error();
  Impl::Use u(*impl_, kEnqueue);
  u.bindText(1, e.receiver);
  u.bindText(2, e.groupKey);
  u.bindText(3, e.idempotencyKey);
  u.bindText(4, e.contentType);
  u.bindBlob(5, e.body);
  u.bind(6, int64_t{e.resolved ? 1 : 0});
  u.bind(7, int64_t{e.createdAt});
  u.bind(8, int64_t{e.expiresAt});
  u.bind(9, int64_t{e.nextAttemptAt});
  u.bind(10, int64_t{e.attempts});
  u.bindText(11, e.lastError);
  // Autocommit: with WAL and synchronous=FULL, the WAL is fsynced before step() returns.
  const int rc = u.step();
  if (rc == SQLITE_CONSTRAINT_UNIQUE) {
    return Error{fmt::format("outbox: idempotency key {} is already queued", e.idempotencyKey),
                 impl_->path};
  }
  if (rc != SQLITE_DONE) return impl_->fail("outbox: cannot enqueue");
  return static_cast<int64_t>(sqlite3_last_insert_rowid(impl_->db.get()));
}

Result<std::vector<OutboxEntry>> StateDb::pending() {
  std::lock_guard lock(impl_->mu);
  Impl::Use u(*impl_, kPending);
  std::vector<OutboxEntry> out;
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) {
    sqlite3_stmt* st = u.get();
    OutboxEntry e;
    e.id = sqlite3_column_int64(st, 0);
    e.receiver = columnText(st, 1);
    e.groupKey = columnText(st, 2);
    e.idempotencyKey = columnText(st, 3);
    e.contentType = columnText(st, 4);
    e.body = columnText(st, 5);
    e.resolved = sqlite3_column_int64(st, 6) != 0;
    e.createdAt = sqlite3_column_int64(st, 7);
    e.expiresAt = sqlite3_column_int64(st, 8);
    e.nextAttemptAt = sqlite3_column_int64(st, 9);
    e.attempts = static_cast<int>(sqlite3_column_int64(st, 10));
    e.lastError = columnText(st, 11);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return impl_->fail("outbox: cannot read");
  return out;
}

Status StateDb::Impl::removeEntry(int s, int64_t id, std::string_view what) {
  if (auto st = checkWritable(); !st.ok()) return st;
  Use u(*this, static_cast<Stmt>(s));
  u.bind(1, id);
  if (auto st = run(u, fmt::format("outbox: cannot mark entry {} {}", id, what)); !st.ok()) {
    return st;
  }
  if (sqlite3_changes(db.get()) == 0) {
    return Error{fmt::format("outbox: no entry {} to mark {}", id, what), path};
  }
  return Ok{};
}

Status StateDb::delivered(int64_t id) {
  std::lock_guard lock(impl_->mu);
  return impl_->removeEntry(kDelivered, id, "delivered");
}

Status StateDb::retryLater(int64_t id, int attempts, TimestampMs nextAttemptAt,
                           const std::string& error) {
  std::lock_guard lock(impl_->mu);
  if (auto st = impl_->checkWritable(); !st.ok()) return st;
  Impl::Use u(*impl_, kRetryLater);
  u.bind(1, int64_t{attempts});
  u.bind(2, int64_t{nextAttemptAt});
  u.bindText(3, error);
  u.bind(4, id);
  if (auto st = impl_->run(u, fmt::format("outbox: cannot update entry {}", id)); !st.ok()) {
    return st;
  }
  if (sqlite3_changes(impl_->db.get()) == 0) {
    return Error{fmt::format("outbox: no entry {} to retry", id), impl_->path};
  }
  return Ok{};
}

Status StateDb::drop(int64_t id, const std::string& reason) {
  std::lock_guard lock(impl_->mu);
  if (auto st = impl_->removeEntry(kDrop, id, "dropped"); !st.ok()) return st;
  LOG_DEBUG("outbox entry dropped", {"id", std::to_string(id)}, {"reason", reason});
  return Ok{};
}

// --- notification log ---

Status StateDb::recordNotified(const NotifyLogEntry& e) {
  std::lock_guard lock(impl_->mu);
  if (auto st = impl_->checkWritable(); !st.ok()) return st;
  Impl::Use u(*impl_, kRecordNotified);
  u.bindText(1, e.receiver);
  u.bindText(2, e.groupKey);
  u.bind(3, int64_t{e.sentAt});
  u.bindBlob(4, packFingerprints(e.firingFingerprints));
  u.bindBlob(5, packFingerprints(e.resolvedFingerprints));
  return impl_->run(u, "notification log: cannot record");
}

Result<std::vector<NotifyLogEntry>> StateDb::notifyLog() {
  std::lock_guard lock(impl_->mu);
  Impl::Use u(*impl_, kNotifyLog);
  std::vector<NotifyLogEntry> out;
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) {
    sqlite3_stmt* st = u.get();
    NotifyLogEntry e;
    e.receiver = columnText(st, 0);
    e.groupKey = columnText(st, 1);
    e.sentAt = sqlite3_column_int64(st, 2);
    if (!unpackFingerprints(columnText(st, 3), &e.firingFingerprints) ||
        !unpackFingerprints(columnText(st, 4), &e.resolvedFingerprints)) {
      return Error{fmt::format("notification log: bad fingerprints for {} / {}", e.receiver,
                               e.groupKey),
                   impl_->path};
    }
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return impl_->fail("notification log: cannot read");
  return out;
}

// --- alert states ---

Status StateDb::saveAlerts(const std::vector<AlertRecord>& alerts) {
  std::lock_guard lock(impl_->mu);
  if (auto st = impl_->checkWritable(); !st.ok()) return st;
  if (auto st = impl_->begin(); !st.ok()) return st;
  auto body = [&]() -> Status {
    {
      Impl::Use del(*impl_, kDeleteAlerts);
      if (auto st = impl_->run(del, "alerts: cannot clear"); !st.ok()) return st;
    }
    int64_t seq = 0;
    for (const auto& a : alerts) {
      Impl::Use u(*impl_, kInsertAlert);
      u.bind(1, seq++);
      u.bindText(2, a.group);
      u.bindText(3, a.rule);
      u.bindText(4, labelsToJson(a.labels));
      u.bindText(5, a.state);
      u.bind(6, a.value);
      u.bind(7, int64_t{a.activeAt});
      u.bind(8, int64_t{a.firedAt});
      u.bind(9, int64_t{a.resolvedAt});
      u.bind(10, int64_t{a.lastSentAt});
      u.bind(11, int64_t{a.validUntil});
      u.bind(12, int64_t{a.keepFiringSince});
      if (auto st = impl_->run(u, "alerts: cannot save"); !st.ok()) return st;
    }
    return impl_->commit();
  }();
  if (!body.ok()) impl_->rollback();
  return body;
}

Result<std::vector<AlertRecord>> StateDb::loadAlerts() {
  std::lock_guard lock(impl_->mu);
  Impl::Use u(*impl_, kLoadAlerts);
  std::vector<AlertRecord> out;
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) {
    sqlite3_stmt* st = u.get();
    AlertRecord a;
    a.group = columnText(st, 0);
    a.rule = columnText(st, 1);
    auto labels = impl_->parseLabels(columnText(st, 2), "alerts");
    if (!labels.ok()) return labels.error();
    a.labels = std::move(labels).value();
    a.state = columnText(st, 3);
    // SQLite stores NaN as NULL; an alert's value can be NaN.
    a.value = sqlite3_column_type(st, 4) == SQLITE_NULL ? std::numeric_limits<double>::quiet_NaN()
                                                        : sqlite3_column_double(st, 4);
    a.activeAt = sqlite3_column_int64(st, 5);
    a.firedAt = sqlite3_column_int64(st, 6);
    a.resolvedAt = sqlite3_column_int64(st, 7);
    a.lastSentAt = sqlite3_column_int64(st, 8);
    a.validUntil = sqlite3_column_int64(st, 9);
    a.keepFiringSince = sqlite3_column_int64(st, 10);
    out.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) return impl_->fail("alerts: cannot read");
  return out;
}

// --- event history ---

Status StateDb::addEvent(const Event& e) {
  std::lock_guard lock(impl_->mu);
  if (auto st = impl_->checkWritable(); !st.ok()) return st;
  Impl::Use u(*impl_, kAddEvent);
  u.bind(1, int64_t{e.at});
  u.bindText(2, e.kind);
  u.bindText(3, e.subject);
  u.bindText(4, labelsToJson(e.labels));
  u.bindText(5, e.from);
  u.bindText(6, e.to);
  u.bindText(7, e.detail);
  return impl_->run(u, "events: cannot add");
}

Result<std::vector<Event>> StateDb::events(TimestampMs since, TimestampMs until) {
  std::lock_guard lock(impl_->mu);
  Impl::Use u(*impl_, kEvents);
  u.bind(1, int64_t{since});
  u.bind(2, int64_t{until});
  std::vector<Event> out;
  int rc;
  while ((rc = u.step()) == SQLITE_ROW) {
    sqlite3_stmt* st = u.get();
    Event e;
    e.id = sqlite3_column_int64(st, 0);
    e.at = sqlite3_column_int64(st, 1);
    e.kind = columnText(st, 2);
    e.subject = columnText(st, 3);
    auto labels = impl_->parseLabels(columnText(st, 4), "events");
    if (!labels.ok()) return labels.error();
    e.labels = std::move(labels).value();
    e.from = columnText(st, 5);
    e.to = columnText(st, 6);
    e.detail = columnText(st, 7);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return impl_->fail("events: cannot read");
  return out;
}

Result<int64_t> StateDb::pruneEvents(TimestampMs before) {
  std::lock_guard lock(impl_->mu);
  if (auto st = impl_->checkWritable(); !st.ok()) return st.error();
  Impl::Use u(*impl_, kPruneEvents);
  u.bind(1, int64_t{before});
  if (auto st = impl_->run(u, "events: cannot prune"); !st.ok()) return st.error();
  return static_cast<int64_t>(sqlite3_changes(impl_->db.get()));
}

}  // namespace vigil::state
