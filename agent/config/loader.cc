#include "agent/config/loader.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "agent/config/matcher.h"
#include "agent/core/duration.h"
#include "agent/core/labels.h"

namespace vigil::config {

namespace {

constexpr Duration kDefaultInterval{5'000};
/// The timeout used when none is configured is min(kMaxDefaultTimeout, 80% of the interval):
/// long enough for a slow server to answer, short enough that a hung probe ends before the
/// next one is due.
constexpr Duration kMaxDefaultTimeout{3'000};

/// Routes nest and YAML aliases can repeat a subtree, so a small document can describe an
/// exponentially large tree. These bounds keep loading linear; real trees are far smaller.
constexpr int kMaxRouteDepth = 32;
constexpr int kMaxRoutes = 10'000;

/// Texts quoted in messages are cut here, so a huge value cannot flood a log line.
constexpr size_t kMaxQuoted = 64;

constexpr std::string_view kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
constexpr std::string_view kFormats[] = {"alertmanager", "slack", "pagerduty"};

/// Label names the agent sets itself on every per-target series (SPEC §3); a target label with
/// one of these names would silently overwrite it.
constexpr std::string_view kReservedTargetLabels[] = {"target", "pool", "url"};

std::string quote(std::string_view s) {
  if (s.size() > kMaxQuoted) return fmt::format("{:?}...", s.substr(0, kMaxQuoted));
  return fmt::format("{:?}", s);
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar: return quote(n.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

std::string child(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

std::string item(std::string_view path, size_t i) { return fmt::format("{}[{}]", path, i); }

std::string inWhere(std::string_view path) {
  return path.empty() ? std::string("at top level") : fmt::format("in {}", path);
}

/// 80% of the interval, capped, computed without overflowing for huge intervals.
Duration defaultTimeout(Duration interval) {
  int64_t ms = interval.count() / 5 * 4 + interval.count() % 5 * 4 / 5;
  return std::max(Duration{1}, std::min(kMaxDefaultTimeout, Duration{ms}));
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

/// True for "http://host[:port][/...]" and "https://...": a scheme we can probe and a non-empty
/// host. Deliberately small: libcurl does the real parsing; this catches typos at load time.
bool isHttpUrl(std::string_view url) {
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return false;
  std::string_view scheme = url.substr(0, sep);
  if (!equalsIgnoreCase(scheme, "http") && !equalsIgnoreCase(scheme, "https")) return false;
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  std::string_view rest = url.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
  } else if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (host.empty()) return false;
  if (!port.empty()) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) return false;
  }
  return true;
}

/// RFC 9110 token characters: what a header field name may contain.
bool isHeaderName(std::string_view name) {
  if (name.empty()) return false;
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kExtra.find(c) != std::string_view::npos;
  });
}

/// Parses "200", "200-399" or "2xx" (the caller handles YAML integers through the same text).
std::optional<StatusRange> parseStatusText(std::string_view s) {
  auto number = [](std::string_view t) -> std::optional<int> {
    if (t.empty() || t.size() > 6) return std::nullopt;
    int v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
    return v;
  };
  if (s.size() == 3 && s[0] >= '1' && s[0] <= '9' && (s.substr(1) == "xx" || s.substr(1) == "XX")) {
    int base = (s[0] - '0') * 100;
    return StatusRange{base, base + 99};
  }
  if (size_t dash = s.find('-'); dash != std::string_view::npos && dash > 0) {
    auto lo = number(s.substr(0, dash));
    auto hi = number(s.substr(dash + 1));
    if (!lo || !hi) return std::nullopt;
    return StatusRange{*lo, *hi};
  }
  auto v = number(s);
  if (!v) return std::nullopt;
  return StatusRange{*v, *v};
}

std::string joinPath(const std::string& baseDir, const std::string& path) {
  if (path.empty() || path.front() == '/' || baseDir.empty()) return path;
  if (baseDir.back() == '/') return baseDir + path;
  return baseDir + "/" + path;
}

/// One receiver name used somewhere in the routing tree, checked once all receivers are known.
struct ReceiverUse {
  std::string name;
  YAML::Node node;
  std::string path;
};

/// Walks the YAML tree once, filling a Config and recording every problem with its position.
/// Decoding continues after an error so that unrelated parts are still checked, but only the
/// first error is reported: later ones may be consequences of it.
class Decoder {
 public:
  Decoder(const std::string& file, const std::string& baseDir) : file_(file), baseDir_(baseDir) {}

  Config decode(const YAML::Node& root);
  const std::vector<Error>& errors() const { return errors_; }

 private:
  using FieldFn = std::function<void(const std::string& key, const YAML::Node& value)>;

  void failAt(const YAML::Mark& mark, std::string message) {
    const YAML::Mark& m = mark.is_null() ? fallback_ : mark;
    if (m.is_null()) {
      errors_.push_back(Error{std::move(message), file_, 0, 0});
    } else {
      errors_.push_back(Error{std::move(message), file_, m.line + 1, m.column + 1});
    }
  }
  void fail(const YAML::Node& at, std::string message) { failAt(at.Mark(), std::move(message)); }

  Position position(const YAML::Node& n) const {
    YAML::Mark m = n.Mark().is_null() ? fallback_ : n.Mark();
    if (m.is_null()) return Position{file_, 0, 0};
    return Position{file_, m.line + 1, m.column + 1};
  }

  bool fields(const YAML::Node& node, std::string_view path,
              std::initializer_list<std::string_view> known, const FieldFn& fn);
  bool isList(const YAML::Node& node, std::string_view path);

  std::optional<std::string> str(const YAML::Node& v, std::string_view path);
  std::optional<std::string> nonEmptyStr(const YAML::Node& v, std::string_view path);
  std::optional<Duration> duration(const YAML::Node& v, std::string_view path);
  std::optional<Duration> positiveDuration(const YAML::Node& v, std::string_view path);
  std::optional<bool> boolean(const YAML::Node& v, std::string_view path);
  std::optional<int64_t> integer(const YAML::Node& v, std::string_view path, int64_t min,
                                 int64_t max);
  std::optional<std::string> url(const YAML::Node& v, std::string_view path, bool secret = false);
  std::optional<std::string> readableFile(const YAML::Node& v, std::string_view path);
  Labels labels(const YAML::Node& v, std::string_view path, bool targetLabels);

  void global(const YAML::Node& n, Global& g);
  void pools(const YAML::Node& n, std::vector<Pool>& out);
  void targets(const YAML::Node& n, const Config& c, std::vector<Target>& out);
  std::optional<HttpCheck> httpCheck(const YAML::Node& n, std::string_view path);
  std::optional<MemoryCheck> memory(const YAML::Node& n, std::string_view path);
  TlsConfig tls(const YAML::Node& n, std::string_view path);
  void ruleFiles(const YAML::Node& n, Config& c);
  void alerting(const YAML::Node& n, const YAML::Mark& keyMark, Alerting& a);
  std::optional<Receiver> receiver(const YAML::Node& n, std::string_view path);
  Route route(const YAML::Node& n, std::string_view path, int depth);

  std::string file_;
  std::string baseDir_;
  std::vector<Error> errors_;
  YAML::Mark fallback_ = YAML::Mark::null_mark();
  bool globalTimeoutSet_ = false;
  YAML::Mark globalTimeoutMark_ = YAML::Mark::null_mark();
  int routeCount_ = 0;
  std::vector<ReceiverUse> receiverUses_;
};

bool Decoder::fields(const YAML::Node& node, std::string_view path,
                     std::initializer_list<std::string_view> known, const FieldFn& fn) {
  if (node.IsNull()) return true;
  if (!node.IsMap()) {
    fail(node, fmt::format("{}: expected a map, got {}", path.empty() ? "config" : path,
                           describe(node)));
    return false;
  }
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // yaml-cpp's iterator hands out a proxy: copy the (cheap, shared) nodes out of it.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      fail(key, fmt::format("expected a field name {}, got {}", inWhere(path), describe(key)));
      continue;
    }
    const std::string& name = key.Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      fail(key, fmt::format("unknown field {} {}", quote(name), inWhere(path)));
      continue;
    }
    if (!seen.insert(name).second) {
      fail(key, fmt::format("duplicate field {} {}", quote(name), inWhere(path)));
      continue;
    }
    // A value that is absent ("key:") has no mark of its own in some yaml-cpp paths; errors
    // about it then point at its key.
    YAML::Mark saved = fallback_;
    fallback_ = key.Mark();
    fn(name, value);
    fallback_ = saved;
  }
  return true;
}

