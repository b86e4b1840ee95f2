// The configuration loader: defaults, inheritance, the full schema, and one invalid fixture per
// validation rule paired with its exact "FILE:LINE:COL: message" (STYLE rule 5).

#include <catch2/catch.hpp>

#include <string>

#include "agent/config/loader.h"

namespace vigil::config {
namespace {

const std::string kDir = VIGIL_CONFIG_FIXTURES;

Config mustParse(const std::string& yaml) {
  Result<Config> r = parseConfig(yaml, "t.yaml", kDir);
  if (!r) FAIL(r.error().format());
  return std::move(r).value();
}

std::string errorOf(const std::string& yaml) {
  Result<Config> r = parseConfig(yaml, "t.yaml", kDir);
  if (r) return "<no error>";
  return r.error().format();
}

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
    s.replace(p, from.size(), to);
  }
  return s;
}

TEST_CASE("defaults apply when a config sets nothing") {
  Config c = mustParse("targets: []\n");
  CHECK(c.file == "t.yaml");
  CHECK(c.global.interval == Duration{5000});
  CHECK(c.global.timeout == Duration{3000});
  CHECK(c.global.evaluationInterval == Duration{1000});
  CHECK(c.global.stateDir == "/var/lib/vigil");
  CHECK(c.targets.empty());
  CHECK(c.pools.empty());
  CHECK(c.ruleFilePaths.empty());
  CHECK_FALSE(c.alerting.route.has_value());
}

TEST_CASE("an empty map is a valid config that does nothing") {
  Config c = mustParse("{}\n");
  CHECK(c.targets.empty());
}

TEST_CASE("timeout defaults to min(3s, 80% of the interval) and targets inherit") {
  SECTION("from a short global interval") {
    Config c = mustParse(R"(global: {interval: 2s}
targets:
  - name: a
  - name: b
    interval: 10s
  - name: c
    interval: 1s
    timeout: 900ms
)");
    CHECK(c.global.timeout == Duration{1600});
    REQUIRE(c.targets.size() == 3);
    CHECK(c.targets[0].interval == Duration{2000});
    CHECK(c.targets[0].timeout == Duration{1600});
    // No timeout anywhere: derived from the target's own interval.
    CHECK(c.targets[1].interval == Duration{10000});
    CHECK(c.targets[1].timeout == Duration{3000});
    CHECK(c.targets[2].interval == Duration{1000});
    CHECK(c.targets[2].timeout == Duration{900});
  }
  SECTION("an explicit global timeout is inherited as is") {
    Config c = mustParse(R"(global: {interval: 10s, timeout: 4s}
targets:
  - name: a
  - name: b
    interval: 1m
)");
    CHECK(c.targets[0].timeout == Duration{4000});
    CHECK(c.targets[1].timeout == Duration{4000});
    CHECK(c.targets[1].interval == Duration{60000});
  }
  SECTION("an inherited global timeout too long for a target's interval is shortened to fit") {
    Config c = mustParse("global: {timeout: 3s}\ntargets: [{name: a, interval: 2s}, {name: b}]\n");
    CHECK(c.targets[0].timeout == Duration{1600});
    CHECK(c.targets[1].timeout == Duration{3000});
  }
  SECTION("a target interval below 3.75s gets 80% of it") {
    Config c = mustParse("targets: [{name: a, interval: 500ms}]\n");
    CHECK(c.targets[0].timeout == Duration{400});
  }
}

