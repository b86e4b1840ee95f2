#include "probes/haproxy_probe.h"

#include <fmt/format.h>

#include <map>
#include <memory>
#include <utility>

#include "exporters/metrics/names.h"

namespace vigil {

namespace {

// HttpProber keeps pointers to the check and the body buffer until its completion runs, so
// both live here, owned by that completion.
struct Fetch {
  LbProbeSpec spec;
  config::HttpCheck check;
  std::string body;
};

ProbeSample sample(std::string_view name, Labels labels, double value) {
  ProbeSample s;
  s.name = std::string(name);
  s.labels = std::move(labels);
  s.value = value;
  return s;
}

std::string_view labelOf(const ProbeSample& s, std::string_view name) {
  for (const auto& l : s.labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

ProbeResult toLbResult(const Fetch& f, ProbeResult http) {
  ProbeResult r;
  r.durationSeconds = http.durationSeconds;
  r.trace = std::move(http.trace);
  // The stats page's HTTP figures are not the pool's: only the outcome and duration are kept.
  if (!http.success()) {
    r.reason = http.reason;
    r.error = std::move(http.error);
    return r;
  }
  const std::string source = urlWithoutUserinfo(f.spec.statsUrl);
  auto rows = parsers::parseHaproxyCsv(f.body, source);
  if (!rows) {
    r.reason = FailureReason::kParse;
    r.error = rows.error().format();
    return r;
  }
  auto samples = lbSamples(*rows, f.spec, source);
  if (!samples) {
    r.reason = FailureReason::kParse;
    r.error = samples.error().format();
    return r;
  }
  r.samples = std::move(*samples);
  for (auto& line : lbTrace(r.samples)) r.trace.push_back(std::move(line));
  r.reason = FailureReason::kNone;
  return r;
}

}  // namespace

std::string urlWithoutUserinfo(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t hostStart = scheme + 3;
  const size_t pathStart = url.find_first_of("/?#", hostStart);
  const size_t at = url.rfind('@', pathStart == std::string::npos ? url.size() : pathStart);
  if (at == std::string::npos || at < hostStart) return url;
  return url.substr(0, hostStart) + url.substr(at + 1);
}

std::vector<LbMember> poolMembers(const config::Config& cfg, const std::string& pool) {
  std::vector<LbMember> out;
  for (const auto& t : cfg.targets) {
    if (t.pool != pool) continue;
    out.push_back(LbMember{t.name, t.haproxyServer.empty() ? t.name : t.haproxyServer});
  }
  return out;
}

LbProbeSpec lbProbeSpec(const config::Config& cfg, const config::Pool& pool) {
  LbProbeSpec s;
  s.pool = pool.name;
  if (pool.loadBalancer) {
    s.statsUrl = pool.loadBalancer->haproxyStats;
    s.backend = pool.loadBalancer->backend;
  }
  s.members = poolMembers(cfg, pool.name);
  return s;
}

Result<std::vector<ProbeSample>> lbSamples(const std::vector<parsers::HaproxyRow>& rows,
                                           const LbProbeSpec& spec, std::string_view source) {
  bool backendFound = false;
  std::vector<std::string> backends;
  for (const auto& r : rows) {
    if (r.type != parsers::HaproxyRowType::kBackend) continue;
    if (r.pxname == spec.backend) backendFound = true;
    backends.push_back(r.pxname);
  }
  if (!backendFound) {
    return Error{fmt::format("no backend \"{}\" in the stats (backends: {})", spec.backend,
                             backends.empty() ? std::string("none") : fmt::format(
                                 "{}", fmt::join(backends, ", "))),
                 std::string(source)};
  }
  const std::vector<parsers::HaproxyRow> servers = parsers::serversOfBackend(rows, spec.backend);
  std::map<std::string_view, const parsers::HaproxyRow*> byName;
  for (const auto& s : servers) byName.emplace(s.svname, &s);

  std::vector<ProbeSample> out;
  out.push_back(sample(names::kPoolMembersInRotation, {}, 0));
  double inRotation = 0;
  std::map<std::string_view, bool> claimed;
  for (const LbMember& m : spec.members) {
    auto it = byName.find(m.server);
    const std::string target(m.target);
    if (it == byName.end()) {
      out.push_back(sample(names::kPoolMemberInRotation,
                           {{std::string(names::kLbState), std::string(kLbStateAbsent)},
                            {std::string(names::kTarget), target}},
                           0));
      continue;
    }
    const parsers::HaproxyRow& row = *it->second;
    claimed[row.svname] = true;
    const bool in = parsers::inRotation(row);
    if (in) inRotation += 1;
    out.push_back(sample(names::kPoolMemberInRotation,
                         {{std::string(names::kLbState), std::string(toString(row.state))},
                          {std::string(names::kTarget), target}},
                         in ? 1 : 0));
    out.push_back(sample(names::kLbSessionsTotal, {{std::string(names::kTarget), target}},
                         static_cast<double>(row.stot)));
    const std::pair<const char*, uint64_t> codes[] = {
        {"1xx", row.hrsp1xx}, {"2xx", row.hrsp2xx}, {"3xx", row.hrsp3xx},
        {"4xx", row.hrsp4xx}, {"5xx", row.hrsp5xx}};
    for (const auto& [code, n] : codes) {
      out.push_back(sample(names::kLbHttpResponsesTotal,
                           {{std::string(names::kCode), code},
                            {std::string(names::kTarget), target}},
                           static_cast<double>(n)));
    }
  }
  out.front().value = inRotation;
  double unknown = 0;
  for (const auto& s : servers) {
    if (claimed.contains(s.svname)) continue;
    unknown += 1;
    out.push_back(sample(names::kPoolUnknownServerInRotation,
                         {{std::string(names::kLbState), std::string(toString(s.state))},
                          {std::string(names::kServer), s.svname}},
                         parsers::inRotation(s) ? 1 : 0));
  }
  out.push_back(sample(names::kPoolUnknownServers, {}, unknown));
  return out;
}

std::vector<std::string> lbTrace(const std::vector<ProbeSample>& samples) {
  // Per member: state, then traffic; the samples of one member are adjacent (lbSamples order).
  std::vector<std::string> out;
  std::string current;
  std::string line;
  auto flush = [&] {
    if (!line.empty()) out.push_back(std::move(line));
    line.clear();
  };
  for (const ProbeSample& s : samples) {
    if (s.name == names::kPoolMembersInRotation) {
      out.push_back(fmt::format("in rotation {} member(s)", s.value));
    } else if (s.name == names::kPoolMemberInRotation) {
      flush();
      current = std::string(labelOf(s, names::kTarget));
      line = fmt::format("member     {:<16} {:<8} {}", current, labelOf(s, names::kLbState),
                         s.value > 0 ? "in rotation" : "OUT of rotation");
    } else if (s.name == names::kLbSessionsTotal) {
      line += fmt::format("  sessions {}", s.value);
    } else if (s.name == names::kLbHttpResponsesTotal) {
      line += fmt::format(" {} {}", labelOf(s, names::kCode), s.value);
    } else if (s.name == names::kPoolUnknownServerInRotation) {
      flush();
      line = fmt::format("UNKNOWN    {:<16} {:<8} {} (a server of the backend that no target "
                         "maps to)",
                         labelOf(s, names::kServer), labelOf(s, names::kLbState),
                         s.value > 0 ? "in rotation" : "out of rotation");
    }
  }
  flush();
  return out;
}

HaproxyProber::HaproxyProber(HttpProber& http) : http_(http) {}

void HaproxyProber::start(LbProbeSpec spec, Duration timeout, ProbeCompletion done) {
  auto fetch = std::make_shared<Fetch>();
  fetch->check.url = spec.statsUrl;
  fetch->spec = std::move(spec);
  // HAProxy answers 200; a redirect is followed, anything else is a failed fetch.
  fetch->check.expectStatus = {config::StatusRange{200, 299}};
  fetch->check.maxBodyBytes = kMaxHaproxyStatsBodyBytes;
  HttpProbeOptions options;
  options.body = &fetch->body;
  const config::HttpCheck& check = fetch->check;
  http_.start(
      check, timeout,
      [fetch, done = std::move(done)](ProbeResult http) {
        done(toLbResult(*fetch, std::move(http)));
      },
      options);
}

}  // namespace vigil
