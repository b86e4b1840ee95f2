#include "probes/parsers/haproxy_csv.h"

#include <array>
#include <set>

#include <fmt/format.h>

#include "probes/parsers/text_lines.h"

namespace vigil::parsers {

std::string_view toString(HaproxyRowType t) {
  switch (t) {
    case HaproxyRowType::kFrontend: return "frontend";
    case HaproxyRowType::kBackend: return "backend";
    case HaproxyRowType::kServer: return "server";
    case HaproxyRowType::kListener: return "listener";
  }
  return "server";
}

std::string_view toString(HaproxyState s) {
  switch (s) {
    case HaproxyState::kUp: return "UP";
    case HaproxyState::kDown: return "DOWN";
    case HaproxyState::kNoLb: return "NOLB";
    case HaproxyState::kMaint: return "MAINT";
    case HaproxyState::kDrain: return "DRAIN";
    case HaproxyState::kNoCheck: return "no check";
    case HaproxyState::kOpen: return "OPEN";
    case HaproxyState::kFull: return "FULL";
    case HaproxyState::kStop: return "STOP";
    case HaproxyState::kUnknown: return "unknown";
  }
  return "unknown";
}

HaproxyState parseHaproxyState(std::string_view status, bool* transitioning) {
  status = trimBlanks(status);
  if (transitioning) *transitioning = false;
  if (status == "no check") return HaproxyState::kNoCheck;
  size_t blank = status.find(' ');
  std::string_view word = status.substr(0, blank);
  std::string_view rest =
      blank == std::string_view::npos ? std::string_view() : trimBlanks(status.substr(blank));
  // "UP 1/3": digits, '/', digits. Other suffixes ("(via be/srv)", "(agent)") are not streaks.
  if (transitioning && !rest.empty()) {
    size_t slash = rest.find('/');
    *transitioning = slash != std::string_view::npos &&
                     parseUint64(rest.substr(0, slash)).has_value() &&
                     parseUint64(rest.substr(slash + 1)).has_value();
  }
  static constexpr std::array kWords = {
      HaproxyState::kUp,   HaproxyState::kDown, HaproxyState::kNoLb,
      HaproxyState::kMaint, HaproxyState::kDrain, HaproxyState::kOpen,
      HaproxyState::kFull, HaproxyState::kStop,
  };
  for (HaproxyState s : kWords) {
    if (word == toString(s)) return s;
  }
  return HaproxyState::kUnknown;
}

namespace {

// A field as it appears in the line: no copy is made while splitting, since a row has ~100
// fields and vigil reads ~17 of them.
struct Field {
  std::string_view raw;  // between the quotes for a quoted field, with quotes still doubled
  bool quoted = false;
  int column = 1;  // 1-based, where the field starts in its line

  bool empty() const { return raw.empty(); }
  std::string text() const {
    if (!quoted) return std::string(raw);
    std::string out;
    out.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      out += raw[i];
      if (raw[i] == '"') ++i;  // the second of a doubled quote
    }
    return out;
  }
};

// Splits one CSV line into `fields` (cleared first, capacity kept across rows). HAProxy quotes
// a field (doubling inner quotes) only when its text has a comma, quote or line break, and never
// spans lines in practice, so quotes stay within a line. `start` skips the header's "# " while
// keeping columns those of the whole line.
Status splitCsvLine(std::string_view line, size_t start, int number, std::string_view source,
                    std::vector<Field>& fields) {
  fields.clear();
  size_t pos = start;
  while (true) {
    Field f;
    f.column = toColumn(pos);
    if (pos < line.size() && line[pos] == '"') {
      f.quoted = true;
      size_t begin = ++pos;
      bool closed = false;
      while (pos < line.size()) {
        if (line[pos] == '"') {
          if (pos + 1 < line.size() && line[pos + 1] == '"') {
            pos += 2;
            continue;
          }
          closed = true;
          break;
        }
        ++pos;
      }
      if (!closed) {
        return Error{"unterminated quoted field", std::string(source), number, f.column};
      }
      f.raw = line.substr(begin, pos - begin);
      ++pos;  // the closing quote
      if (pos < line.size() && line[pos] != ',') {
        return Error{"unexpected text after a quoted field", std::string(source), number,
                     toColumn(pos)};
      }
    } else {
      size_t end = line.find(',', pos);
      if (end == std::string_view::npos) end = line.size();
      f.raw = line.substr(pos, end - pos);
      pos = end;
    }
    fields.push_back(f);
    if (pos >= line.size()) break;
    ++pos;  // the comma
  }
  return Ok{};
}

// The columns vigil reads; -1 when the header does not have it.
struct Columns {
  int pxname = -1, svname = -1, status = -1, type = -1, weight = -1, scur = -1, stot = -1;
  int hrsp1xx = -1, hrsp2xx = -1, hrsp3xx = -1, hrsp4xx = -1, hrsp5xx = -1, hrspOther = -1;
  int checkStatus = -1, lastchg = -1, act = -1, bck = -1;

