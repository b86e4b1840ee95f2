#pragma once
// The load-balancer probe of a pool (`pools[].load_balancer`): one fetch of HAProxy's stats page
// in CSV form through the shared curl loop, reduced to the pool's series of SPEC §3 — which
// configured members the load balancer is sending traffic to, each member's HAProxy state, and
// the real user traffic each one served. Servers of the backend are mapped to targets by name
// (or the target's `haproxy_server:`); a server the config does not know and a member the
// backend does not have are both reported, never ignored.

#include <cstdint>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/core/error.h"
#include "agent/core/probe.h"
#include "probes/http_probe.h"
#include "probes/parsers/haproxy_csv.h"

namespace vigil {

/// Upper bound on a stats page's body. A server row is about 1 KiB with HAProxy 2.6's ~100
/// columns, so 8 MiB holds several thousand servers; a runaway endpoint cannot make the agent
/// buffer more.
inline constexpr int64_t kMaxHaproxyStatsBodyBytes = 8 << 20;

/// The label of the HAProxy state for a configured member that the backend does not have.
inline constexpr std::string_view kLbStateAbsent = "absent";

/// One configured member of a pool, as the load-balancer probe maps it.
struct LbMember {
  std::string target;  ///< the target's name
  std::string server;  ///< its server name in the backend: `haproxy_server:`, else the name
};

/// What the load-balancer probe of one pool needs. Copied into the probe: nothing has to
/// outlive start().
struct LbProbeSpec {
  std::string pool;
  std::string statsUrl;  ///< `load_balancer.haproxy_stats`
  std::string backend;   ///< `load_balancer.backend`
  std::vector<LbMember> members;  ///< config order
};

/// `url` without its user:password@ part (a stats URL may carry `stats auth` credentials), for
/// messages, labels and the API.
std::string urlWithoutUserinfo(const std::string& url);

/// The members of pool `pool` (targets with `pool: <pool>`), in config order.
std::vector<LbMember> poolMembers(const config::Config& cfg, const std::string& pool);

/// The probe spec of `pool`; the pool must have a load_balancer.
LbProbeSpec lbProbeSpec(const config::Config& cfg, const config::Pool& pool);

/// Reduces a parsed stats page to the pool's samples (without the `pool` label, which the
/// recorder adds like `target` for other probes), in this order:
///   vigil_pool_members_in_rotation{}                    configured members in rotation
///   per member, in config order:
///     vigil_pool_member_in_rotation{target,lb_state}    1/0; lb_state "absent" when the
///                                                       backend has no such server
///     vigil_lb_sessions_total{target}                   HAProxy's stot    (present members)
///     vigil_lb_http_responses_total{target,code}        hrsp_1xx..hrsp_5xx (present members)
///   per server of the backend that maps to no member, in CSV order:
///     vigil_pool_unknown_server_in_rotation{server,lb_state}  1/0
///   vigil_pool_unknown_servers{}                        how many such servers
/// "In rotation" is parsers::inRotation(). lb_state is HAProxy's status word (UP, DOWN, MAINT,
/// DRAIN, NOLB, "no check"). Fails (message naming `source`) when the CSV has no backend
/// `backend`.
Result<std::vector<ProbeSample>> lbSamples(const std::vector<parsers::HaproxyRow>& rows,
                                           const LbProbeSpec& spec,
                                           std::string_view source = "haproxy stats");

/// Human-readable lines for `vigil probe`: one per member and unknown server, with its state and
/// traffic.
std::vector<std::string> lbTrace(const std::vector<ProbeSample>& samples);

/// Runs load-balancer probes on an HttpProber's loop. Use only on the loop's thread.
class HaproxyProber {
 public:
  /// `http` must outlive this object and every probe it started.
  explicit HaproxyProber(HttpProber& http);

  /// Starts one fetch of `spec.statsUrl`; `done` runs exactly once, on the loop, never from
  /// inside start() except when no curl handle can be had. `timeout` covers the whole fetch.
  /// On success the result holds lbSamples() and lbTrace() lines after the HTTP trace (no HTTP
  /// figures). Failures are values: the HTTP reasons (kRefused, kTimeout, kStatus for anything
  /// but 2xx, kTooLarge past kMaxHaproxyStatsBodyBytes, ...) with their message, or kParse with
  /// "URL:LINE:COL: ..." when the page is not HAProxy's CSV or has no such backend.
  void start(LbProbeSpec spec, Duration timeout, ProbeCompletion done);

 private:
  HttpProber& http_;
};

}  // namespace vigil
