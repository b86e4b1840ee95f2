#pragma once
// The typed configuration (SPEC §2). Parsed once from YAML by loadConfigFile() or parseConfig()
// (loader.h); every field has its documented default here, so a struct built in a test is a
// valid starting point.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/clock.h"
#include "agent/core/error.h"
#include "agent/core/labels.h"

namespace vigil::config {

/// Where a value came from in its file, for errors reported after parsing.
struct Position {
  std::string file;
  int line = 0;
  int column = 0;
};

/// An inclusive range of HTTP status codes; "200", "200-399" and "2xx" all parse to one.
struct StatusRange {
  int low = 200;
  int high = 399;
  bool contains(int code) const { return code >= low && code <= high; }
  bool operator==(const StatusRange&) const = default;
};

struct TlsConfig {
  bool insecureSkipVerify = false;
  std::string caFile;      ///< empty: the system's CA store
  std::string certFile;    ///< client certificate (optional)
  std::string keyFile;     ///< client key (optional)
  std::string serverName;  ///< SNI / verification name override (optional)
};

struct HttpCheck {
  std::string url;
  std::vector<StatusRange> expectStatus{StatusRange{200, 399}};
  Duration timeout{0};  ///< 0: the target's timeout
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;  ///< in file order
  std::optional<std::string> bodyMustContain;
  std::string body;  ///< request body (optional)
  TlsConfig tls;
  bool followRedirects = true;
  int maxRedirects = 10;
  int64_t maxBodyBytes = 1 << 20;    ///< counted after content decoding
  int64_t maxHeaderBytes = 64 << 10;  ///< all response header lines together
  Position position;                 ///< of the list item, for runtime messages
};

struct SshMemory {
  std::string host;
  int port = 22;
  std::string user;          ///< empty: the user vigil runs as
  std::string identityFile;  ///< empty: ssh-agent
  std::string knownHosts;    ///< empty: ~/.ssh/known_hosts of the user vigil runs as
  std::string command = "cat /proc/meminfo /proc/vmstat";
};

struct MemoryCheck {
  enum class Source { kSsh, kNodeExporter, kLocal };
  Source source = Source::kLocal;
  SshMemory ssh;            ///< when source == kSsh
  std::string nodeExporter; ///< URL, when source == kNodeExporter
  Position position;
};

struct Target {
  std::string name;
  std::string pool;            ///< empty: not in a pool
  Duration interval{0};        ///< resolved: never 0 after loading (global default applied)
  Duration timeout{0};         ///< resolved: never 0 after loading, always < interval
  Labels labels;               ///< `labels:`, sorted
  std::vector<HttpCheck> http;
  std::optional<MemoryCheck> memory;
  std::string haproxyServer;   ///< server name in the LB backend; empty: same as name
  Position position;
};

struct LoadBalancer {
  std::string haproxyStats;  ///< URL of the stats page in CSV form
  std::string backend;
};

struct Pool {
  std::string name;
  int minInRotation = 1;
  std::string frontend;  ///< empty: none; else probed like an http check
  std::optional<LoadBalancer> loadBalancer;
  Position position;
};

struct Webhook {
  std::string url;
  std::string format = "alertmanager";  ///< alertmanager | slack | pagerduty
  std::string bearerTokenFile;
  std::string hmacSecretFile;
  /// format pagerduty: the Events API v2 integration key, read at send time and set as the
  /// body's routing_key (never stored in the outbox or logged).
  std::string routingKeyFile;
  Duration timeout{10'000};
  bool sendResolved = true;
  TlsConfig tls;
};

struct Receiver {
  std::string name;
  std::optional<Webhook> webhook;
  bool console = false;
  Position position;
};

/// One Alertmanager label matcher, parsed from `matchers:` (see matcher.h).
struct Matcher {
  enum class Op { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };
  std::string name;
  Op op = Op::kEqual;
  std::string value;  ///< unquoted; for regex ops the pattern, valid RE2, to be anchored by users
  bool operator==(const Matcher&) const = default;
};

struct Route {
  std::string receiver;                 ///< inherited from the parent when empty
  std::vector<std::string> groupBy;     ///< "..." means every label
  std::optional<Duration> groupWait;    ///< inherited when unset (root default 0s, Alertmanager's is 30s)
  std::optional<Duration> groupInterval;  ///< inherited when unset (root default 5m)
  std::optional<Duration> repeatInterval; ///< inherited when unset (root default 4h)
  std::vector<std::string> matchers;    ///< Alertmanager matcher syntax, e.g. severity="page"
  std::vector<Matcher> parsedMatchers;  ///< every matcher of `matchers`, parsed and validated
  bool continueMatching = false;        ///< `continue:`
  std::vector<Route> routes;
  Position position;
};

struct Alerting {
  std::vector<std::string> alertmanagers;  ///< base URLs
  std::vector<Receiver> receivers;
  std::optional<Route> route;
};

struct Global {
  Duration interval{5'000};
  Duration timeout{3'000};  ///< when omitted: min(3s, interval * 0.8)
  Duration evaluationInterval{1'000};
  Labels externalLabels;
  std::string stateDir = "/var/lib/vigil";
};

struct Config {
  std::string file;  ///< the path it was loaded from ("<default>" for the embedded one)
  Global global;
  std::vector<Pool> pools;
  std::vector<Target> targets;
  std::vector<std::string> ruleFiles;  ///< globs as written
  std::vector<std::string> ruleFilePaths;  ///< resolved, relative to the config's directory
  Alerting alerting;
};

}  // namespace vigil::config
