#pragma once
// HAProxy's statistics in CSV form (`GET /stats;csv`, or `show stat` on the runtime socket):
// a header line "# pxname,svname,...", then one row per frontend, backend and server. Columns
// are found by their header names, since HAProxy versions add columns (2.6 has ~100).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/error.h"

namespace vigil::parsers {

/// What a row describes (HAProxy's `type` column: 0, 1, 2, 3).
enum class HaproxyRowType { kFrontend, kBackend, kServer, kListener };

/// "frontend", "backend", "server", "listener".
std::string_view toString(HaproxyRowType t);

/// The first word of the `status` column. Servers: UP, DOWN, NOLB, MAINT, DRAIN, "no check";
/// frontends: OPEN, FULL, STOP. kUnknown keeps a future HAProxy's new word from failing a parse.
enum class HaproxyState {
  kUp, kDown, kNoLb, kMaint, kDrain, kNoCheck, kOpen, kFull, kStop, kUnknown
};

/// "UP", "DOWN", "NOLB", "MAINT", "DRAIN", "no check", "OPEN", "FULL", "STOP", "unknown": the
/// words HAProxy prints, usable as a label value (lb_state).
std::string_view toString(HaproxyState s);

/// Parses a `status` value: "UP", "UP 1/3", "DOWN 1/2", "MAINT (via be/srv)", "no check", ...
/// `transitioning` is set for the "n/m" forms: a check streak under way that has not yet
/// changed the state (UP 1/3 is still up but failing checks; DOWN 1/2 is still down).
HaproxyState parseHaproxyState(std::string_view status, bool* transitioning = nullptr);

/// One line of the CSV, with the columns vigil uses. Counters that HAProxy leaves empty for a
/// row type (e.g. hrsp_* of a TCP proxy) are 0; `weight` and `lastchg` are nullopt when empty.
struct HaproxyRow {
  std::string pxname;  ///< proxy (frontend or backend) name
  std::string svname;  ///< server name, or "FRONTEND"/"BACKEND"
  HaproxyRowType type = HaproxyRowType::kServer;
  std::string status;  ///< as printed, e.g. "UP 1/3", "MAINT (via be/web-01)"
  HaproxyState state = HaproxyState::kUnknown;
  bool transitioning = false;  ///< status had an "n/m" suffix
  std::optional<uint64_t> weight;
  uint64_t scur = 0;  ///< current sessions
  uint64_t stot = 0;  ///< total sessions
  uint64_t hrsp1xx = 0, hrsp2xx = 0, hrsp3xx = 0, hrsp4xx = 0, hrsp5xx = 0, hrspOther = 0;
  /// e.g. "L7OK", "L4CON", "* L7OK" while a check runs; empty for unchecked servers
  std::string checkStatus;
  std::optional<uint64_t> lastchg;  ///< seconds since the last UP/DOWN transition
  uint64_t act = 0;  ///< server: 1 if active; backend: number of active servers up
  uint64_t bck = 0;  ///< server: 1 if backup; backend: number of backup servers up
  int line = 0;      ///< line of the CSV text, for messages
};

/// Parses the CSV. The first non-blank line must be the header, starting with "# " and naming
/// at least pxname, svname and status; other known columns are optional (left 0/empty when
/// absent). Fields may be quoted ("a,b" with "" for a quote), as HAProxy does for text that
/// contains a comma. The trailing comma HAProxy puts on every line is accepted. Errors (with
/// line and column, `source` as Error::file): no or a malformed header, duplicate column names,
/// a row whose field count differs from the header's, an unterminated quote, a non-numeric
/// value in a numeric column, an unknown `type`. Never throws; bounded by the input size.
Result<std::vector<HaproxyRow>> parseHaproxyCsv(std::string_view text,
                                                std::string_view source = "haproxy stats");

/// The server rows (not FRONTEND/BACKEND) of backend `backend`, in CSV order.
std::vector<HaproxyRow> serversOfBackend(const std::vector<HaproxyRow>& rows,
                                         std::string_view backend);

/// True when HAProxy would send new traffic to this server: a server row whose state is UP
/// (also "UP n/m", still up while its checks fail, as HAProxy itself counts it) or "no check"
/// (HAProxy considers unchecked servers up), and whose weight is not 0 (a missing weight column
/// counts as non-zero). DOWN (also "DOWN n/m"), NOLB, MAINT (any form) and DRAIN are out of
/// rotation. A backup server (bck=1) that is UP counts as in rotation: it takes traffic as soon
/// as the active servers fail, so it is part of the pool's redundancy.
bool inRotation(const HaproxyRow& row);

}  // namespace vigil::parsers