bool Decoder::isList(const YAML::Node& node, std::string_view path) {
  if (node.IsSequence()) return true;
  if (!node.IsNull()) fail(node, fmt::format("{}: expected a list, got {}", path, describe(node)));
  return false;
}

std::optional<std::string> Decoder::str(const YAML::Node& v, std::string_view path) {
  if (v.IsNull()) return std::nullopt;
  if (!v.IsScalar()) {
    fail(v, fmt::format("{}: expected a string, got {}", path, describe(v)));
    return std::nullopt;
  }
  return v.Scalar();
}

std::optional<std::string> Decoder::nonEmptyStr(const YAML::Node& v, std::string_view path) {
  auto s = str(v, path);
  if (s && s->empty()) {
    fail(v, fmt::format("{}: must not be empty", path));
    return std::nullopt;
  }
  return s;
}

std::optional<Duration> Decoder::duration(const YAML::Node& v, std::string_view path) {
  if (v.IsNull()) return std::nullopt;
  std::optional<Duration> d;
  if (v.IsScalar()) d = parseDuration(v.Scalar());
  if (!d) fail(v, fmt::format("{}: expected a duration like 5s, got {}", path, describe(v)));
  return d;
}

std::optional<Duration> Decoder::positiveDuration(const YAML::Node& v, std::string_view path) {
  auto d = duration(v, path);
  if (d && d->count() <= 0) {
    fail(v, fmt::format("{}: must be greater than 0", path));
    return std::nullopt;
  }
  return d;
}

