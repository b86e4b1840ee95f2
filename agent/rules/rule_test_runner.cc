#include "agent/rules/rule_test_runner.h"

#include <glob.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "agent/core/duration.h"
#include "agent/rules/alerting.h"
#include "agent/rules/promql/engine.h"
#include "agent/rules/promql/parser.h"
#include "agent/rules/promql/storage.h"
#include "agent/rules/rule_file.h"

namespace vigil::rules {
namespace {

struct BadFile {
  std::string message;
};

[[noreturn]] void bad(const YAML::Node& n, const std::string& msg) {
  if (n.IsDefined()) {
    throw BadFile{fmt::format("{}:{}: {}", n.Mark().line + 1, n.Mark().column + 1, msg)};
  }
  throw BadFile{msg};
}

void onlyKeys(const YAML::Node& map, std::initializer_list<const char*> allowed, const char* type) {
  if (!map.IsMap()) bad(map, fmt::format("{} must be a mapping", type));
  for (auto it = map.begin(); it != map.end(); ++it) {
    std::string key = it->first.as<std::string>();
    bool ok = std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; });
    if (!ok) bad(it->first, fmt::format("field {} not found in type {}", key, type));
  }
}

int64_t durationOf(const YAML::Node& n) {
  if (!n.IsScalar()) bad(n, "duration must be a string");
  auto d = parseDuration(n.as<std::string>());
  if (!d) bad(n, fmt::format("not a valid duration string: \"{}\"", n.as<std::string>()));
  return d->count();
}

/// Prometheus' labels.Labels.String(): {a="b", c="d"} with Go quoting.
std::string labelsString(const Labels& l) {
  std::string out = "{";
  for (size_t i = 0; i < l.size(); ++i) {
    if (i) out += ", ";
    out += l[i].name + "=\"" + escapeLabelValue(l[i].value) + "\"";
  }
  return out + "}";
}

/// strconv.FormatFloat(v, 'E', -1, 64).
std::string formatE(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string s(buf, r.ptr);
  size_t e = s.find('e');
  std::string mant = s.substr(0, e);
  int exp = std::stoi(s.substr(e + 1));
  return fmt::format("{}E{}{:02d}", mant, exp < 0 ? "-" : "+", std::abs(exp));
}

struct ExpSample {
  Labels labels;
  double value;
};

std::string samplesString(const std::vector<ExpSample>& s) {
  if (s.empty()) return "nil";
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += labelsString(s[i].labels) + " " + formatE(s[i].value);
  }
  return out;
}

struct AlertExp {
  Labels labels;
  Labels annotations;  // may hold empty values
  bool operator==(const AlertExp&) const = default;
  auto operator<=>(const AlertExp&) const = default;
};

/// Go's indentLines in promtool: every line but the first gets the prefix.
std::string indent(const std::string& s, const std::string& pre) {
  std::string out;
  size_t start = 0;
  for (;;) {
    size_t nl = s.find('\n', start);
    if (start > 0) out += pre;
    out += s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
  }
  return out;
}

std::string alertsString(const std::vector<AlertExp>& as) {
  if (as.empty()) return "[]";
  std::string out = "[";
  for (size_t i = 0; i < as.size(); ++i) {
    if (i) out += ",";
    out += fmt::format("\n{}:", i);
    out += indent("\nLabels:" + labelsString(as[i].labels) + "\nAnnotations:" +
                      labelsString(as[i].annotations),
                  "  ");
  }
  return out + "\n]";
}

Labels stringMap(const YAML::Node& n, bool keepEmpty) {
  Labels out;
  if (!n || n.IsNull()) return out;
  if (!n.IsMap()) bad(n, "expected a mapping of strings");
  for (auto it = n.begin(); it != n.end(); ++it) {
    out.push_back(Label{it->first.as<std::string>(),
                        it->second.IsNull() ? "" : it->second.as<std::string>()});
  }
  std::sort(out.begin(), out.end());
  if (!keepEmpty) std::erase_if(out, [](const Label& l) { return l.value.empty(); });
  return out;
}

