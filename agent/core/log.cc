#include "agent/core/log.h"

#include "agent/core/clock.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

namespace vigil::log {

namespace {

std::atomic<Level> gLevel{Level::kInfo};
std::atomic<Format> gFormat{Format::kLogfmt};
std::atomic<int> gFd{2};

std::string_view levelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

std::string timestamp() {
  return formatRfc3339(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}

void appendJsonString(std::string& out, std::string_view v) {
  out += '"';
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void appendLogfmtValue(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    if (c == ' ' || c == '=' || c == '"' || static_cast<unsigned char>(c) < 0x20) quote = true;
  }
  if (!quote) {
    out += v;
    return;
  }
  // Quoted logfmt values use the same escapes as JSON strings.
  appendJsonString(out, v);
}

std::string_view baseName(const char* path) {
  std::string_view p(path);
  auto slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

}  // namespace

bool parseLevel(std::string_view s, Level* out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (levelName(l) == s) {
      *out = l;
      return true;
    }
  }
  return false;
}

bool parseFormat(std::string_view s, Format* out) {
  if (s == "logfmt") {
    *out = Format::kLogfmt;
  } else if (s == "json") {
    *out = Format::kJson;
  } else {
    return false;
  }
  return true;
}

void configure(Level level, Format format) {
  gLevel = level;
  gFormat = format;
}

void setFd(int fd) { gFd = fd; }

bool enabled(Level level) { return level >= gLevel.load(std::memory_order_relaxed); }

void write(Level level, std::string_view msg, std::initializer_list<Field> fields,
           SourceLoc loc) {
  std::string line;
  line.reserve(160);
  std::string caller = fmt::format("{}:{}", baseName(loc.file), loc.line);
  if (gFormat.load() == Format::kJson) {
    line += "{\"level\":";
    appendJsonString(line, levelName(level));
    line += ",\"ts\":";
    appendJsonString(line, timestamp());
    line += ",\"caller\":";
    appendJsonString(line, caller);
    line += ",\"msg\":";
    appendJsonString(line, msg);
    for (const auto& [k, v] : fields) {
      line += ',';
      appendJsonString(line, k);
      line += ':';
      appendJsonString(line, v);
    }
    line += "}\n";
  } else {
    line += "level=";
    line += levelName(level);
    line += " ts=";
    line += timestamp();
    line += " caller=";
    line += caller;
    line += " msg=";
    appendLogfmtValue(line, msg);
    for (const auto& [k, v] : fields) {
      line += ' ';
      line += k;
      line += '=';
      appendLogfmtValue(line, v);
    }
    line += '\n';
  }
  // One write per line keeps lines whole when several threads log at once.
  ssize_t n = ::write(gFd.load(), line.data(), line.size());
  (void)n;
}

}  // namespace vigil::log
