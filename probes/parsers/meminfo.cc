#include "probes/parsers/meminfo.h"

#include <limits>

#include <fmt/format.h>

#include "probes/parsers/text_lines.h"

namespace vigil::parsers {

std::optional<uint64_t> MemInfo::get(std::string_view name) const {
  auto it = fields.find(name);
  if (it == fields.end()) return std::nullopt;
  return it->second;
}

Result<MemInfo> parseMeminfo(std::string_view text, std::string_view source) {
  auto fail = [&](std::string message, int line, int column) {
    return Error{std::move(message), std::string(source), line, column};
  };
  MemInfo out;
  LineReader reader(text);
  std::string_view line;
  int number = 0;
  int lastLine = 0;
  while (reader.next(line, number)) {
    lastLine = number;
    std::string_view rest = trimBlanks(line);
    if (rest.empty()) continue;
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) {
      return fail(fmt::format("expected \"Name: value\", got \"{}\"", rest), number,
                  columnOf(line, rest.data()));
    }
    std::string_view name = rest.substr(0, colon);
    if (name.empty() || name.find_first_of(" \t") != std::string_view::npos) {
      return fail(fmt::format("invalid field name \"{}\"", name), number,
                  columnOf(line, rest.data()));
    }
    std::string_view after = trimBlanks(rest.substr(colon + 1));
    size_t blank = after.find_first_of(" \t");
    std::string_view value = after.substr(0, blank);
    std::string_view unit =
        blank == std::string_view::npos ? std::string_view() : trimBlanks(after.substr(blank));
    auto parsed = parseUint64(value);
    if (!parsed) {
      // Point at where the value should have been, also when it is missing altogether.
      const char* at = value.empty() ? rest.data() + colon + 1 : value.data();
      return fail(fmt::format("value of \"{}\" is not a non-negative 64-bit integer: \"{}\"",
                              name, value),
                  number, columnOf(line, at));
    }
    uint64_t bytes = *parsed;
    if (!unit.empty()) {
      if (unit != "kB") {
        return fail(fmt::format("unknown unit \"{}\" for \"{}\" (expected kB or none)", unit,
                                name),
                    number, columnOf(line, unit.data()));
      }
      if (bytes > std::numeric_limits<uint64_t>::max() / 1024) {
        return fail(fmt::format("value of \"{}\" overflows 64 bits in bytes", name), number,
                    columnOf(line, value.data()));
      }
      bytes *= 1024;
    }
    if (!out.fields.emplace(std::string(name), bytes).second) {
      return fail(fmt::format("duplicate field \"{}\"", name), number,
                  columnOf(line, rest.data()));
    }
  }
  if (!out.get("MemTotal")) {
    return fail("no MemTotal field: not /proc/meminfo output", lastLine, 0);
  }
  return out;
}

MeminfoVmstatText splitMeminfoVmstat(std::string_view text) {
  LineReader reader(text);
  std::string_view line;
  int number = 0;
  while (reader.next(line, number)) {
    std::string_view rest = trimBlanks(line);
    if (rest.empty()) continue;
    std::string_view word = rest.substr(0, rest.find_first_of(" \t"));
    if (word.find(':') == std::string_view::npos) {
      // Cut at the start of the raw line so vmstat's columns stay those of the original text.
      size_t start = static_cast<size_t>(line.data() - text.data());
      return MeminfoVmstatText{text.substr(0, start), text.substr(start), number};
    }
  }
  return MeminfoVmstatText{text, std::string_view(), number + 1};
}

Result<MemorySnapshot> parseMeminfoVmstat(std::string_view text, std::string_view source) {
  MeminfoVmstatText parts = splitMeminfoVmstat(text);
  auto meminfo = parseMeminfo(parts.meminfo, source);
  if (!meminfo) return meminfo.error();
  auto vmstat = parseVmstat(parts.vmstat, source, parts.vmstatFirstLine);
  if (!vmstat) return vmstat.error();
  return MemorySnapshot{std::move(meminfo).value(), std::move(vmstat).value()};
}

}  // namespace vigil::parsers
