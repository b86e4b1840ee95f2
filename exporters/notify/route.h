#pragma once
// Alertmanager's routing tree (dispatch/route.go) over config::Route: depth-first matching with
// `continue`, settings inherited from the parent, and the route keys that group keys start with.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/config.h"
#include "agent/core/clock.h"
#include "agent/core/error.h"
#include "agent/core/labels.h"

namespace vigil::notify {

/// A route's effective settings after inheritance. The defaults are Alertmanager's root
/// defaults (DefaultRouteOpts) but for group_wait: 0s instead of 30s. vigil exists to page within
/// seconds of a fault; an unset group_wait must not add half a minute to every first page.
/// (Alerts of one group that start together still go out together: they come from one rule
/// evaluation.) Set group_wait: 30s for Alertmanager's batching.
struct RouteOpts {
  std::string receiver;
  std::vector<std::string> groupBy;  ///< sorted label names; ignored when groupByAll
  bool groupByAll = false;           ///< group_by: ["..."]
  Duration groupWait{0};
  Duration groupInterval{5 * 60'000};
  Duration repeatInterval{4 * 3600'000};
};

/// One node of the routing tree. Immutable once built; thread-safe to share.
class Route {
 public:
  /// Builds the tree from the (validated) config. Children inherit the receiver, group_by and
  /// the three intervals they leave unset. An empty `group_by` counts as unset (the config does
  /// not tell `group_by: []` from an absent key). Errors name the route's position: a regex
  /// that RE2 rejects or a route without a receiver anywhere above it.
  static Result<std::unique_ptr<Route>> build(const config::Route& root);

  ~Route();
  Route(const Route&) = delete;
  Route& operator=(const Route&) = delete;

  /// Alertmanager's Route.Match: nil when this route's matchers do not match; otherwise the
  /// matching routes found depth-first among the children (stopping after the first child that
  /// matched unless that child has `continue: true`), or this route itself when no child
  /// matched. A missing label matches as the empty string; regexes are fully anchored.
  std::vector<const Route*> match(const Labels& labels) const;

  /// True when every matcher of this route (not its parents) matches `labels`.
  bool matchesOwn(const Labels& labels) const;

  /// The labels of `alertLabels` that this route groups by (only those present).
  Labels groupLabels(const Labels& alertLabels) const;

  /// Alertmanager's Route.Key(): the parent's key, '/', and this route's matchers sorted and
  /// rendered as `{name="value",...}` (e.g. `{}/{severity="page"}`).
  const std::string& key() const { return key_; }
  /// Alertmanager's Route.ID(): the key plus `/<index among siblings>` below the root.
  const std::string& id() const { return id_; }
  /// Depth-first pre-order number: 0 for the root. Unique in the tree.
  int index() const { return index_; }
  const RouteOpts& opts() const { return opts_; }
  bool continueMatching() const { return continue_; }
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }
  const config::Position& position() const { return position_; }

 private:
  struct CompiledMatcher;
  Route();
  static Result<std::unique_ptr<Route>> buildNode(const config::Route& cfg, const Route* parent,
                                                  int position, int* counter);

  RouteOpts opts_;
  std::vector<CompiledMatcher> matchers_;
  bool continue_ = false;
  std::string key_;
  std::string id_;
  int index_ = 0;
  config::Position position_;
  std::vector<std::unique_ptr<Route>> routes_;
};

/// Alertmanager's Matcher.String(): name, operator and the value in double quotes with `\`,
/// `"` and newline escaped (OpenMetrics escaping).
std::string matcherString(const config::Matcher& m);

}  // namespace vigil::notify
