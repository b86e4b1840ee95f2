#pragma once
// `--web.config.file` (SPEC §7): exporter-toolkit's web configuration, so the file an operator
// already has for node_exporter or Prometheus works unchanged:
//
//   tls_server_config:
//     cert_file: server.crt          # PEM, certificate chain
//     key_file: server.key
//     client_auth_type: NoClientCert # or RequireAndVerifyClientCert (needs client_ca_file)
//     client_ca_file: ca.crt
//     min_version: TLS12             # TLS10 | TLS11 | TLS12 | TLS13
//   basic_auth_users:
//     alice: $2y$10$...              # bcrypt hashes (htpasswd -nBC 10 "" | tr -d ':\n')
//
// Relative paths are relative to the file's directory. Unknown keys are errors, as in
// exporter-toolkit. Every endpoint is protected.
//
// TLS is parsed and validated but refused at startup (kTlsUnavailable): Debian 12's civetweb
// (1.15) loads OpenSSL at run time by symbol name and looks up SSL_get_peer_certificate, which
// OpenSSL 3 no longer exports; its worker thread then calls a null pointer on the first TLS
// handshake. Until vigil terminates TLS itself, put a TLS proxy in front of it.

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "agent/core/error.h"

namespace vigil::web {

inline constexpr const char* kTlsUnavailable =
    "tls_server_config: TLS is not available in this build (Debian 12's civetweb 1.15 cannot "
    "use OpenSSL 3: it crashes on the first handshake); terminate TLS in a proxy in front of "
    "vigil and keep basic_auth_users here";

struct WebConfig {
  std::string certFile;
  std::string keyFile;
  std::string clientAuthType = "NoClientCert";
  std::string clientCaFile;
  std::string minVersion = "TLS12";
  std::map<std::string, std::string> basicAuthUsers;  ///< user -> bcrypt hash

  bool tls() const { return !certFile.empty(); }
};

/// Parses and validates the file: both cert_file and key_file or neither; readable files;
/// bcrypt hashes ($2a$, $2b$, $2y$). Errors name the file, line and column.
Result<WebConfig> loadWebConfig(const std::string& path);

/// The same from text; `path` names the file in errors and anchors relative paths.
Result<WebConfig> parseWebConfig(std::string_view text, const std::string& path);

/// HTTP basic authentication against bcrypt hashes. bcrypt is slow on purpose (tens of ms), so
/// credentials that verified once are remembered (in memory only, a bounded set) and a scrape
/// every few seconds costs one lookup. Unknown users cost a bcrypt run too, so response times do
/// not tell which user names exist. Thread-safe.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {}

  bool enabled() const { return !users_.empty(); }

  /// True when `authorization` (the Authorization header's value, or null) carries valid
  /// credentials.
  bool check(const char* authorization);

 private:
  std::map<std::string, std::string> users_;
  std::mutex mu_;
  std::unordered_set<std::string> verified_;  // "user\0password\0hash" that verified
};

/// Whether `password` matches the bcrypt `hash` (crypt(3) from libxcrypt).
bool bcryptMatches(std::string_view password, const std::string& hash);

}  // namespace vigil::web
