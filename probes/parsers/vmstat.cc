#include "probes/parsers/vmstat.h"

#include <fmt/format.h>

#include "probes/parsers/text_lines.h"

namespace vigil::parsers {

std::optional<uint64_t> VmStat::get(std::string_view name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

Result<VmStat> parseVmstat(std::string_view text, std::string_view source, int firstLine) {
  auto fail = [&](std::string message, int line, int column) {
    return Error{std::move(message), std::string(source), line, column};
  };
  VmStat out;
  LineReader reader(text, firstLine);
  std::string_view line;
  int number = 0;
  while (reader.next(line, number)) {
    std::string_view rest = trimBlanks(line);
    if (rest.empty()) continue;
    size_t blank = rest.find_first_of(" \t");
    if (blank == std::string_view::npos) {
      return fail(fmt::format("expected \"name value\", got \"{}\"", rest), number,
                  columnOf(line, rest.data()));
    }
    std::string_view name = rest.substr(0, blank);
    std::string_view value = trimBlanks(rest.substr(blank));
    if (value.find_first_of(" \t") != std::string_view::npos) {
      return fail(fmt::format("unexpected text after the value of \"{}\"", name), number,
                  columnOf(line, value.data() + value.find_first_of(" \t")));
    }
    auto parsed = parseUint64(value);
    if (!parsed) {
      return fail(fmt::format("value of \"{}\" is not a non-negative 64-bit integer: \"{}\"",
                              name, value),
                  number, columnOf(line, value.data()));
    }
    if (!out.values.emplace(std::string(name), *parsed).second) {
      return fail(fmt::format("duplicate counter \"{}\"", name), number,
                  columnOf(line, name.data()));
    }
  }
  return out;
}

}  // namespace vigil::parsers