  int* byName(std::string_view name) {
    if (name == "pxname") return &pxname;
    if (name == "svname") return &svname;
    if (name == "status") return &status;
    if (name == "type") return &type;
    if (name == "weight") return &weight;
    if (name == "scur") return &scur;
    if (name == "stot") return &stot;
    if (name == "hrsp_1xx") return &hrsp1xx;
    if (name == "hrsp_2xx") return &hrsp2xx;
    if (name == "hrsp_3xx") return &hrsp3xx;
    if (name == "hrsp_4xx") return &hrsp4xx;
    if (name == "hrsp_5xx") return &hrsp5xx;
    if (name == "hrsp_other") return &hrspOther;
    if (name == "check_status") return &checkStatus;
    if (name == "lastchg") return &lastchg;
    if (name == "act") return &act;
    if (name == "bck") return &bck;
    return nullptr;
  }
};

// HAProxy ends every line with a comma; that last, empty field is not a column.
void dropTrailingEmpty(std::vector<Field>& fields) {
  if (fields.size() > 1 && fields.back().empty()) fields.pop_back();
}

}  // namespace

Result<std::vector<HaproxyRow>> parseHaproxyCsv(std::string_view text, std::string_view source) {
  auto fail = [&](std::string message, int line, int column) {
    return Error{std::move(message), std::string(source), line, column};
  };
  LineReader reader(text);
  std::string_view line;
  int number = 0;
  bool haveHeader = false;
  size_t columnCount = 0;
  Columns cols;
  std::vector<HaproxyRow> rows;
  std::vector<Field> header;
  std::vector<Field> fields;
  while (reader.next(line, number)) {
    if (trimBlanks(line).empty()) continue;
    if (!haveHeader) {
      if (!line.starts_with("# ")) {
        return fail("expected the CSV header (\"# pxname,svname,...\")", number, 1);
      }
      if (auto st = splitCsvLine(line, 2, number, source, header); !st) return st.error();
      dropTrailingEmpty(header);
      std::set<std::string> seen;
      for (size_t i = 0; i < header.size(); ++i) {
        std::string name = header[i].text();
        if (name.empty()) continue;
        if (int* slot = cols.byName(name)) *slot = static_cast<int>(i);
        if (!seen.insert(std::move(name)).second) {
          return fail(fmt::format("duplicate column \"{}\"", header[i].text()), number,
                      header[i].column);
        }
      }
      for (auto [slot, name] : {std::pair{cols.pxname, "pxname"}, std::pair{cols.svname, "svname"},
                                std::pair{cols.status, "status"}}) {
        if (slot < 0) return fail(fmt::format("header has no \"{}\" column", name), number, 1);
      }
      columnCount = header.size();
      haveHeader = true;
      continue;
    }
    if (auto st = splitCsvLine(line, 0, number, source, fields); !st) return st.error();
    if (fields.size() == columnCount + 1) dropTrailingEmpty(fields);
    if (fields.size() != columnCount) {
      return fail(fmt::format("row has {} fields, the header has {} columns", fields.size(),
                              columnCount),
                  number, 1);
    }
    const std::vector<Field>& f = fields;
    HaproxyRow row;
    row.line = number;
    auto text = [&](int index) { return index < 0 ? std::string() : f[index].text(); };
    std::optional<Error> error;
    auto optionalNumber = [&](int index, std::string_view name) -> std::optional<uint64_t> {
      if (index < 0 || f[index].empty()) return std::nullopt;
      // A quoted number still has to be digits only, so its raw text is good enough here.
      auto v = parseUint64(f[index].raw);
      if (!v && !error) {
        error = fail(fmt::format("column \"{}\" is not a non-negative integer: \"{}\"", name,
                                 f[index].text()),
                     number, f[index].column);
      }
      return v;
    };
    auto counter = [&](int index, std::string_view name) {
      return optionalNumber(index, name).value_or(0);
    };
    row.pxname = text(cols.pxname);
    row.svname = text(cols.svname);
    row.status = text(cols.status);
    row.state = parseHaproxyState(row.status, &row.transitioning);
    row.weight = optionalNumber(cols.weight, "weight");
    row.scur = counter(cols.scur, "scur");
    row.stot = counter(cols.stot, "stot");
    row.hrsp1xx = counter(cols.hrsp1xx, "hrsp_1xx");
    row.hrsp2xx = counter(cols.hrsp2xx, "hrsp_2xx");
    row.hrsp3xx = counter(cols.hrsp3xx, "hrsp_3xx");
    row.hrsp4xx = counter(cols.hrsp4xx, "hrsp_4xx");
    row.hrsp5xx = counter(cols.hrsp5xx, "hrsp_5xx");
    row.hrspOther = counter(cols.hrspOther, "hrsp_other");
    row.checkStatus = text(cols.checkStatus);
    row.lastchg = optionalNumber(cols.lastchg, "lastchg");
    row.act = counter(cols.act, "act");
    row.bck = counter(cols.bck, "bck");
    if (cols.type >= 0 && !f[cols.type].empty()) {
      auto t = parseUint64(f[cols.type].raw);
      if (!t || *t > 3) {
        return fail(fmt::format("unknown row type \"{}\" (expected 0-3)", f[cols.type].text()),
                    number, f[cols.type].column);
      }
      row.type = static_cast<HaproxyRowType>(*t);
    } else if (row.svname == "FRONTEND") {
      row.type = HaproxyRowType::kFrontend;
    } else if (row.svname == "BACKEND") {
      row.type = HaproxyRowType::kBackend;
    }
    if (error) return *error;
    rows.push_back(std::move(row));
  }
  if (!haveHeader) return fail("empty input: no CSV header", 0, 0);
  return rows;
}

std::vector<HaproxyRow> serversOfBackend(const std::vector<HaproxyRow>& rows,
                                         std::string_view backend) {
  std::vector<HaproxyRow> out;
  for (const HaproxyRow& r : rows) {
    if (r.type == HaproxyRowType::kServer && r.pxname == backend) out.push_back(r);
  }
  return out;
}

bool inRotation(const HaproxyRow& row) {
  if (row.type != HaproxyRowType::kServer) return false;
  if (row.weight && *row.weight == 0) return false;
  switch (row.state) {
    case HaproxyState::kUp:
    case HaproxyState::kNoCheck:
      return true;
    case HaproxyState::kDown:
    case HaproxyState::kNoLb:
    case HaproxyState::kMaint:
    case HaproxyState::kDrain:
    case HaproxyState::kOpen:
    case HaproxyState::kFull:
    case HaproxyState::kStop:
    case HaproxyState::kUnknown:
      return false;
  }
  return false;
}

}  // namespace vigil::parsers