double parseValue(const YAML::Node& n) {
  if (!n.IsScalar()) bad(n, "value must be a number");
  std::string s = n.as<std::string>();
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return NAN;
  if (s == ".inf" || s == "+.inf" || s == ".Inf" || s == "+.Inf" || s == ".INF") return INFINITY;
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -INFINITY;
  auto v = promql::parseGoFloat(s);
  if (!v) bad(n, fmt::format("cannot unmarshal !!str `{}` into float64", s));
  return *v;
}

std::vector<std::string> resolveRuleFiles(const std::filesystem::path& base,
                                          const YAML::Node& list) {
  std::vector<std::string> out;
  if (!list || list.IsNull()) return out;
  if (!list.IsSequence()) bad(list, "rule_files must be a list");
  for (const auto& f : list) {
    std::string p = f.as<std::string>();
    std::filesystem::path full = std::filesystem::path(p).is_absolute() ? std::filesystem::path(p) : base / p;
    glob_t g{};
    if (::glob(full.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    } else {
      out.push_back(full.string());
    }
    globfree(&g);
  }
  return out;
}

/// One entry of `tests:`.
class TestGroup {
 public:
  TestGroup(const YAML::Node& node, int64_t evalInterval, const std::vector<std::string>& ruleFiles,
            const std::map<std::string, int>& groupOrder)
      : node_(node), evalInterval_(evalInterval), ruleFiles_(ruleFiles), groupOrder_(groupOrder) {}

  /// Returns the failure messages (empty when everything passed).
  std::vector<std::string> run() {
    onlyKeys(node_, {"interval", "input_series", "alert_rule_test", "promql_expr_test",
                     "external_labels", "external_url", "name"},
             "main.testGroup");
    int64_t interval = node_["interval"] ? durationOf(node_["interval"]) : evalInterval_;
    std::string name = node_["name"] ? node_["name"].as<std::string>() : "";
    Labels external = stringMap(node_["external_labels"], false);
    std::string externalURL = node_["external_url"] ? node_["external_url"].as<std::string>() : "";

    promql::MemoryStorage storage;
    std::vector<std::pair<Labels, std::vector<promql::Point>>> input;
    if (const auto& in = node_["input_series"]; in && !in.IsNull()) {
      for (const auto& s : in) {
        onlyKeys(s, {"series", "values"}, "main.series");
        auto labels = promql::parseMetric(s["series"].as<std::string>(""));
        if (!labels) bad(s["series"], labels.error().message);
        auto pts = expandSeriesValues(s["values"].as<std::string>(""), interval);
        if (!pts) bad(s["values"], pts.error().message);
        input.emplace_back(std::move(*labels), std::move(*pts));
      }
    }

    // Rule groups, ordered like promtool: by group_eval_order, else as loaded (rule_files
    // order, then file order).
    std::vector<RuleGroup> groups;
    for (const auto& f : ruleFiles_) {
      auto rf = loadRuleFile(f);
      if (!rf) throw BadFile{rf.error().format()};
      for (auto& g : rf->groups) groups.emplace_back(g, external, externalURL);
    }
    std::stable_sort(groups.begin(), groups.end(), [&](const RuleGroup& a, const RuleGroup& b) {
      if (groupOrder_.empty()) return false;
      auto rank = [&](const std::string& n) {
        auto it = groupOrder_.find(n);
        return it == groupOrder_.end() ? 0 : it->second;
      };
      return rank(a.def().name) < rank(b.def().name);
    });

    struct AlertTest {
      int64_t evalTime;
      std::string alertname;
      std::string evalTimeText;
      std::vector<AlertExp> exp;
    };
    std::vector<AlertTest> alertTests;
    if (const auto& at = node_["alert_rule_test"]; at && !at.IsNull()) {
      for (const auto& a : at) {
        onlyKeys(a, {"eval_time", "alertname", "exp_alerts"}, "main.alertTestCase");
        AlertTest t;
        t.evalTime = a["eval_time"] ? durationOf(a["eval_time"]) : 0;
        t.evalTimeText = formatDuration(Duration(t.evalTime));
        t.alertname = a["alertname"].as<std::string>("");
        if (const auto& ea = a["exp_alerts"]; ea && !ea.IsNull()) {
          for (const auto& e : ea) {
            onlyKeys(e, {"exp_labels", "exp_annotations"}, "main.alert");
            AlertExp x;
            x.labels = stringMap(e["exp_labels"], true);
            set(x.labels, "alertname", t.alertname);
            x.annotations = stringMap(e["exp_annotations"], true);
            t.exp.push_back(std::move(x));
          }
        }
        alertTests.push_back(std::move(t));
      }
    }
    std::stable_sort(alertTests.begin(), alertTests.end(),
                     [](const AlertTest& a, const AlertTest& b) { return a.evalTime < b.evalTime; });

    struct ExprTest {
      std::string expr;
      int64_t evalTime;
      YAML::Node samples;
    };
    std::vector<ExprTest> exprTests;
    if (const auto& pt = node_["promql_expr_test"]; pt && !pt.IsNull()) {
      for (const auto& p : pt) {
        onlyKeys(p, {"expr", "eval_time", "exp_samples"}, "main.promqlTestCase");
        exprTests.push_back(ExprTest{p["expr"].as<std::string>(""),
                                     p["eval_time"] ? durationOf(p["eval_time"]) : 0,
                                     p["exp_samples"]});
      }
    }

    int64_t maxT = 0;
    for (const auto& a : alertTests) maxT = std::max(maxT, a.evalTime);
    for (const auto& p : exprTests) maxT = std::max(maxT, p.evalTime);

    // promtool loads input samples lazily, up to each evaluation time; samples after the last
    // evaluation (the last multiple of evaluation_interval not after maxT) are never visible.
    int64_t horizon = (maxT / evalInterval_) * evalInterval_;
    for (const auto& [labels, pts] : input) {
      for (const auto& p : pts) {
        if (p.t <= horizon) storage.append(labels, p.t, p.v);
      }
    }

    std::vector<std::string> errs;
    std::string testName = name.empty() ? "" : fmt::format("    name: {},\n", name);
    size_t curr = 0;
    for (int64_t ts = 0; ts <= maxT; ts += evalInterval_) {
      std::vector<std::string> evalErrs;
      for (auto& g : groups) {
        auto res = g.eval(ts, storage);
        for (const auto& s : res.samples) storage.append(s.labels, s.t, s.v);
        for (const auto& [rule, e] : res.failures) {
          evalErrs.push_back(fmt::format("    rule: {}, time: {}, err: {}", rule,
                                         formatDuration(Duration(ts)), e.message));
        }
      }
      if (!evalErrs.empty()) {
        errs.insert(errs.end(), evalErrs.begin(), evalErrs.end());
        return errs;
      }
      // Alert expectations between this evaluation and the next are checked against it.
      while (curr < alertTests.size() && ts <= alertTests[curr].evalTime &&
             alertTests[curr].evalTime < ts + evalInterval_) {
        int64_t t = alertTests[curr].evalTime;
        std::map<std::string, std::vector<AlertExp>> got;
        for (const auto& g : groups) {
          for (const auto& r : g.alertingRules()) {
            for (const auto& a : r.activeAlerts()) {
              if (a.state != AlertState::kFiring) continue;
              Labels ann;
              for (const auto& [k, v] : a.annotations) ann.push_back(Label{k, v});
              got[r.def().name].push_back(AlertExp{a.labels, ann});
            }
          }
        }
        for (; curr < alertTests.size() && alertTests[curr].evalTime == t; ++curr) {
          auto& test = alertTests[curr];
          auto g = got[test.alertname];
          auto e = test.exp;
          std::sort(g.begin(), g.end());
          std::sort(e.begin(), e.end());
          if (g != e) {
            errs.push_back(fmt::format("{}    alertname: {}, time: {}, \n        exp:{}, \n        got:{}",
                                       testName, test.alertname, test.evalTimeText,
                                       indent(alertsString(e), "            "),
                                       indent(alertsString(g), "            ")));
          }
        }
      }
    }

    for (const auto& t : exprTests) {
      std::string when = formatDuration(Duration(t.evalTime));
      auto v = promql::evalInstant(t.expr, t.evalTime, storage);
      if (!v) {
        const Error& e = v.error();
        std::string msg = e.line > 0 ? fmt::format("{}:{}: {}", e.line, e.column, e.message) : e.message;
        errs.push_back(fmt::format("    expr: \"{}\", time: {}, err: {}", t.expr, when, msg));
        continue;
      }
      std::vector<ExpSample> got;
      if (auto* vec = std::get_if<promql::Vector>(&*v)) {
        for (const auto& s : *vec) got.push_back(ExpSample{s.labels, s.v});
      } else if (auto* sc = std::get_if<promql::Scalar>(&*v)) {
        got.push_back(ExpSample{{}, sc->v});
      } else {
        errs.push_back(fmt::format("    expr: \"{}\", time: {}, err: rule result is not a vector or scalar",
                                   t.expr, when));
        continue;
      }
      std::vector<ExpSample> exp;
      bool badLabels = false;
      if (t.samples && !t.samples.IsNull()) {
        for (const auto& s : t.samples) {
          onlyKeys(s, {"labels", "value"}, "main.sample");
          std::string ls = s["labels"].as<std::string>("");
          Labels l;
          if (!ls.empty() && ls != "{}") {
            auto parsed = promql::parseMetric(ls);
            if (!parsed) {
              errs.push_back(fmt::format("    expr: \"{}\", time: {}, err: labels \"{}\": {}",
                                         t.expr, when, ls, parsed.error().message));
              badLabels = true;
              break;
            }
            l = *parsed;
          }
          exp.push_back(ExpSample{l, s["value"] ? parseValue(s["value"]) : 0});
        }
      }
      if (badLabels) continue;
      auto byLabels = [](const ExpSample& a, const ExpSample& b) { return a.labels < b.labels; };
      std::stable_sort(got.begin(), got.end(), byLabels);
      std::stable_sort(exp.begin(), exp.end(), byLabels);
      bool equal = got.size() == exp.size();
      for (size_t i = 0; equal && i < got.size(); ++i) {
        // reflect.DeepEqual semantics: float ==, so NaN never equals.
        equal = got[i].labels == exp[i].labels && got[i].value == exp[i].value;
      }
      if (!equal) {
        errs.push_back(fmt::format("    expr: \"{}\", time: {},\n        exp: {}\n        got: {}",
                                   t.expr, when, samplesString(exp), samplesString(got)));
      }
    }
    return errs;
  }

 private:
  YAML::Node node_;
  int64_t evalInterval_;
  std::vector<std::string> ruleFiles_;
  std::map<std::string, int> groupOrder_;
};

/// Returns the failures of one test file; throws BadFile when it cannot be used at all.
std::vector<std::string> runFile(const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    throw BadFile{"cannot read file"};
  } catch (const YAML::Exception& e) {
    throw BadFile{fmt::format("{}:{}: {}", e.mark.line + 1, e.mark.column + 1, e.msg)};
  }
  onlyKeys(root, {"rule_files", "evaluation_interval", "group_eval_order", "tests"},
           "main.unitTestFile");
  int64_t evalInterval =
      root["evaluation_interval"] ? durationOf(root["evaluation_interval"]) : 60'000;
  if (evalInterval <= 0) bad(root["evaluation_interval"], "evaluation_interval must be positive");
  std::map<std::string, int> order;
  if (const auto& o = root["group_eval_order"]; o && !o.IsNull()) {
    int i = 0;
    for (const auto& g : o) {
      std::string n = g.as<std::string>();
      if (!order.emplace(n, i++).second) {
        bad(g, fmt::format("group name repeated in evaluation order: {}", n));
      }
    }
  }
  auto base = std::filesystem::path(file).parent_path();
  auto ruleFiles = resolveRuleFiles(base, root["rule_files"]);
  // Validate rule files up front: a broken rule file makes the whole test file unusable.
  for (const auto& f : ruleFiles) {
    auto rf = loadRuleFile(f);
    if (!rf) throw BadFile{rf.error().format()};
  }
  std::vector<std::string> errs;
  if (const auto& tests = root["tests"]; tests && !tests.IsNull()) {
    for (const auto& t : tests) {
      TestGroup g(t, evalInterval, ruleFiles, order);
      auto e = g.run();
      errs.insert(errs.end(), e.begin(), e.end());
    }
  }
  return errs;
}

}  // namespace

