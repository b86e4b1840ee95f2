// state_fixture DIR < events.jsonl: writes events into DIR/vigil.db through StateDb, the way the
// daemon records them, so that integration tests can run `vigil report` on a known history.
// One JSON object per line: {"at": ms since the epoch | "RFC 3339", "kind", "subject",
// "labels": {...}, "from", "to", "detail"}. Prints how many events it added; exits 1 on any error.

#include <cstdio>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "agent/state/report.h"
#include "agent/state/state_db.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: state_fixture STATE_DIR < events.jsonl\n");
    return 2;
  }
  auto db = vigil::state::StateDb::open(argv[1]);
  if (!db.ok()) {
    std::fprintf(stderr, "state_fixture: %s\n", db.error().format().c_str());
    return 1;
  }
  std::string line;
  int lineno = 0, added = 0;
  while (std::getline(std::cin, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      std::fprintf(stderr, "state_fixture: line %d: not a JSON object\n", lineno);
      return 1;
    }
    vigil::state::Event e;
    try {
      const auto& at = j.at("at");
      if (at.is_string()) {
        auto t = vigil::state::parseRfc3339(at.get<std::string>());
        if (!t) {
          std::fprintf(stderr, "state_fixture: line %d: bad time\n", lineno);
          return 1;
        }
        e.at = *t;
      } else {
        e.at = at.get<int64_t>();
      }
      e.kind = j.value("kind", "");
      e.subject = j.value("subject", "");
      if (j.contains("labels")) {
        for (const auto& [name, value] : j["labels"].items()) {
          e.labels.push_back({name, value.get<std::string>()});
        }
        vigil::normalize(e.labels);
      }
      e.from = j.value("from", "");
      e.to = j.value("to", "");
      e.detail = j.value("detail", "");
    } catch (const nlohmann::json::exception& ex) {
      std::fprintf(stderr, "state_fixture: line %d: %s\n", lineno, ex.what());
      return 1;
    }
    if (auto st = (*db)->addEvent(e); !st.ok()) {
      std::fprintf(stderr, "state_fixture: %s\n", st.error().format().c_str());
      return 1;
    }
    ++added;
  }
  std::printf("%d\n", added);
  return 0;
}
