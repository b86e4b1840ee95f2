#include "agent/rules/rule_file.h"

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "agent/core/duration.h"
#include "agent/rules/promql/parser.h"
#include "agent/rules/template.h"

namespace vigil::rules {

const char* toString(RuleDef::Kind k) {
  switch (k) {
    case RuleDef::Kind::kAlerting: return "alerting";
    case RuleDef::Kind::kRecording: return "recording";
  }
  return "?";
}

namespace {

struct LoadFailure {
  Error error;
};

class Loader {
 public:
  explicit Loader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const YAML::Node& n, std::string msg) {
    Error e{std::move(msg), path_, 0, 0};
    if (n.IsDefined()) {
      e.line = n.Mark().line + 1;
      e.column = n.Mark().column + 1;
    }
    throw LoadFailure{e};
  }

  void onlyKeys(const YAML::Node& map, std::initializer_list<const char*> allowed,
                const char* what) {
    if (!map.IsMap()) fail(map, fmt::format("{} must be a mapping", what));
    for (auto it = map.begin(); it != map.end(); ++it) {
      std::string key = it->first.as<std::string>();
      bool ok = false;
      for (const char* a : allowed) ok = ok || key == a;
      if (!ok) fail(it->first, fmt::format("field {} not found in type {}", key, what));
    }
  }

  std::string scalar(const YAML::Node& n, const char* what) {
    if (!n.IsScalar()) fail(n, fmt::format("{} must be a string", what));
    return n.as<std::string>();
  }

  Duration duration(const YAML::Node& n, const char* what) {
    std::string s = scalar(n, what);
    auto d = parseDuration(s);
    if (!d) fail(n, fmt::format("not a valid duration string: \"{}\"", s));
    return *d;
  }

  Labels labelMap(const YAML::Node& n, const char* what, bool annotations) {
    Labels out;
    if (n.IsNull()) return out;
    if (!n.IsMap()) fail(n, fmt::format("{} must be a mapping", what));
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string k = it->first.as<std::string>();
      if (!isValidLabelName(k) || (!annotations && k == kMetricNameLabel)) {
        fail(it->first, fmt::format("invalid {} name: {}", annotations ? "annotation" : "label", k));
      }
      std::string v = it->second.IsNull() ? "" : scalar(it->second, what);
      out.push_back(Label{k, v});
    }
    // Keep empty values: they are templates that may expand to something (and Prometheus
    // removes a label only after expansion).
    std::stable_sort(out.begin(), out.end(),
                     [](const Label& a, const Label& b) { return a.name < b.name; });
    return out;
  }