Result<std::vector<promql::Point>> expandSeriesValues(std::string_view values, int64_t intervalMs) {
  std::vector<promql::Point> out;
  std::istringstream in{std::string(values)};
  std::string tok;
  int64_t idx = 0;
  auto err = [&](const std::string& m) { return Error{"bad input series values: " + m, "", 0, 0}; };
  while (in >> tok) {
    // Split "<value>[<+|-><step>]x<count>".
    std::string body = tok;
    int64_t count = -1;
    size_t xpos = tok.rfind('x');
    if (xpos != std::string::npos && xpos + 1 < tok.size() &&
        std::all_of(tok.begin() + static_cast<long>(xpos) + 1, tok.end(), ::isdigit)) {
      body = tok.substr(0, xpos);
      count = std::stoll(tok.substr(xpos + 1));
    }
    if (body == "_") {
      idx += count < 0 ? 1 : count;
      continue;
    }
    double base = 0, step = 0;
    if (body == "stale") {
      base = promql::staleNaN();
    } else {
      size_t split = std::string::npos;
      for (size_t i = 1; i < body.size(); ++i) {
        if ((body[i] == '+' || body[i] == '-') && body[i - 1] != 'e' && body[i - 1] != 'E') {
          split = i;
          break;
        }
      }
      auto b = promql::parseGoFloat(body.substr(0, split));
      if (!b) return err(tok);
      base = *b;
      if (split != std::string::npos) {
        if (count < 0) return err(tok);
        auto s = promql::parseGoFloat(body.substr(split));
        if (!s) return err(tok);
        step = *s;
      }
    }
    if (count < 0) {
      out.push_back(promql::Point{idx * intervalMs, base});
      ++idx;
      continue;
    }
    // a+bxn is n+1 values, accumulated like Prometheus does (v += b).
    for (int64_t i = 0; i <= count; ++i) {
      out.push_back(promql::Point{idx * intervalMs, base});
      ++idx;
      base += step;
    }
  }
  return out;
}

int runRuleTests(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  bool failed = false;
  bool badFile = false;
  for (const auto& f : files) {
    out << "Unit Testing:  " << f << "\n";
    std::vector<std::string> errs;
    try {
      errs = runFile(f);
    } catch (const BadFile& b) {
      err << "  FAILED:\n" << f << ": " << b.message << "\n\n";
      out << "\n";
      badFile = true;
      continue;
    } catch (const YAML::Exception& e) {
      err << "  FAILED:\n" << f << ": " << e.what() << "\n\n";
      out << "\n";
      badFile = true;
      continue;
    }
    if (!errs.empty()) {
      err << "  FAILED:\n";
      for (const auto& e : errs) err << e << "\n\n";
      failed = true;
    } else {
      out << "  SUCCESS\n";
    }
    out << "\n";
  }
  out.flush();
  err.flush();
  if (badFile) return 2;
  return failed ? 1 : 0;
}

}  // namespace vigil::rules
