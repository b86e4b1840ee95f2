#include "exporters/notify/route.h"

#include "agent/core/labels.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>

#include "agent/config/matcher.h"

namespace vigil::notify {

struct Route::CompiledMatcher {
  config::Matcher m;
  std::unique_ptr<RE2> re;  ///< for regex operators

  bool matches(std::string_view v) const {
    switch (m.op) {
      case config::Matcher::Op::kEqual: return v == m.value;
      case config::Matcher::Op::kNotEqual: return v != m.value;
      case config::Matcher::Op::kRegexMatch: return RE2::FullMatch(v, *re);
      case config::Matcher::Op::kRegexNoMatch: return !RE2::FullMatch(v, *re);
    }
    return false;
  }
};

namespace {

// Alertmanager's Matchers.Less: by name, then value, then operator.
bool matcherLess(const config::Matcher& a, const config::Matcher& b) {
  if (a.name != b.name) return a.name < b.name;
  if (a.value != b.value) return a.value < b.value;
  return static_cast<int>(a.op) < static_cast<int>(b.op);
}

Error errorAt(const config::Position& p, std::string msg) {
  return Error{std::move(msg), p.file, p.line, p.column};
}

}  // namespace

std::string matcherString(const config::Matcher& m) {
  return fmt::format("{}{}\"{}\"", m.name, config::toString(m.op), escapeLabelValue(m.value));
}

Route::Route() = default;
Route::~Route() = default;

Result<std::unique_ptr<Route>> Route::build(const config::Route& root) {
  int counter = 0;
  return buildNode(root, nullptr, -1, &counter);
}

Result<std::unique_ptr<Route>> Route::buildNode(const config::Route& cfg, const Route* parent,
                                                int position, int* counter) {
  std::unique_ptr<Route> r(new Route());
  r->index_ = (*counter)++;
  r->position_ = cfg.position;
  r->continue_ = cfg.continueMatching;
  r->opts_ = parent != nullptr ? parent->opts_ : RouteOpts{};
  if (!cfg.receiver.empty()) r->opts_.receiver = cfg.receiver;
  if (r->opts_.receiver.empty()) return errorAt(cfg.position, "route has no receiver");
  if (!cfg.groupBy.empty()) {
    bool all = std::find(cfg.groupBy.begin(), cfg.groupBy.end(), "...") != cfg.groupBy.end();
    if (all) {
      // As in Alertmanager: "..." sets group-by-all and keeps the inherited list (unused).
      r->opts_.groupByAll = true;
    } else {
      r->opts_.groupBy = cfg.groupBy;
      std::sort(r->opts_.groupBy.begin(), r->opts_.groupBy.end());
      r->opts_.groupBy.erase(std::unique(r->opts_.groupBy.begin(), r->opts_.groupBy.end()),
                             r->opts_.groupBy.end());
      r->opts_.groupByAll = false;
    }
  }
  if (cfg.groupWait) r->opts_.groupWait = *cfg.groupWait;
  if (cfg.groupInterval) r->opts_.groupInterval = *cfg.groupInterval;
  if (cfg.repeatInterval) r->opts_.repeatInterval = *cfg.repeatInterval;
  if (r->opts_.groupInterval.count() <= 0 || r->opts_.repeatInterval.count() <= 0) {
    return errorAt(cfg.position, "group_interval and repeat_interval must be positive");
  }

  std::vector<config::Matcher> sorted = cfg.parsedMatchers;
  std::stable_sort(sorted.begin(), sorted.end(), matcherLess);
  std::string own = "{";
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0) own += ',';
    own += matcherString(sorted[i]);
  }
  own += '}';
  r->key_ = parent != nullptr ? parent->key_ + "/" + own : own;
  r->id_ = position >= 0 ? fmt::format("{}/{}", r->key_, position) : r->key_;

  for (const config::Matcher& m : cfg.parsedMatchers) {
    CompiledMatcher cm{m, nullptr};
    if (m.op == config::Matcher::Op::kRegexMatch || m.op == config::Matcher::Op::kRegexNoMatch) {
      RE2::Options o;
      o.set_log_errors(false);
      // Alertmanager anchors as ^(?:...)$; FullMatch anchors both ends the same way.
      cm.re = std::make_unique<RE2>("(?:" + m.value + ")", o);
      if (!cm.re->ok()) {
        return errorAt(cfg.position, fmt::format("bad regular expression in matcher {}: {}",
                                                 matcherString(m), cm.re->error()));
      }
    }
    r->matchers_.push_back(std::move(cm));
  }

  for (size_t i = 0; i < cfg.routes.size(); ++i) {
    auto child = buildNode(cfg.routes[i], r.get(), static_cast<int>(i), counter);
    if (!child) return child.error();
    r->routes_.push_back(std::move(*child));
  }
  return r;
}

bool Route::matchesOwn(const Labels& labels) const {
  for (const CompiledMatcher& m : matchers_) {
    if (!m.matches(get(labels, m.m.name))) return false;
  }
  return true;
}

std::vector<const Route*> Route::match(const Labels& labels) const {
  if (!matchesOwn(labels)) return {};
  std::vector<const Route*> all;
  for (const auto& child : routes_) {
    std::vector<const Route*> found = child->match(labels);
    bool matched = !found.empty();
    all.insert(all.end(), found.begin(), found.end());
    if (matched && !child->continue_) break;
  }
  if (all.empty()) all.push_back(this);
  return all;
}

Labels Route::groupLabels(const Labels& alertLabels) const {
  if (opts_.groupByAll) return alertLabels;
  Labels out;
  for (const Label& l : alertLabels) {
    if (std::binary_search(opts_.groupBy.begin(), opts_.groupBy.end(), l.name)) out.push_back(l);
  }
  return out;
}

}  // namespace vigil::notify