TEST_CASE("the full schema loads into the typed structs") {
  Config c = mustParse(R"(global:
  interval: 10s
  timeout: 2s
  evaluation_interval: 500ms
  external_labels: {env: prod, dc: fra}
  state_dir: /tmp/vigil-state
pools:
  - name: devschool
    min_in_rotation: 2
    frontend: http://lb-01/
    load_balancer:
      haproxy_stats: http://lb-01:8404/stats;csv
      backend: devschool-web
  - name: empty
targets:
  - name: web-01
    pool: devschool
    interval: 5s
    labels: {role: primary}
    haproxy_server: web01
    http:
      - url: http://web-01/
        expect_status: ["200-399", 418, "5xx"]
        timeout: 3s
        method: POST
        headers: {Host: devschool.example, X-Trace: "1"}
        body_must_contain: "<title>"
        body: '{"a":1}'
        tls: {insecure_skip_verify: true, ca_file: ca.pem, cert_file: client.pem, key_file: client.key, server_name: web}
        follow_redirects: false
        max_redirects: 3
        max_body_bytes: 1000
        max_header_bytes: 2000
      - url: https://[::1]:8443/api/health?x=1
    memory:
      ssh:
        host: web-01
        port: 2222
        user: vigil
        identity_file: id_ed25519
        known_hosts: known_hosts
        command: cat /proc/meminfo
  - name: web-02
    memory: {node_exporter: "http://web-02:9100/metrics"}
  - name: mon
    memory: {local: true}
rule_files: [rules/*.yaml, rules/a.yaml, rules/other.yml]
alerting:
  alertmanagers: [http://alertmanager:9093]
  receivers:
    - name: oncall
      webhook:
        url: https://events.example/hook
        format: pagerduty
        routing_key_file: token
        bearer_token_file: token
        hmac_secret_file: hmac
        timeout: 20s
        send_resolved: false
    - name: console
      console: {}
    - name: quiet
      console:
  route:
    receiver: oncall
    group_by: [alertname, pool]
    group_wait: 0s
    group_interval: 1m
    repeat_interval: 4h
    routes:
      - matchers: ['severity="ticket"', 'team=~"web|ops", env!=dev']
        receiver: console
        continue: true
      - matchers: ['{job!~"x.*"}']
        routes:
          - receiver: quiet
)");
  CHECK(c.global.interval == Duration{10000});
  CHECK(c.global.timeout == Duration{2000});
  CHECK(c.global.evaluationInterval == Duration{500});
  CHECK(c.global.externalLabels == Labels{{"dc", "fra"}, {"env", "prod"}});
  CHECK(c.global.stateDir == "/tmp/vigil-state");

  REQUIRE(c.pools.size() == 2);
  CHECK(c.pools[0].name == "devschool");
  CHECK(c.pools[0].minInRotation == 2);
  CHECK(c.pools[0].frontend == "http://lb-01/");
  REQUIRE(c.pools[0].loadBalancer.has_value());
  CHECK(c.pools[0].loadBalancer->haproxyStats == "http://lb-01:8404/stats;csv");
  CHECK(c.pools[0].loadBalancer->backend == "devschool-web");
  CHECK(c.pools[0].position.line == 8);
  CHECK(c.pools[0].position.column == 5);
  CHECK(c.pools[1].minInRotation == 1);
  CHECK_FALSE(c.pools[1].loadBalancer.has_value());

  REQUIRE(c.targets.size() == 3);
  const Target& t = c.targets[0];
  CHECK(t.name == "web-01");
  CHECK(t.pool == "devschool");
  CHECK(t.interval == Duration{5000});
  CHECK(t.timeout == Duration{2000});
  CHECK(t.labels == Labels{{"role", "primary"}});
  CHECK(t.haproxyServer == "web01");
  CHECK(t.position.file == "t.yaml");
  CHECK(t.position.line == 16);
  CHECK(t.position.column == 5);
  REQUIRE(t.http.size() == 2);
  const HttpCheck& h = t.http[0];
  CHECK(h.url == "http://web-01/");
  CHECK(h.expectStatus ==
        std::vector<StatusRange>{{200, 399}, {418, 418}, {500, 599}});
  CHECK(h.timeout == Duration{3000});
  CHECK(h.method == "POST");
  CHECK(h.headers == std::vector<std::pair<std::string, std::string>>{
                         {"Host", "devschool.example"}, {"X-Trace", "1"}});
  CHECK(h.bodyMustContain == "<title>");
  CHECK(h.body == R"({"a":1})");
  CHECK(h.tls.insecureSkipVerify);
  CHECK(h.tls.caFile == kDir + "/ca.pem");
  CHECK(h.tls.certFile == kDir + "/client.pem");
  CHECK(h.tls.keyFile == kDir + "/client.key");
  CHECK(h.tls.serverName == "web");
  CHECK_FALSE(h.followRedirects);
  CHECK(h.maxRedirects == 3);
  CHECK(h.maxBodyBytes == 1000);
  CHECK(h.maxHeaderBytes == 2000);
  CHECK(h.position.line == 22);
  CHECK(h.position.column == 9);
  const HttpCheck& h2 = t.http[1];
  CHECK(h2.expectStatus == std::vector<StatusRange>{{200, 399}});
  CHECK(h2.timeout == Duration{0});
  CHECK(h2.method == "GET");
  CHECK(h2.followRedirects);
  CHECK(h2.maxRedirects == 10);
  CHECK(h2.maxBodyBytes == 1 << 20);
  REQUIRE(t.memory.has_value());
  CHECK(t.memory->source == MemoryCheck::Source::kSsh);
  CHECK(t.memory->ssh.host == "web-01");
  CHECK(t.memory->ssh.port == 2222);
  CHECK(t.memory->ssh.user == "vigil");
  CHECK(t.memory->ssh.identityFile == kDir + "/id_ed25519");
  CHECK(t.memory->ssh.knownHosts == kDir + "/known_hosts");
  CHECK(t.memory->ssh.command == "cat /proc/meminfo");
  CHECK(t.memory->position.line == 36);
  CHECK(c.targets[1].memory->source == MemoryCheck::Source::kNodeExporter);
  CHECK(c.targets[1].memory->nodeExporter == "http://web-02:9100/metrics");
  CHECK(c.targets[1].interval == Duration{10000});
  CHECK(c.targets[1].timeout == Duration{2000});
  CHECK(c.targets[2].memory->source == MemoryCheck::Source::kLocal);

  CHECK(c.ruleFiles == std::vector<std::string>{"rules/*.yaml", "rules/a.yaml", "rules/other.yml"});
  CHECK(c.ruleFilePaths == std::vector<std::string>{kDir + "/rules/a.yaml", kDir + "/rules/b.yaml",
                                                    kDir + "/rules/other.yml"});

  CHECK(c.alerting.alertmanagers == std::vector<std::string>{"http://alertmanager:9093"});
  REQUIRE(c.alerting.receivers.size() == 3);
  const Receiver& r = c.alerting.receivers[0];
  CHECK(r.name == "oncall");
  REQUIRE(r.webhook.has_value());
  CHECK_FALSE(r.console);
  CHECK(r.webhook->url == "https://events.example/hook");
  CHECK(r.webhook->format == "pagerduty");
  CHECK(r.webhook->bearerTokenFile == kDir + "/token");
  CHECK(r.webhook->hmacSecretFile == kDir + "/hmac");
  CHECK(r.webhook->routingKeyFile == kDir + "/token");
  CHECK(r.webhook->timeout == Duration{20000});
  CHECK_FALSE(r.webhook->sendResolved);
  CHECK(r.position.line == 51);
  CHECK(c.alerting.receivers[1].console);
  CHECK_FALSE(c.alerting.receivers[1].webhook.has_value());
  CHECK(c.alerting.receivers[2].console);

  REQUIRE(c.alerting.route.has_value());
  const Route& root = *c.alerting.route;
  CHECK(root.receiver == "oncall");
  CHECK(root.groupBy == std::vector<std::string>{"alertname", "pool"});
  CHECK(root.groupWait == Duration{0});
  CHECK(root.groupInterval == Duration{60000});
  CHECK(root.repeatInterval == Duration{4 * 3600 * 1000});
  CHECK(root.position.line == 65);
  REQUIRE(root.routes.size() == 2);
  const Route& r0 = root.routes[0];
  CHECK(r0.matchers == std::vector<std::string>{R"(severity="ticket")", R"(team=~"web|ops", env!=dev)"});
  CHECK(r0.parsedMatchers == std::vector<Matcher>{{"severity", Matcher::Op::kEqual, "ticket"},
                                                   {"team", Matcher::Op::kRegexMatch, "web|ops"},
                                                   {"env", Matcher::Op::kNotEqual, "dev"}});
  CHECK(r0.receiver == "console");
  CHECK(r0.continueMatching);
  CHECK_FALSE(r0.groupWait.has_value());
  CHECK(r0.position.line == 71);
  CHECK(r0.position.column == 9);
  const Route& r1 = root.routes[1];
  CHECK(r1.receiver.empty());
  CHECK(r1.parsedMatchers == std::vector<Matcher>{{"job", Matcher::Op::kRegexNoMatch, "x.*"}});
  REQUIRE(r1.routes.size() == 1);
  CHECK(r1.routes[0].receiver == "quiet");
}

TEST_CASE("relative paths resolve against the base directory, absolute ones stay") {
  Config c = mustParse("rule_files: ['" + kDir + "/rules/b.yaml']\n");
  CHECK(c.ruleFilePaths == std::vector<std::string>{kDir + "/rules/b.yaml"});
  Result<Config> cwd = parseConfig("targets: []\n", "x.yaml", "");
  CHECK(cwd.ok());
}

TEST_CASE("loadConfigFile reads the file and resolves paths next to it") {
  Result<Config> r = loadConfigFile(kDir + "/valid.yaml");
  if (!r) FAIL(r.error().format());
  CHECK(r->file == kDir + "/valid.yaml");
  CHECK(r->ruleFilePaths == std::vector<std::string>{kDir + "/rules/a.yaml", kDir + "/rules/b.yaml"});
  REQUIRE(r->targets.size() == 1);
  CHECK(r->targets[0].position.file == kDir + "/valid.yaml");

  Result<Config> missing = loadConfigFile(kDir + "/does-not-exist.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().format() ==
        kDir + "/does-not-exist.yaml: cannot read config: No such file or directory");
}

struct Invalid {
  const char* name;
  std::string yaml;
  std::string expected;
};

TEST_CASE("every validation rule reports its exact message and position") {
  // "{dir}" stands for the fixtures directory, which resolved file names contain.
  auto c = GENERATE(values<Invalid>({
      // Document level.
      {"empty file", "", "t.yaml:1:1: config is empty"},
      {"only comments", "# nothing\n", "t.yaml:1:1: config is empty"},
      {"null document", "~\n", "t.yaml:1:1: config is empty"},
      {"two documents", "targets: []\n---\ntargets: []\n",
       "t.yaml:2:1: config has more than one YAML document"},
      {"stray comma", ",\n", "t.yaml:1:1: invalid YAML: unexpected character"},
      {"stray comma after a document", "{}\n,\n", "t.yaml:2:1: invalid YAML: unexpected character"},
      {"syntax error", "global:\n  interval: [5s\n", "t.yaml:3:1: invalid YAML: end of sequence flow not found"},
      {"top level not a map", "- a\n", "t.yaml:1:1: config: expected a map, got a list"},
      {"unknown top-level field", "target: []\n", "t.yaml:1:1: unknown field \"target\" at top level"},
      {"duplicate top-level field", "targets: []\ntargets: []\n",
       "t.yaml:2:1: duplicate field \"targets\" at top level"},
      {"non-scalar key", "? [a]\n: 1\n", "t.yaml:1:3: expected a field name at top level, got a list"},

      // global
      {"global not a map", "global: 5s\n", "t.yaml:1:9: global: expected a map, got \"5s\""},
      {"unknown global field", "global:\n  intervall: 5s\n",
       "t.yaml:2:3: unknown field \"intervall\" in global"},
      {"bad duration", "global:\n  interval: abc\n",
       "t.yaml:2:13: global.interval: expected a duration like 5s, got \"abc\""},
      {"duration as a list", "global:\n  interval: [5s]\n",
       "t.yaml:2:13: global.interval: expected a duration like 5s, got a list"},
      {"zero interval", "global: {interval: 0s}\n", "t.yaml:1:20: global.interval: must be greater than 0"},
      {"zero evaluation interval", "global: {evaluation_interval: 0}\n",
       "t.yaml:1:31: global.evaluation_interval: must be greater than 0"},
      {"global timeout equals interval", "global:\n  interval: 5s\n  timeout: 5s\n",
       "t.yaml:3:12: global: timeout 5s must be less than interval 5s"},
      {"global timeout above default interval", "global:\n  timeout: 1m\n",
       "t.yaml:2:12: global: timeout 1m must be less than interval 5s"},
      {"bad external label name", "global:\n  external_labels: {1x: a}\n",
       "t.yaml:2:21: global.external_labels: invalid label name \"1x\""},
      {"reserved external label", "global:\n  external_labels: {__x: a}\n",
       "t.yaml:2:21: global.external_labels: label name \"__x\" is reserved (starts with __)"},
      {"external label value a map", "global:\n  external_labels: {a: {b: c}}\n",
       "t.yaml:2:24: global.external_labels.a: expected a string, got a map"},
      {"external labels a list", "global:\n  external_labels: [a]\n",
       "t.yaml:2:20: global.external_labels: expected a map, got a list"},
      {"empty state dir", "global:\n  state_dir: ''\n", "t.yaml:2:14: global.state_dir: must not be empty"},

      // pools
      {"pools not a list", "pools: {name: a}\n", "t.yaml:1:8: pools: expected a list, got a map"},
      {"pool without name", "pools:\n  - min_in_rotation: 1\n",
       "t.yaml:2:5: missing required field \"name\" in pools[0]"},
      {"unknown pool field", "pools:\n  - name: a\n    members: 2\n",
       "t.yaml:3:5: unknown field \"members\" in pools[0]"},
      {"duplicate pool", "pools:\n  - name: a\n  - name: a\n",
       "t.yaml:3:11: duplicate pool name \"a\" (first defined at 2:11)"},
      {"negative min_in_rotation", "pools:\n  - name: a\n    min_in_rotation: -1\n",
       "t.yaml:3:22: pools[0].min_in_rotation: must be at least 0, got -1"},
      {"min_in_rotation not an integer", "pools:\n  - name: a\n    min_in_rotation: two\n",
       "t.yaml:3:22: pools[0].min_in_rotation: expected an integer, got \"two\""},
      {"bad frontend", "pools:\n  - name: a\n    frontend: lb-01\n",
       "t.yaml:3:15: pools[0].frontend: expected an http:// or https:// URL with a host, got \"lb-01\""},
      {"load balancer without backend",
       "pools:\n  - name: a\n    load_balancer:\n      haproxy_stats: http://lb:8404/;csv\n",
       "t.yaml:4:7: missing required field \"backend\" in pools[0].load_balancer"},
      {"load balancer without stats", "pools:\n  - name: a\n    load_balancer: {backend: b}\n",
       "t.yaml:3:20: missing required field \"haproxy_stats\" in pools[0].load_balancer"},
      {"unknown load balancer field", "pools:\n  - name: a\n    load_balancer: {backend: b, kind: x}\n",
       "t.yaml:3:33: unknown field \"kind\" in pools[0].load_balancer"},

      // targets
      {"targets not a list", "targets: web-01\n", "t.yaml:1:10: targets: expected a list, got \"web-01\""},
      {"target not a map", "targets:\n  - web-01\n", "t.yaml:2:5: targets[0]: expected a map, got \"web-01\""},
      {"target without name", "targets:\n  - interval: 5s\n",
       "t.yaml:2:5: missing required field \"name\" in targets[0]"},
      {"empty target name", "targets:\n  - name: ''\n", "t.yaml:2:11: targets[0].name: must not be empty"},
      {"unknown target field", "targets:\n  - name: a\n    intervall: 5s\n",
       "t.yaml:3:5: unknown field \"intervall\" in targets[0]"},
      {"duplicate target", "targets:\n  - name: a\n  - name: b\n  - name: a\n",
       "t.yaml:4:11: duplicate target name \"a\" (first defined at 2:11)"},
      {"undefined pool", "targets:\n  - name: a\n    pool: nope\n",
       "t.yaml:3:11: targets[0].pool: undefined pool \"nope\""},
      {"haproxy_server without pool", "targets:\n  - name: a\n    haproxy_server: a1\n",
       "t.yaml:3:21: targets[0].haproxy_server: set on a target that is in no pool"},
      {"target timeout equals interval", "targets:\n  - name: a\n    interval: 2s\n    timeout: 2s\n",
       "t.yaml:4:14: targets[0]: timeout 2s must be less than interval 2s"},
      {"target timeout above inherited interval", "targets:\n  - name: a\n    timeout: 6s\n",
       "t.yaml:3:14: targets[0]: timeout 6s must be less than interval 5s"},
      {"bad target interval", "targets:\n  - name: a\n    interval: 5 s\n",
       "t.yaml:3:15: targets[0].interval: expected a duration like 5s, got \"5 s\""},
      {"bad target label", "targets:\n  - name: a\n    labels: {a-b: x}\n",
       "t.yaml:3:14: targets[0].labels: invalid label name \"a-b\""},
      {"reserved target label", "targets:\n  - name: a\n    labels: {__name__: x}\n",
       "t.yaml:3:14: targets[0].labels: label name \"__name__\" is reserved (starts with __)"},
      {"target label set by vigil", "targets:\n  - name: a\n    labels: {pool: x}\n",
       "t.yaml:3:14: targets[0].labels: label name \"pool\" is set by vigil itself"},
      {"duplicate target label", "targets:\n  - name: a\n    labels: {a: x, a: y}\n",
       "t.yaml:3:20: targets[0].labels: duplicate label \"a\""},

      // http checks
      {"http not a list", "targets:\n  - name: a\n    http: {url: http://a/}\n",
       "t.yaml:3:11: targets[0].http: expected a list, got a map"},
      {"http without url", "targets:\n  - name: a\n    http:\n      - method: GET\n",
       "t.yaml:4:9: missing required field \"url\" in targets[0].http[0]"},
      {"unknown http field", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        expect: 200\n",
       "t.yaml:5:9: unknown field \"expect\" in targets[0].http[0]"},
      {"url without scheme", "targets:\n  - name: a\n    http:\n      - url: web-01/\n",
       "t.yaml:4:14: targets[0].http[0].url: expected an http:// or https:// URL with a host, got \"web-01/\""},
      {"ftp url", "targets:\n  - name: a\n    http:\n      - url: ftp://a/\n",
       "t.yaml:4:14: targets[0].http[0].url: expected an http:// or https:// URL with a host, got \"ftp://a/\""},
      {"url without host", "targets:\n  - name: a\n    http:\n      - url: http:///x\n",
       "t.yaml:4:14: targets[0].http[0].url: expected an http:// or https:// URL with a host, got \"http:///x\""},
      {"url with bad port", "targets:\n  - name: a\n    http:\n      - url: http://a:99999/\n",
       "t.yaml:4:14: targets[0].http[0].url: expected an http:// or https:// URL with a host, got \"http://a:99999/\""},
      {"bad status text", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        expect_status: [ok]\n",
       "t.yaml:5:25: targets[0].http[0].expect_status[0]: expected a status like 200, 200-399 or 2xx, got \"ok\""},
      {"status out of range", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        expect_status: [200, 600]\n",
       "t.yaml:5:30: targets[0].http[0].expect_status[1]: status codes must be between 100 and 599, got \"600\""},
      {"status class out of range", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        expect_status: [6xx]\n",
       "t.yaml:5:25: targets[0].http[0].expect_status[0]: status codes must be between 100 and 599, got \"6xx\""},
      {"status range below 100", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        expect_status: [\"99-200\"]\n",
       "t.yaml:5:25: targets[0].http[0].expect_status[0]: status codes must be between 100 and 599, got \"99-200\""},
      {"backwards status range", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        expect_status: [\"399-200\"]\n",
       "t.yaml:5:25: targets[0].http[0].expect_status[0]: range \"399-200\" is backwards (low is greater than high)"},
      {"empty status list", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        expect_status: []\n",
       "t.yaml:5:24: targets[0].http[0].expect_status: must not be empty"},
      {"bad method", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        method: get\n",
       "t.yaml:5:17: targets[0].http[0].method: unsupported method \"get\" (expected one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH)"},
      {"check timeout equals target interval", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        timeout: 5s\n",
       "t.yaml:4:9: targets[0].http[0]: timeout 5s must be less than the target's interval 5s"},
      {"bad check timeout", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        timeout: 1x\n",
       "t.yaml:5:18: targets[0].http[0].timeout: expected a duration like 5s, got \"1x\""},
      {"bad header name", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        headers: {\"a b\": c}\n",
       "t.yaml:5:19: targets[0].http[0].headers: invalid header name \"a b\""},
      {"header with newline", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        headers: {X: \"a\\nb\"}\n",
       "t.yaml:5:22: targets[0].http[0].headers: value of header \"X\" contains a line break or NUL"},
      {"headers a list", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        headers: [a]\n",
       "t.yaml:5:18: targets[0].http[0].headers: expected a map, got a list"},
      {"bad bool", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        follow_redirects: yes please\n",
       "t.yaml:5:27: targets[0].http[0].follow_redirects: expected true or false, got \"yes please\""},
      {"negative max_redirects", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        max_redirects: -1\n",
       "t.yaml:5:24: targets[0].http[0].max_redirects: must be between 0 and 1000, got -1"},
      {"zero max_body_bytes", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        max_body_bytes: 0\n",
       "t.yaml:5:25: targets[0].http[0].max_body_bytes: must be at least 1, got 0"},
      {"huge max_header_bytes", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        max_header_bytes: 99999999999999999999\n",
       "t.yaml:5:27: targets[0].http[0].max_header_bytes: expected an integer, got \"99999999999999999999\""},
      {"empty body_must_contain", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        body_must_contain: ''\n",
       "t.yaml:5:28: targets[0].http[0].body_must_contain: must not be empty"},
      {"unknown tls field", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        tls: {verify: false}\n",
       "t.yaml:5:15: unknown field \"verify\" in targets[0].http[0].tls"},
      {"missing ca file", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        tls: {ca_file: nope.pem}\n",
       "t.yaml:5:24: targets[0].http[0].tls.ca_file: cannot read \"{dir}/nope.pem\": No such file or directory"},
      {"cert without key", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        tls: {cert_file: client.pem}\n",
       "t.yaml:5:26: targets[0].http[0].tls: cert_file and key_file must be set together"},
      {"directory as a file", "targets:\n  - name: a\n    http:\n      - url: http://a/\n        tls: {ca_file: rules}\n",
       "t.yaml:5:24: targets[0].http[0].tls.ca_file: \"{dir}/rules\" is not a regular file"},

      // memory
      {"memory with no source", "targets:\n  - name: a\n    memory: {}\n",
       "t.yaml:3:13: targets[0].memory: needs exactly one of ssh, node_exporter or local: true"},
      {"memory local false", "targets:\n  - name: a\n    memory:\n      local: false\n",
       "t.yaml:4:7: targets[0].memory: needs exactly one of ssh, node_exporter or local: true"},
      {"memory with two sources", "targets:\n  - name: a\n    memory:\n      local: true\n      node_exporter: http://a:9100/metrics\n",
       "t.yaml:5:22: targets[0].memory: needs exactly one of ssh, node_exporter or local: true"},
      {"unknown memory field", "targets:\n  - name: a\n    memory: {proc: true}\n",
       "t.yaml:3:14: unknown field \"proc\" in targets[0].memory"},
      {"memory not a map", "targets:\n  - name: a\n    memory: local\n",
       "t.yaml:3:13: targets[0].memory: expected a map, got \"local\""},
      {"bad node_exporter url", "targets:\n  - name: a\n    memory: {node_exporter: \"a:9100\"}\n",
       "t.yaml:3:29: targets[0].memory.node_exporter: expected an http:// or https:// URL with a host, got \"a:9100\""},
      {"ssh without host", "targets:\n  - name: a\n    memory:\n      ssh: {user: vigil}\n",
       "t.yaml:4:12: missing required field \"host\" in targets[0].memory.ssh"},
      {"ssh port zero", "targets:\n  - name: a\n    memory:\n      ssh: {host: a, port: 0}\n",
       "t.yaml:4:28: targets[0].memory.ssh.port: must be between 1 and 65535, got 0"},
      {"ssh port too big", "targets:\n  - name: a\n    memory:\n      ssh: {host: a, port: 65536}\n",
       "t.yaml:4:28: targets[0].memory.ssh.port: must be between 1 and 65535, got 65536"},
      {"unknown ssh field", "targets:\n  - name: a\n    memory:\n      ssh: {host: a, password: x}\n",
       "t.yaml:4:22: unknown field \"password\" in targets[0].memory.ssh"},
      {"missing identity file", "targets:\n  - name: a\n    memory:\n      ssh: {host: a, identity_file: /nonexistent/id}\n",
       "t.yaml:4:37: targets[0].memory.ssh.identity_file: cannot read \"/nonexistent/id\": No such file or directory"},
      {"missing known_hosts", "targets:\n  - name: a\n    memory:\n      ssh: {host: a, known_hosts: kh}\n",
       "t.yaml:4:35: targets[0].memory.ssh.known_hosts: cannot read \"{dir}/kh\": No such file or directory"},
      {"empty ssh command", "targets:\n  - name: a\n    memory:\n      ssh: {host: a, command: ''}\n",
       "t.yaml:4:31: targets[0].memory.ssh.command: must not be empty"},

      // rule_files
      {"rule_files not a list", "rule_files: rules/*.yaml\n",
       "t.yaml:1:13: rule_files: expected a list, got \"rules/*.yaml\""},
      {"pattern matching nothing", "rule_files:\n  - rules/*.yaml\n  - alerts/*.yaml\n",
       "t.yaml:3:5: rule_files[1]: pattern \"alerts/*.yaml\" matches no file"},
      {"pattern matching only directories", "rule_files: [rul*]\n",
       "t.yaml:1:14: rule_files[0]: pattern \"rul*\" matches no file"},
      {"empty pattern", "rule_files: ['']\n", "t.yaml:1:14: rule_files[0]: must not be empty"},

      // alerting
      {"unknown alerting field", "alerting:\n  receiver: x\n", "t.yaml:2:3: unknown field \"receiver\" in alerting"},
      {"bad alertmanager url", "alerting:\n  alertmanagers: [alertmanager:9093]\n",
       "t.yaml:2:19: alerting.alertmanagers[0]: expected an http:// or https:// URL with a host, got \"alertmanager:9093\""},
      {"receiver without name", "alerting:\n  receivers:\n    - console: {}\n",
       "t.yaml:3:7: missing required field \"name\" in alerting.receivers[0]"},
      {"receiver with no kind", "alerting:\n  receivers:\n    - name: a\n",
       "t.yaml:3:7: alerting.receivers[0]: needs exactly one of webhook or console"},
      {"receiver with two kinds", "alerting:\n  receivers:\n    - name: a\n      console: {}\n      webhook: {url: http://x/}\n",
       "t.yaml:5:16: alerting.receivers[0]: needs exactly one of webhook or console"},
      {"duplicate receiver", "alerting:\n  receivers:\n    - {name: a, console: {}}\n    - {name: a, console: {}}\n  route: {receiver: a}\n",
       "t.yaml:4:7: duplicate receiver name \"a\" (first defined at 3:7)"},
      {"console with options", "alerting:\n  receivers:\n    - {name: a, console: {color: true}}\n",
       "t.yaml:3:27: unknown field \"color\" in alerting.receivers[0].console"},
      {"webhook without url", "alerting:\n  receivers:\n    - name: a\n      webhook: {format: slack}\n",
       "t.yaml:4:16: missing required field \"url\" in alerting.receivers[0].webhook"},
      {"webhook bad url, not echoed", "alerting:\n  receivers:\n    - name: a\n      webhook: {url: hooks.example/T0/B0/s3cr3t}\n",
       "t.yaml:4:22: alerting.receivers[0].webhook.url: expected an http:// or https:// URL with a host"},
      {"webhook bad format", "alerting:\n  receivers:\n    - name: a\n      webhook: {url: http://x/, format: teams}\n",
       "t.yaml:4:41: alerting.receivers[0].webhook.format: unknown format \"teams\" (expected alertmanager, slack or pagerduty)"},
      {"webhook missing token file", "alerting:\n  receivers:\n    - name: a\n      webhook: {url: http://x/, bearer_token_file: secret}\n",
       "t.yaml:4:52: alerting.receivers[0].webhook.bearer_token_file: cannot read \"{dir}/secret\": No such file or directory"},
      {"webhook missing hmac file", "alerting:\n  receivers:\n    - name: a\n      webhook: {url: http://x/, hmac_secret_file: /no/hmac}\n",
       "t.yaml:4:51: alerting.receivers[0].webhook.hmac_secret_file: cannot read \"/no/hmac\": No such file or directory"},
      {"pagerduty without routing key", "alerting:\n  receivers:\n    - name: a\n      webhook: {url: http://x/, format: pagerduty}\n",
       "t.yaml:4:16: alerting.receivers[0].webhook: format pagerduty needs routing_key_file (a file holding the Events API v2 integration key)"},
      {"routing key for another format", "alerting:\n  receivers:\n    - name: a\n      webhook: {url: http://x/, format: slack, routing_key_file: /etc/hostname}\n",
       "t.yaml:4:66: alerting.receivers[0].webhook.routing_key_file: routing_key_file is only used with format: pagerduty"},
      {"webhook tls server_name", "alerting:\n  receivers:\n    - name: a\n      webhook: {url: https://x/, tls: {server_name: y}}\n",
       "t.yaml:4:53: alerting.receivers[0].webhook.tls.server_name: server_name is only supported for http checks; a webhook's TLS name is its URL's host"},
      {"webhook zero timeout", "alerting:\n  receivers:\n    - name: a\n      webhook: {url: http://x/, timeout: 0s}\n",
       "t.yaml:4:42: alerting.receivers[0].webhook.timeout: must be greater than 0"},
      {"webhook unknown field", "alerting:\n  receivers:\n    - name: a\n      webhook: {url: http://x/, token: abc}\n",
       "t.yaml:4:33: unknown field \"token\" in alerting.receivers[0].webhook"},
      {"receivers without route", "alerting:\n  receivers:\n    - {name: a, console: {}}\n",
       "t.yaml:2:3: missing required field \"route\" in alerting (receivers are defined)"},
      {"root route without receiver", "alerting:\n  receivers:\n    - {name: a, console: {}}\n  route:\n    group_by: [alertname]\n",
       "t.yaml:5:5: missing required field \"receiver\" in alerting.route"},
      {"undefined root receiver", "alerting:\n  receivers:\n    - {name: a, console: {}}\n  route: {receiver: b}\n",
       "t.yaml:4:21: alerting.route.receiver: undefined receiver \"b\""},
      {"undefined nested receiver",
       "alerting:\n  receivers:\n    - {name: a, console: {}}\n  route:\n    receiver: a\n    routes:\n      - routes:\n          - receiver: nope\n",
       "t.yaml:8:23: alerting.route.routes[0].routes[0].receiver: undefined receiver \"nope\""},
      {"unknown route field", "alerting:\n  route:\n    receiver: a\n    match: {a: b}\n",
       "t.yaml:4:5: unknown field \"match\" in alerting.route"},
      {"root route with matchers", "alerting:\n  receivers: [{name: a, console: {}}]\n  route:\n    receiver: a\n    matchers: ['a=\"b\"']\n",
       "t.yaml:5:15: alerting.route.matchers: the root route must not have matchers"},
      {"bad matcher operator", "alerting:\n  receivers: [{name: a, console: {}}]\n  route:\n    receiver: a\n    routes:\n      - matchers: ['severity: page']\n",
       "t.yaml:6:20: alerting.route.routes[0].matchers[0]: invalid matcher \"severity: page\": expected an operator (=, !=, =~ or !~) after \"severity\""},
      {"bad matcher regex", "alerting:\n  receivers: [{name: a, console: {}}]\n  route:\n    receiver: a\n    routes:\n      - matchers: ['job=~\"(web\"']\n",
       "t.yaml:6:20: alerting.route.routes[0].matchers[0]: invalid matcher \"job=~\\\"(web\\\"\": bad regular expression \"(web\": missing ): (web"},
      {"bad matcher label", "alerting:\n  receivers: [{name: a, console: {}}]\n  route:\n    receiver: a\n    routes:\n      - matchers: ['1a=b']\n",
       "t.yaml:6:20: alerting.route.routes[0].matchers[0]: invalid matcher \"1a=b\": expected a label name"},
      {"matchers not a list", "alerting:\n  receivers: [{name: a, console: {}}]\n  route:\n    receiver: a\n    routes:\n      - matchers: 'a=b'\n",
       "t.yaml:6:19: alerting.route.routes[0].matchers: expected a list, got \"a=b\""},
      {"group_by bad label", "alerting:\n  route:\n    group_by: [alert-name]\n",
       "t.yaml:3:16: alerting.route.group_by[0]: invalid label name \"alert-name\""},
      {"group_by duplicate", "alerting:\n  route:\n    group_by: [a, a]\n",
       "t.yaml:3:19: alerting.route.group_by[1]: duplicate label \"a\""},
      {"group_by wildcard and labels", "alerting:\n  route:\n    group_by: ['...', a]\n",
       "t.yaml:3:15: alerting.route.group_by: \"...\" (every label) cannot be combined with other labels"},
      {"bad group_wait", "alerting:\n  route:\n    group_wait: soon\n",
       "t.yaml:3:17: alerting.route.group_wait: expected a duration like 5s, got \"soon\""},
      {"zero group_interval", "alerting:\n  route:\n    group_interval: 0s\n",
       "t.yaml:3:21: alerting.route.group_interval: must be greater than 0"},
      {"zero repeat_interval", "alerting:\n  route:\n    repeat_interval: 0s\n",
       "t.yaml:3:22: alerting.route.repeat_interval: must be greater than 0"},
      {"bad continue", "alerting:\n  route:\n    routes:\n      - continue: 1\n",
       "t.yaml:4:19: alerting.route.routes[0].continue: expected true or false, got \"1\""},
      {"routes not a list", "alerting:\n  route:\n    routes: {receiver: a}\n",
       "t.yaml:3:13: alerting.route.routes: expected a list, got a map"},
  }));
  INFO(c.name);
  CHECK(errorOf(c.yaml) == replaceAll(c.expected, "{dir}", kDir));
}

TEST_CASE("routing trees are bounded in depth") {
  std::string yaml = "alerting:\n  route:\n";
  std::string indent = "    ";
  for (int i = 0; i < 40; ++i) {
    yaml += indent + "routes:\n" + indent + "  - ";
    indent += "    ";
    yaml += "continue: false\n" + indent;
    yaml.resize(yaml.size() - indent.size());
  }
  Result<Config> r = parseConfig(yaml, "t.yaml", kDir);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("routes nested deeper than 32 levels"));
}

TEST_CASE("aliases cannot blow up the routing tree") {
  std::string yaml = "alerting:\n  route:\n    routes:\n";
  yaml += "      - &r0 {continue: true}\n";
  for (int i = 1; i < 30; ++i) {
    yaml += "      - &r" + std::to_string(i) + " {routes: [*r" + std::to_string(i - 1) + ", *r" +
            std::to_string(i - 1) + "]}\n";
  }
  Result<Config> r = parseConfig(yaml, "t.yaml", kDir);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("more than 10000 routes"));
}

TEST_CASE("errors never quote a secret file's contents") {
  Result<Config> r = parseConfig(
      "alerting:\n  receivers:\n    - name: a\n      webhook: {url: http://x/, bearer_token_file: token, "
      "format: nope}\n",
      "t.yaml", kDir);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().format(), !Catch::Contains("not-a-real-token"));

  Result<Config> url = parseConfig(
      "alerting:\n  receivers:\n    - name: a\n      webhook: {url: 'htps://hooks.example/T0/B0/s3cr3t'}\n",
      "t.yaml", kDir);
  REQUIRE_FALSE(url.ok());
  CHECK_THAT(url.error().format(), !Catch::Contains("s3cr3t"));
}

}  // namespace
}  // namespace vigil::config