std::optional<bool> Decoder::boolean(const YAML::Node& v, std::string_view path) {
  if (v.IsNull()) return std::nullopt;
  if (v.IsScalar()) {
    const std::string& s = v.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  fail(v, fmt::format("{}: expected true or false, got {}", path, describe(v)));
  return std::nullopt;
}

std::optional<int64_t> Decoder::integer(const YAML::Node& v, std::string_view path, int64_t min,
                                        int64_t max) {
  if (v.IsNull()) return std::nullopt;
  int64_t n = 0;
  bool ok = false;
  if (v.IsScalar()) {
    std::string_view s = v.Scalar();
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    ok = ec == std::errc() && end == s.data() + s.size() && !s.empty();
  }
  if (!ok) {
    fail(v, fmt::format("{}: expected an integer, got {}", path, describe(v)));
    return std::nullopt;
  }
  if (n < min || n > max) {
    // Bounds near the integer limits are technical, not meaningful: name only the real one.
    if (max >= INT_MAX) {
      fail(v, fmt::format("{}: must be at least {}, got {}", path, min, n));
      if (n > max) errors_.back().message = fmt::format("{}: must be at most {}, got {}", path, max, n);
    } else {
      fail(v, fmt::format("{}: must be between {} and {}, got {}", path, min, max, n));
    }
    return std::nullopt;
  }
  return n;
}

std::optional<std::string> Decoder::url(const YAML::Node& v, std::string_view path, bool secret) {
  auto s = str(v, path);
  if (!s) return std::nullopt;
  if (!isHttpUrl(*s)) {
    // Webhook URLs often embed a token (Slack, PagerDuty): never echo them (STYLE rule 14).
    fail(v, fmt::format("{}: expected an http:// or https:// URL with a host{}", path,
                        secret ? "" : ", got " + quote(*s)));
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> Decoder::readableFile(const YAML::Node& v, std::string_view path) {
  auto s = nonEmptyStr(v, path);
  if (!s) return std::nullopt;
  std::string resolved = joinPath(baseDir_, *s);
  // stat() first: opening a device or FIFO named by mistake can have side effects or block.
  struct stat st {};
  if (::stat(resolved.c_str(), &st) != 0) {
    int err = errno;
    fail(v, fmt::format("{}: cannot read {}: {}", path, quote(resolved), std::strerror(err)));
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    fail(v, fmt::format("{}: {} is not a regular file", path, quote(resolved)));
    return std::nullopt;
  }
  // Then opened, not just stat()ed, so permission problems show now and not at first use.
  int fd = ::open(resolved.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    fail(v, fmt::format("{}: cannot read {}: {}", path, quote(resolved), std::strerror(err)));
    return std::nullopt;
  }
  ::close(fd);
  return resolved;
}

Labels Decoder::labels(const YAML::Node& v, std::string_view path, bool targetLabels) {
  Labels out;
  if (v.IsNull()) return out;
  if (!v.IsMap()) {
    fail(v, fmt::format("{}: expected a map, got {}", path, describe(v)));
    return out;
  }
  std::set<std::string> seen;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      fail(key, fmt::format("{}: expected a label name, got {}", path, describe(key)));
      continue;
    }
    const std::string& name = key.Scalar();
    if (!isValidLabelName(name)) {
      fail(key, fmt::format("{}: invalid label name {}", path, quote(name)));
      continue;
    }
    if (name.starts_with("__")) {
      fail(key, fmt::format("{}: label name {} is reserved (starts with __)", path, quote(name)));
      continue;
    }
    if (targetLabels && std::find(std::begin(kReservedTargetLabels), std::end(kReservedTargetLabels),
                                  name) != std::end(kReservedTargetLabels)) {
      fail(key, fmt::format("{}: label name {} is set by vigil itself", path, quote(name)));
      continue;
    }
    if (!seen.insert(name).second) {
      fail(key, fmt::format("{}: duplicate label {}", path, quote(name)));
      continue;
    }
    YAML::Mark saved = fallback_;
    fallback_ = key.Mark();
    if (auto text = str(value, child(path, name))) out.push_back(Label{name, *text});
    fallback_ = saved;
  }
  normalize(out);
  return out;
}

Config Decoder::decode(const YAML::Node& root) {
  Config c;
  c.file = file_;
  std::optional<YAML::Node> globalNode, poolsNode, targetsNode, rulesNode, alertingNode;
  YAML::Mark alertingMark = YAML::Mark::null_mark();
  if (!fields(root, "", {"global", "pools", "targets", "rule_files", "alerting"},
              [&](const std::string& key, const YAML::Node& v) {
                if (key == "global") globalNode.emplace(v);
                if (key == "pools") poolsNode.emplace(v);
                if (key == "targets") targetsNode.emplace(v);
                if (key == "rule_files") rulesNode.emplace(v);
                if (key == "alerting") {
                  alertingNode.emplace(v);
                  alertingMark = fallback_;
                }
              })) {
    return c;
  }
  // Sections are decoded in dependency order, whatever their order in the file: targets
  // inherit from global and refer to pools; routes refer to receivers.
  if (globalNode) {
    global(*globalNode, c.global);
  } else {
    c.global.timeout = defaultTimeout(c.global.interval);
  }
  if (poolsNode) pools(*poolsNode, c.pools);
  if (targetsNode) targets(*targetsNode, c, c.targets);
  if (rulesNode) ruleFiles(*rulesNode, c);
  if (alertingNode) alerting(*alertingNode, alertingMark, c.alerting);
  return c;
}

void Decoder::global(const YAML::Node& n, Global& g) {
  std::optional<Duration> interval, timeout;
  std::optional<YAML::Node> timeoutNode;
  fields(n, "global",
         {"interval", "timeout", "evaluation_interval", "external_labels", "state_dir"},
         [&](const std::string& key, const YAML::Node& v) {
           if (key == "interval") interval = positiveDuration(v, "global.interval");
           if (key == "timeout") {
             timeout = positiveDuration(v, "global.timeout");
             timeoutNode.emplace(v);
             globalTimeoutMark_ = v.Mark().is_null() ? fallback_ : v.Mark();
           }
           if (key == "evaluation_interval") {
             if (auto d = positiveDuration(v, "global.evaluation_interval")) {
               g.evaluationInterval = *d;
             }
           }
           if (key == "external_labels") {
             g.externalLabels = labels(v, "global.external_labels", false);
           }
           if (key == "state_dir") {
             if (auto s = nonEmptyStr(v, "global.state_dir")) g.stateDir = *s;
           }
         });
  g.interval = interval.value_or(kDefaultInterval);
  if (timeout) {
    g.timeout = *timeout;
    globalTimeoutSet_ = true;
    if (g.timeout >= g.interval) {
      failAt(globalTimeoutMark_,
             fmt::format("global: timeout {} must be less than interval {}",
                         formatDuration(g.timeout), formatDuration(g.interval)));
    }
  } else {
    g.timeout = defaultTimeout(g.interval);
  }
}

void Decoder::pools(const YAML::Node& n, std::vector<Pool>& out) {
  if (!isList(n, "pools")) return;
  std::map<std::string, Position> names;
  size_t i = 0;
  for (auto it = n.begin(); it != n.end(); ++it, ++i) {
    const YAML::Node node = *it;
    std::string path = item("pools", i);
    Pool p;
    p.position = position(node);
    std::optional<YAML::Node> nameNode;
    bool ok = fields(node, path, {"name", "min_in_rotation", "frontend", "load_balancer"},
                     [&](const std::string& key, const YAML::Node& v) {
      std::string sub = child(path, key);
      if (key == "name") {
        nameNode.emplace(v);
        if (auto s = nonEmptyStr(v, sub)) p.name = *s;
      }
      if (key == "min_in_rotation") {
        if (auto m = integer(v, sub, 0, INT_MAX)) p.minInRotation = static_cast<int>(*m);
      }
      if (key == "frontend") {
        if (auto u = url(v, sub)) p.frontend = *u;
      }
      if (key == "load_balancer") {
        LoadBalancer lb;
        bool haveStats = false, haveBackend = false;
        if (v.IsNull() || !fields(v, sub, {"haproxy_stats", "backend"},
                                  [&](const std::string& k, const YAML::Node& lv) {
                                    if (k == "haproxy_stats") {
                                      haveStats = true;
                                      if (auto u = url(lv, child(sub, k))) lb.haproxyStats = *u;
                                    }
                                    if (k == "backend") {
                                      haveBackend = true;
                                      if (auto s = nonEmptyStr(lv, child(sub, k))) lb.backend = *s;
                                    }
                                  })) {
          if (v.IsNull()) fail(v, fmt::format("{}: expected a map, got nothing", sub));
          return;
        }
        if (!haveStats) {
          fail(v, fmt::format("missing required field \"haproxy_stats\" in {}", sub));
        } else if (!haveBackend) {
          fail(v, fmt::format("missing required field \"backend\" in {}", sub));
        }
        p.loadBalancer = lb;
      }
    });
    if (!ok || node.IsNull()) {
      if (node.IsNull()) fail(node, fmt::format("{}: expected a map, got nothing", path));
      continue;
    }
    if (!nameNode) {
      fail(node, fmt::format("missing required field \"name\" in {}", path));
      continue;
    }
    if (p.name.empty()) continue;
    auto [prev, inserted] = names.emplace(p.name, position(*nameNode));
    if (!inserted) {
      fail(*nameNode, fmt::format("duplicate pool name {} (first defined at {}:{})", quote(p.name),
                                  prev->second.line, prev->second.column));
      continue;
    }
    out.push_back(std::move(p));
  }
}

TlsConfig Decoder::tls(const YAML::Node& n, std::string_view path) {
  TlsConfig t;
  std::optional<YAML::Node> certNode, keyNode;
  bool ok = fields(n, path,
                   {"insecure_skip_verify", "ca_file", "cert_file", "key_file", "server_name"},
                   [&](const std::string& key, const YAML::Node& v) {
    std::string sub = child(path, key);
    if (key == "insecure_skip_verify") {
      if (auto b = boolean(v, sub)) t.insecureSkipVerify = *b;
    }
    if (key == "ca_file") {
      if (auto f = readableFile(v, sub)) t.caFile = *f;
    }
    if (key == "cert_file") {
      certNode.emplace(v);
      if (auto f = readableFile(v, sub)) t.certFile = *f;
    }
    if (key == "key_file") {
      keyNode.emplace(v);
      if (auto f = readableFile(v, sub)) t.keyFile = *f;
    }
    if (key == "server_name") {
      if (auto s = str(v, sub)) t.serverName = *s;
    }
  });
  if (ok && certNode.has_value() != keyNode.has_value()) {
    fail(certNode ? *certNode : *keyNode,
         fmt::format("{}: cert_file and key_file must be set together", path));
  }
  return t;
}

std::optional<HttpCheck> Decoder::httpCheck(const YAML::Node& n, std::string_view path) {
  HttpCheck h;
  h.position = position(n);
  bool haveUrl = false;
  bool ok = fields(n, path,
                   {"url", "expect_status", "timeout", "method", "headers", "body_must_contain",
                    "body", "tls", "follow_redirects", "max_redirects", "max_body_bytes",
                    "max_header_bytes"},
                   [&](const std::string& key, const YAML::Node& v) {
    std::string sub = child(path, key);
    if (key == "url") {
      haveUrl = true;
      if (auto u = url(v, sub)) h.url = *u;
    }
    if (key == "expect_status") {
      if (v.IsNull()) return;
      std::vector<YAML::Node> items;
      if (v.IsScalar()) {
        items.push_back(v);
      } else if (isList(v, sub)) {
        for (auto it = v.begin(); it != v.end(); ++it) items.push_back(*it);
        if (items.empty()) fail(v, fmt::format("{}: must not be empty", sub));
      } else {
        return;
      }
      std::vector<StatusRange> ranges;
      for (size_t i = 0; i < items.size(); ++i) {
        const YAML::Node& s = items[i];
        std::string ip = v.IsScalar() ? sub : item(sub, i);
        std::optional<StatusRange> r;
        if (s.IsScalar()) r = parseStatusText(s.Scalar());
        if (!r) {
          fail(s, fmt::format("{}: expected a status like 200, 200-399 or 2xx, got {}", ip,
                              describe(s)));
          continue;
        }
        if (r->low < 100 || r->low > 599 || r->high < 100 || r->high > 599) {
          fail(s, fmt::format("{}: status codes must be between 100 and 599, got {}", ip,
                              describe(s)));
          continue;
        }
        if (r->low > r->high) {
          fail(s, fmt::format("{}: range {} is backwards (low is greater than high)", ip,
                              describe(s)));
          continue;
        }
        ranges.push_back(*r);
      }
      if (!ranges.empty()) h.expectStatus = ranges;
    }
    if (key == "timeout") {
      if (auto d = positiveDuration(v, sub)) h.timeout = *d;
    }
    if (key == "method") {
      if (auto m = str(v, sub)) {
        if (std::find(std::begin(kMethods), std::end(kMethods), *m) == std::end(kMethods)) {
          fail(v, fmt::format("{}: unsupported method {} (expected one of GET, HEAD, POST, PUT, "
                              "DELETE, OPTIONS, PATCH)",
                              sub, quote(*m)));
        } else {
          h.method = *m;
        }
      }
    }
    if (key == "headers") {
      if (v.IsNull()) return;
      if (!v.IsMap()) {
        fail(v, fmt::format("{}: expected a map, got {}", sub, describe(v)));
        return;
      }
      for (auto it = v.begin(); it != v.end(); ++it) {
        const YAML::Node hk = it->first;
        const YAML::Node hvNode = it->second;
        if (!hk.IsScalar() || !isHeaderName(hk.Scalar())) {
          fail(hk, fmt::format("{}: invalid header name {}", sub, describe(hk)));
          continue;
        }
        YAML::Mark saved = fallback_;
        fallback_ = hk.Mark();
        auto hv = str(hvNode, child(sub, hk.Scalar()));
        fallback_ = saved;
        if (!hv) {
          if (hvNode.IsNull()) h.headers.emplace_back(hk.Scalar(), "");
          continue;
        }
        if (hv->find_first_of("\r\n") != std::string::npos || hv->find('\0') != std::string::npos) {
          fail(hvNode, fmt::format("{}: value of header {} contains a line break or NUL", sub,
                                       quote(hk.Scalar())));
          continue;
        }
        h.headers.emplace_back(hk.Scalar(), *hv);
      }
    }
    if (key == "body_must_contain") {
      if (auto s = nonEmptyStr(v, sub)) h.bodyMustContain = *s;
    }
    if (key == "body") {
      if (auto s = str(v, sub)) h.body = *s;
    }
    if (key == "tls") h.tls = tls(v, sub);
    if (key == "follow_redirects") {
      if (auto b = boolean(v, sub)) h.followRedirects = *b;
    }
    if (key == "max_redirects") {
      if (auto m = integer(v, sub, 0, 1000)) h.maxRedirects = static_cast<int>(*m);
    }
    if (key == "max_body_bytes") {
      if (auto m = integer(v, sub, 1, INT64_MAX)) h.maxBodyBytes = *m;
    }
    if (key == "max_header_bytes") {
      if (auto m = integer(v, sub, 1, INT64_MAX)) h.maxHeaderBytes = *m;
    }
  });
  if (!ok) return std::nullopt;
  if (n.IsNull()) {
    fail(n, fmt::format("{}: expected a map, got nothing", path));
    return std::nullopt;
  }
  if (!haveUrl) {
    fail(n, fmt::format("missing required field \"url\" in {}", path));
    return std::nullopt;
  }
  return h;
}

std::optional<MemoryCheck> Decoder::memory(const YAML::Node& n, std::string_view path) {
  MemoryCheck m;
  m.position = position(n);
  int sources = 0;
  std::optional<YAML::Node> extraSource;
  auto countSource = [&](const YAML::Node& v) {
    if (++sources == 2) extraSource.emplace(v);
  };
  bool ok = fields(n, path, {"ssh", "node_exporter", "local"},
                   [&](const std::string& key, const YAML::Node& v) {
    std::string sub = child(path, key);
    if (key == "ssh") {
      countSource(v);
      m.source = MemoryCheck::Source::kSsh;
      bool haveHost = false;
      bool sshOk = fields(v, sub, {"host", "port", "user", "identity_file", "known_hosts", "command"},
                          [&](const std::string& k, const YAML::Node& sv) {
        std::string ssub = child(sub, k);
        if (k == "host") {
          haveHost = true;
          if (auto s = nonEmptyStr(sv, ssub)) m.ssh.host = *s;
        }
        if (k == "port") {
          if (auto p = integer(sv, ssub, 1, 65535)) m.ssh.port = static_cast<int>(*p);
        }
        if (k == "user") {
          if (auto s = str(sv, ssub)) m.ssh.user = *s;
        }
        if (k == "identity_file") {
          if (auto f = readableFile(sv, ssub)) m.ssh.identityFile = *f;
        }
        if (k == "known_hosts") {
          if (auto f = readableFile(sv, ssub)) m.ssh.knownHosts = *f;
        }
        if (k == "command") {
          if (auto s = nonEmptyStr(sv, ssub)) m.ssh.command = *s;
        }
      });
      if (sshOk && !haveHost) fail(v, fmt::format("missing required field \"host\" in {}", sub));
    }
    if (key == "node_exporter") {
      countSource(v);
      m.source = MemoryCheck::Source::kNodeExporter;
      if (auto u = url(v, sub)) m.nodeExporter = *u;
      else if (v.IsNull()) fail(v, fmt::format("{}: expected a URL, got nothing", sub));
    }
    if (key == "local") {
      auto b = boolean(v, sub);
      if (b && *b) {
        countSource(v);
        m.source = MemoryCheck::Source::kLocal;
      }
    }
  });
  if (!ok) return std::nullopt;
  if (sources != 1) {
    fail(extraSource ? *extraSource : n,
         fmt::format("{}: needs exactly one of ssh, node_exporter or local: true", path));
    return std::nullopt;
  }
  return m;
}

void Decoder::targets(const YAML::Node& n, const Config& c, std::vector<Target>& out) {
  if (!isList(n, "targets")) return;
  std::set<std::string> poolNames;
  for (const Pool& p : c.pools) poolNames.insert(p.name);
  std::map<std::string, Position> names;
  size_t i = 0;
  for (auto it = n.begin(); it != n.end(); ++it, ++i) {
    const YAML::Node node = *it;
    std::string path = item("targets", i);
    Target t;
    t.position = position(node);
    std::optional<YAML::Node> nameNode, intervalNode, timeoutNode, haproxyNode;
    std::optional<Duration> interval, timeout;
    std::vector<std::pair<HttpCheck, YAML::Node>> checks;
    bool ok = fields(node, path,
                     {"name", "pool", "interval", "timeout", "labels", "haproxy_server", "http",
                      "memory"},
                     [&](const std::string& key, const YAML::Node& v) {
      std::string sub = child(path, key);
      if (key == "name") {
        nameNode.emplace(v);
        if (auto s = nonEmptyStr(v, sub)) t.name = *s;
      }
      if (key == "pool") {
        if (auto s = nonEmptyStr(v, sub)) {
          if (!poolNames.contains(*s)) {
            fail(v, fmt::format("{}: undefined pool {}", sub, quote(*s)));
          } else {
            t.pool = *s;
          }
        }
      }
      if (key == "interval") {
        interval = positiveDuration(v, sub);
        if (interval) intervalNode.emplace(v);
      }
      if (key == "timeout") {
        timeout = positiveDuration(v, sub);
        if (timeout) timeoutNode.emplace(v);
      }
      if (key == "labels") t.labels = labels(v, sub, true);
      if (key == "haproxy_server") {
        haproxyNode.emplace(v);
        if (auto s = nonEmptyStr(v, sub)) t.haproxyServer = *s;
      }
      if (key == "http") {
        if (!isList(v, sub)) return;
        size_t j = 0;
        for (auto hit = v.begin(); hit != v.end(); ++hit, ++j) {
          if (auto h = httpCheck(*hit, item(sub, j))) checks.emplace_back(std::move(*h), *hit);
        }
      }
      if (key == "memory") {
        if (v.IsNull()) return;
        t.memory = memory(v, sub);
      }
    });
    if (!ok || node.IsNull()) {
      if (node.IsNull()) fail(node, fmt::format("{}: expected a map, got nothing", path));
      continue;
    }
    if (!nameNode) {
      fail(node, fmt::format("missing required field \"name\" in {}", path));
      continue;
    }
    if (haproxyNode && t.pool.empty()) {
      fail(*haproxyNode, fmt::format("{}.haproxy_server: set on a target that is in no pool", path));
    }

    t.interval = interval.value_or(c.global.interval);
    if (timeout) {
      t.timeout = *timeout;
    } else if (globalTimeoutSet_) {
      // Like Prometheus with scrape_timeout: an inherited timeout that does not fit a shorter
      // target interval is shortened to fit (here to the default 80%), not an error.
      t.timeout = c.global.timeout < t.interval ? c.global.timeout : defaultTimeout(t.interval);
    } else {
      t.timeout = defaultTimeout(t.interval);
    }
    // When neither value is set here the global check has already reported the problem.
    if (t.timeout >= t.interval && (timeoutNode || intervalNode)) {
      fail(timeoutNode ? *timeoutNode : *intervalNode,
           fmt::format("{}: timeout {}{} must be less than interval {}", path,
                       formatDuration(t.timeout), timeout ? "" : " (from global.timeout)",
                       formatDuration(t.interval)));
    }
    for (size_t j = 0; j < checks.size(); ++j) {
      HttpCheck& h = checks[j].first;
      if (h.timeout.count() > 0 && h.timeout >= t.interval) {
        fail(checks[j].second,
             fmt::format("{}.http[{}]: timeout {} must be less than the target's interval {}",
                         path, j, formatDuration(h.timeout), formatDuration(t.interval)));
      }
      t.http.push_back(std::move(h));
    }

    if (t.name.empty()) continue;
    auto [prev, inserted] = names.emplace(t.name, position(*nameNode));
    if (!inserted) {
      fail(*nameNode, fmt::format("duplicate target name {} (first defined at {}:{})",
                                  quote(t.name), prev->second.line, prev->second.column));
      continue;
    }
    out.push_back(std::move(t));
  }
}

void Decoder::ruleFiles(const YAML::Node& n, Config& c) {
  if (!isList(n, "rule_files")) return;
  std::set<std::string> paths;
  size_t i = 0;
  for (auto it = n.begin(); it != n.end(); ++it, ++i) {
    std::string path = item("rule_files", i);
    auto pattern = nonEmptyStr(*it, path);
    if (!pattern) {
      if (it->IsNull()) fail(*it, fmt::format("{}: expected a file name or pattern, got nothing", path));
      continue;
    }
    c.ruleFiles.push_back(*pattern);
    std::string full = joinPath(baseDir_, *pattern);
    glob_t g{};
    // GLOB_MARK appends '/' to directories so they can be skipped: only files hold rules.
    int rc = ::glob(full.c_str(), GLOB_MARK, nullptr, &g);
    size_t matched = 0;
    if (rc == 0) {
      for (size_t k = 0; k < g.gl_pathc; ++k) {
        std::string p = g.gl_pathv[k];
        if (p.empty() || p.back() == '/') continue;
        paths.insert(p);
        ++matched;
      }
    }
    ::globfree(&g);
    if (rc == GLOB_NOSPACE || rc == GLOB_ABORTED) {
      fail(*it, fmt::format("{}: cannot expand pattern {}", path, quote(*pattern)));
    } else if (matched == 0) {
      fail(*it, fmt::format("{}: pattern {} matches no file", path, quote(*pattern)));
    }
  }
  c.ruleFilePaths.assign(paths.begin(), paths.end());
}

std::optional<Receiver> Decoder::receiver(const YAML::Node& n, std::string_view path) {
  Receiver r;
  r.position = position(n);
  bool haveName = false;
  int kinds = 0;
  std::optional<YAML::Node> extraKind;
  bool ok = fields(n, path, {"name", "webhook", "console"},
                   [&](const std::string& key, const YAML::Node& v) {
    std::string sub = child(path, key);
    if (key == "name") {
      haveName = true;
      if (auto s = nonEmptyStr(v, sub)) r.name = *s;
    }
    if (key == "console") {
      if (++kinds == 2) extraKind.emplace(v);
      // `console: {}` and a bare `console:` both mean "print to stdout"; it has no options yet.
      fields(v, sub, {}, [](const std::string&, const YAML::Node&) {});
      r.console = true;
    }
    if (key == "webhook") {
      if (++kinds == 2) extraKind.emplace(v);
      Webhook w;
      bool haveUrl = false;
      bool wok = fields(v, sub,
                        {"url", "format", "bearer_token_file", "hmac_secret_file",
                         "routing_key_file", "timeout", "send_resolved", "tls"},
                        [&](const std::string& k, const YAML::Node& wv) {
        std::string wsub = child(sub, k);
        if (k == "url") {
          haveUrl = true;
          if (auto u = url(wv, wsub, true)) w.url = *u;
        }
        if (k == "format") {
          if (auto f = str(wv, wsub)) {
            if (std::find(std::begin(kFormats), std::end(kFormats), *f) == std::end(kFormats)) {
              fail(wv, fmt::format("{}: unknown format {} (expected alertmanager, slack or "
                                   "pagerduty)",
                                   wsub, quote(*f)));
            } else {
              w.format = *f;
            }
          }
        }
        if (k == "bearer_token_file") {
          if (auto f = readableFile(wv, wsub)) w.bearerTokenFile = *f;
        }
        if (k == "hmac_secret_file") {
          if (auto f = readableFile(wv, wsub)) w.hmacSecretFile = *f;
        }
        if (k == "routing_key_file") {
          if (auto f = readableFile(wv, wsub)) w.routingKeyFile = *f;
        }
        if (k == "timeout") {
          if (auto d = positiveDuration(wv, wsub)) w.timeout = *d;
        }
        if (k == "send_resolved") {
          if (auto b = boolean(wv, wsub)) w.sendResolved = *b;
        }
        if (k == "tls") {
          w.tls = tls(wv, wsub);
          if (!w.tls.serverName.empty()) {
            // Not silently ignored: a webhook's TLS name is its URL's host.
            fail(wv["server_name"], fmt::format("{}: server_name is only supported for http "
                                                "checks; a webhook's TLS name is its URL's host",
                                                child(wsub, "server_name")));
          }
        }
      });
      if (v.IsNull()) {
        fail(v, fmt::format("{}: expected a map, got nothing", sub));
      } else if (wok && !haveUrl) {
        fail(v, fmt::format("missing required field \"url\" in {}", sub));
      } else if (wok && w.format == "pagerduty" && w.routingKeyFile.empty()) {
        // PagerDuty rejects an event without one: say so now, not when the first page fails.
        fail(v, fmt::format("{}: format pagerduty needs routing_key_file (a file holding the "
                            "Events API v2 integration key)",
                            sub));
      } else if (wok && w.format != "pagerduty" && !w.routingKeyFile.empty()) {
        fail(v["routing_key_file"],
             fmt::format("{}: routing_key_file is only used with format: pagerduty",
                         child(sub, "routing_key_file")));
      }
      r.webhook = w;
    }
  });
  if (!ok) return std::nullopt;
  if (n.IsNull()) {
    fail(n, fmt::format("{}: expected a map, got nothing", path));
    return std::nullopt;
  }
  if (!haveName) {
    fail(n, fmt::format("missing required field \"name\" in {}", path));
    return std::nullopt;
  }
  if (kinds != 1) {
    fail(extraKind ? *extraKind : n, fmt::format("{}: needs exactly one of webhook or console", path));
    return std::nullopt;
  }
  return r;
}

Route Decoder::route(const YAML::Node& n, std::string_view path, int depth) {
  Route r;
  r.position = position(n);
  if (++routeCount_ > kMaxRoutes) {
    if (routeCount_ == kMaxRoutes + 1) {
      fail(n, fmt::format("{}: the routing tree has more than {} routes", path, kMaxRoutes));
    }
    return r;
  }
  if (depth > kMaxRouteDepth) {
    fail(n, fmt::format("{}: routes nested deeper than {} levels", path, kMaxRouteDepth));
    return r;
  }
  fields(n, path,
         {"receiver", "group_by", "group_wait", "group_interval", "repeat_interval", "matchers",
          "continue", "routes"},
         [&](const std::string& key, const YAML::Node& v) {
    std::string sub = child(path, key);
    if (key == "receiver") {
      if (auto s = nonEmptyStr(v, sub)) {
        r.receiver = *s;
        receiverUses_.push_back(ReceiverUse{*s, v, sub});
      }
    }
    if (key == "group_by") {
      if (!isList(v, sub)) return;
      std::set<std::string> seen;
      size_t i = 0;
      for (auto it = v.begin(); it != v.end(); ++it, ++i) {
        std::string ip = item(sub, i);
        auto s = nonEmptyStr(*it, ip);
        if (!s) continue;
        if (*s != "..." && !isValidLabelName(*s)) {
          fail(*it, fmt::format("{}: invalid label name {}", ip, quote(*s)));
          continue;
        }
        if (!seen.insert(*s).second) {
          fail(*it, fmt::format("{}: duplicate label {}", ip, quote(*s)));
          continue;
        }
        r.groupBy.push_back(*s);
      }
      if (seen.contains("...") && seen.size() > 1) {
        fail(v, fmt::format("{}: \"...\" (every label) cannot be combined with other labels", sub));
      }
    }
    if (key == "group_wait") r.groupWait = duration(v, sub);
    if (key == "group_interval") r.groupInterval = positiveDuration(v, sub);
    if (key == "repeat_interval") r.repeatInterval = positiveDuration(v, sub);
    if (key == "matchers") {
      if (depth == 0 && !v.IsNull()) {
        fail(v, fmt::format("{}: the root route must not have matchers", sub));
        return;
      }
      if (!isList(v, sub)) return;
      size_t i = 0;
      for (auto it = v.begin(); it != v.end(); ++it, ++i) {
        std::string ip = item(sub, i);
        auto s = str(*it, ip);
        if (!s) {
          if (it->IsNull()) fail(*it, fmt::format("{}: expected a matcher, got nothing", ip));
          continue;
        }
        auto parsed = parseMatchers(*s);
        if (!parsed) {
          fail(*it, fmt::format("{}: {}", ip, parsed.error().message));
          continue;
        }
        r.matchers.push_back(*s);
        for (Matcher& m : *parsed) r.parsedMatchers.push_back(std::move(m));
      }
    }
    if (key == "continue") {
      if (auto b = boolean(v, sub)) r.continueMatching = *b;
    }
    if (key == "routes") {
      if (!isList(v, sub)) return;
      size_t i = 0;
      for (auto it = v.begin(); it != v.end() && routeCount_ <= kMaxRoutes; ++it, ++i) {
        r.routes.push_back(route(*it, item(sub, i), depth + 1));
      }
    }
  });
  if (n.IsNull()) fail(n, fmt::format("{}: expected a map, got nothing", path));
  return r;
}

void Decoder::alerting(const YAML::Node& n, const YAML::Mark& keyMark, Alerting& a) {
  std::optional<YAML::Node> receiversNode, routeNode;
  bool ok = fields(n, "alerting", {"alertmanagers", "receivers", "route"},
                   [&](const std::string& key, const YAML::Node& v) {
    if (key == "alertmanagers") {
      if (!isList(v, "alerting.alertmanagers")) return;
      size_t i = 0;
      for (auto it = v.begin(); it != v.end(); ++it, ++i) {
        std::string ip = item("alerting.alertmanagers", i);
        if (auto u = url(*it, ip)) {
          a.alertmanagers.push_back(*u);
        } else if (it->IsNull()) {
          fail(*it, fmt::format("{}: expected a URL, got nothing", ip));
        }
      }
    }
    if (key == "receivers") receiversNode.emplace(v);
    if (key == "route" && !v.IsNull()) routeNode.emplace(v);
  });
  if (!ok) return;

  std::map<std::string, Position> names;
  if (receiversNode && isList(*receiversNode, "alerting.receivers")) {
    size_t i = 0;
    for (auto it = receiversNode->begin(); it != receiversNode->end(); ++it, ++i) {
      auto r = receiver(*it, item("alerting.receivers", i));
      if (!r || r->name.empty()) continue;
      auto [prev, inserted] = names.emplace(r->name, r->position);
      if (!inserted) {
        fail(*it, fmt::format("duplicate receiver name {} (first defined at {}:{})",
                              quote(r->name), prev->second.line, prev->second.column));
        continue;
      }
      a.receivers.push_back(std::move(*r));
    }
  }

  if (routeNode) {
    a.route = route(*routeNode, "alerting.route", 0);
    if (a.route->receiver.empty() && !a.receivers.empty()) {
      fail(*routeNode, "missing required field \"receiver\" in alerting.route");
    }
    for (const ReceiverUse& use : receiverUses_) {
      if (!names.contains(use.name)) {
        fail(use.node, fmt::format("{}: undefined receiver {}", use.path, quote(use.name)));
      }
    }
  } else if (!a.receivers.empty()) {
    failAt(n.Mark().is_null() ? keyMark : n.Mark(),
           "missing required field \"route\" in alerting (receivers are defined)");
  }
}


/// Sees only where documents start. yaml-cpp 0.7 does not consume a stray top-level token such
/// as "," or "]": each further HandleNextDocument() returns another empty document at the same
/// place, forever, so LoadAll() would never return. Counting documents ourselves, a bounded
/// number of times, turns that into an error.
class DocumentStarts final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

Error yamlError(const YAML::Exception& e, const std::string& fileName, std::string_view prefix) {
  if (e.mark.is_null()) return Error{std::string(prefix) + e.msg, fileName, 0, 0};
  return Error{std::string(prefix) + e.msg, fileName, e.mark.line + 1, e.mark.column + 1};
}

Error errorAt(std::string message, const std::string& fileName, const YAML::Mark& m) {
  if (m.is_null()) return Error{std::move(message), fileName, 0, 0};
  return Error{std::move(message), fileName, m.line + 1, m.column + 1};
}

}  // namespace