  RuleFile load(std::string_view content) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(content));
    } catch (const YAML::ParserException& e) {
      throw LoadFailure{Error{e.msg, path_, e.mark.line + 1, e.mark.column + 1}};
    }
    RuleFile file;
    file.path = path_;
    if (root.IsNull()) return file;
    onlyKeys(root, {"groups"}, "rulefmt.RuleGroups");
    YAML::Node groups = root["groups"];
    if (!groups || groups.IsNull()) return file;
    if (!groups.IsSequence()) fail(groups, "groups must be a list");
    std::set<std::string> names;
    for (const auto& g : groups) {
      onlyKeys(g, {"name", "interval", "limit", "rules"}, "rulefmt.RuleGroup");
      RuleGroupDef group;
      group.file = path_;
      if (!g["name"] || scalar(g["name"], "name").empty()) fail(g, "Groupname must not be empty");
      group.name = scalar(g["name"], "name");
      if (!names.insert(group.name).second) {
        fail(g["name"], fmt::format("{}: groupname: \"{}\" is repeated in the same file", path_,
                                    group.name));
      }
      if (g["interval"]) group.interval = duration(g["interval"], "interval");
      if (g["limit"]) group.limit = g["limit"].as<int>();
      if (g["rules"] && !g["rules"].IsNull()) {
        if (!g["rules"].IsSequence()) fail(g["rules"], "rules must be a list");
        int idx = 0;
        for (const auto& r : g["rules"]) {
          ++idx;
          group.rules.push_back(loadRule(r, group.name, idx));
        }
      }
      file.groups.push_back(std::move(group));
    }
    return file;
  }

  RuleDef loadRule(const YAML::Node& r, const std::string& group, int idx) {
    onlyKeys(r, {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"},
             "rulefmt.RuleNode");
    RuleDef def;
    bool isAlert = r["alert"].IsDefined();
    bool isRecord = r["record"].IsDefined();
    std::string where = fmt::format("group \"{}\", rule {}", group, idx);
    if (isAlert == isRecord) {
      fail(r, fmt::format("{}: one of 'record' or 'alert' must be set", where));
    }
    def.kind = isAlert ? RuleDef::Kind::kAlerting : RuleDef::Kind::kRecording;
    def.name = scalar(isAlert ? r["alert"] : r["record"], isAlert ? "alert" : "record");
    where += fmt::format(", \"{}\"", def.name);
    if (def.name.empty()) fail(r, fmt::format("{}: rule name must not be empty", where));
    if (!r["expr"] || scalar(r["expr"], "expr").empty()) {
      fail(r, fmt::format("{}: field 'expr' must be set in rule", where));
    }
    const YAML::Node& ex = r["expr"];
    def.exprText = scalar(ex, "expr");
    def.line = ex.Mark().line + 1;
    def.column = ex.Mark().column + 1;
    auto parsed = promql::parseExpr(def.exprText);
    if (!parsed) {
      const Error& pe = parsed.error();
      fail(ex, fmt::format("{}: could not parse expression: {}:{}: {}", where, pe.line,
                           pe.column, pe.message));
    }
    def.expr = *parsed;
    if (def.kind == RuleDef::Kind::kRecording) {
      if (r["annotations"] && !r["annotations"].IsNull() && r["annotations"].size() > 0) {
        fail(r["annotations"], fmt::format("{}: invalid field 'annotations' in recording rule", where));
      }
      if (r["for"]) fail(r["for"], fmt::format("{}: invalid field 'for' in recording rule", where));
      if (r["keep_firing_for"]) {
        fail(r["keep_firing_for"],
             fmt::format("{}: invalid field 'keep_firing_for' in recording rule", where));
      }
      if (!isValidMetricName(def.name)) {
        fail(r["record"], fmt::format("{}: invalid recording rule name: {}", where, def.name));
      }
    } else {
      if (r["for"]) def.forDuration = duration(r["for"], "for");
      if (r["keep_firing_for"]) def.keepFiringFor = duration(r["keep_firing_for"], "keep_firing_for");
    }
    if (r["labels"]) def.labels = labelMap(r["labels"], "labels", false);
    if (r["annotations"]) def.annotations = labelMap(r["annotations"], "annotations", true);
    if (def.kind == RuleDef::Kind::kAlerting) {
      for (const auto* set : {&def.labels, &def.annotations}) {
        for (const auto& l : *set) {
          auto st = checkTemplate(l.value);
          if (!st) {
            fail(set == &def.labels ? r["labels"][l.name] : r["annotations"][l.name],
                 fmt::format("{}: template: __{}: {}", where, l.name, st.error().message));
          }
        }
      }
    }
    return def;
  }

 private:
  std::string path_;
};

}  // namespace

Result<RuleFile> parseRuleFile(std::string_view content, const std::string& path) {
  try {
    Loader l(path);
    return l.load(content);
  } catch (const LoadFailure& f) {
    return f.error;
  } catch (const YAML::Exception& e) {
    return Error{e.msg, path, e.mark.line + 1, e.mark.column + 1};
  }
}

Result<RuleFile> loadRuleFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read rule file", path, 0, 0};
  std::stringstream ss;
  ss << in.rdbuf();
  return parseRuleFile(ss.str(), path);
}

}  // namespace vigil::rules