Result<Config> parseConfig(std::string_view yamlText, const std::string& fileName,
                           const std::string& baseDir) {
  const std::string text(yamlText);
  YAML::Node root;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentStarts docs;
    for (int i = 0; i < 3 && parser.HandleNextDocument(docs); ++i) {
      size_t n = docs.starts.size();
      if (n >= 2 && docs.starts[n - 1].pos == docs.starts[n - 2].pos) {
        return errorAt("invalid YAML: unexpected character", fileName, docs.starts[n - 1]);
      }
    }
    if (docs.starts.size() > 1) {
      return errorAt("config has more than one YAML document", fileName, docs.starts[1]);
    }
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return yamlError(e, fileName, "invalid YAML: ");
  } catch (const std::exception& e) {
    return Error{std::string("invalid YAML: ") + e.what(), fileName, 0, 0};
  }
  if (root.IsNull() || !root.IsDefined()) return Error{"config is empty", fileName, 1, 1};
  try {
    Decoder decoder(fileName, baseDir);
    Config config = decoder.decode(root);
    if (!decoder.errors().empty()) return decoder.errors().front();
    return config;
  } catch (const YAML::Exception& e) {
    // Not expected from the read-only accessors used above; kept so nothing escapes.
    return yamlError(e, fileName, "cannot read config: ");
  } catch (const std::exception& e) {
    return Error{std::string("cannot read config: ") + e.what(), fileName, 0, 0};
  }
}

Result<Config> loadConfigFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return Error{fmt::format("cannot read config: {}", std::strerror(err)), path, 0, 0};
  }
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Error{fmt::format("cannot read config: {}", std::strerror(err)), path, 0, 0};
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t slash = path.rfind('/');
  std::string baseDir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  return parseConfig(text, path, baseDir);
}

}  // namespace vigil::config
