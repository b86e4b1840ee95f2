#include "exporters/web/web_config.h"

#include <crypt.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace vigil::web {

namespace {

Error at(const std::string& file, const YAML::Node& n, std::string message) {
  const YAML::Mark m = n.Mark();
  return Error{std::move(message), file, m.is_null() ? 0 : m.line + 1,
               m.is_null() ? 0 : m.column + 1};
}

std::string resolve(const std::string& base, const std::string& p) {
  if (p.empty() || p.front() == '/') return p;
  return (std::filesystem::path(base).parent_path() / p).string();
}

bool isBcrypt(const std::string& h) {
  return h.size() == 60 && (h.starts_with("$2a$") || h.starts_with("$2b$") || h.starts_with("$2y$"));
}

/// Standard base64 (RFC 4648, padding optional); nullopt-like false on any invalid character.
bool base64Decode(std::string_view in, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// A valid bcrypt hash of a random string: what unknown users are checked against.
constexpr const char* kDummyHash = "$2b$10$bTKS04CJXU0wG78dxymxEOpu6vU4nHT9laV.A3ftXpBAlVyoob/Pi";

}  // namespace

bool bcryptMatches(std::string_view password, const std::string& hash) {
  crypt_data data{};
  const std::string pw(password);
  const char* out = crypt_r(pw.c_str(), hash.c_str(), &data);
  if (out == nullptr || out[0] == '*') return false;
  return constantTimeEqual(out, hash);
}

Result<WebConfig> loadWebConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read web config file", path};
  std::stringstream buf;
  buf << in.rdbuf();
  return parseWebConfig(buf.str(), path);
}

Result<WebConfig> parseWebConfig(std::string_view text, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    return Error{e.msg, path, e.mark.line + 1, e.mark.column + 1};
  } catch (const YAML::Exception& e) {
    return Error{e.msg, path};
  }
  WebConfig out;
  if (!root || root.IsNull()) return out;
  if (!root.IsMap()) return at(path, root, "web config must be a mapping");
  try {
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node v = kv.second;
      if (key == "tls_server_config") {
        if (v.IsNull()) continue;
        if (!v.IsMap()) return at(path, v, "tls_server_config must be a mapping");
        for (const auto& t : v) {
          const std::string k = t.first.as<std::string>();
          const std::string s = t.second.IsNull() ? "" : t.second.as<std::string>();
          if (k == "cert_file") {
            out.certFile = resolve(path, s);
          } else if (k == "key_file") {
            out.keyFile = resolve(path, s);
          } else if (k == "client_ca_file") {
            out.clientCaFile = resolve(path, s);
          } else if (k == "client_auth_type") {
            if (s != "NoClientCert" && s != "RequireAndVerifyClientCert") {
              return at(path, t.second,
                        fmt::format("client_auth_type {:?} is not supported (NoClientCert, "
                                    "RequireAndVerifyClientCert)", s));
            }
            out.clientAuthType = s;
          } else if (k == "min_version") {
            static const std::set<std::string> kVersions = {"TLS10", "TLS11", "TLS12", "TLS13"};
            if (!kVersions.count(s)) {
              return at(path, t.second, fmt::format("unknown min_version {:?}", s));
            }
            out.minVersion = s;
          } else {
            return at(path, t.first, fmt::format("unknown key {:?} in tls_server_config", k));
          }
        }
        if (out.certFile.empty() != out.keyFile.empty()) {
          return at(path, v, "tls_server_config needs both cert_file and key_file");
        }
        if (out.certFile.empty()) return at(path, v, "tls_server_config without cert_file");
        for (const auto* f : {&out.certFile, &out.keyFile}) {
          if (::access(f->c_str(), R_OK) != 0) {
            return at(path, v, fmt::format("cannot read {}", *f));
          }
        }
        if (out.clientAuthType == "RequireAndVerifyClientCert" && out.clientCaFile.empty()) {
          return at(path, v, "client_auth_type RequireAndVerifyClientCert needs client_ca_file");
        }
      } else if (key == "basic_auth_users") {
        if (v.IsNull()) continue;
        if (!v.IsMap()) return at(path, v, "basic_auth_users must be a mapping of user: bcrypt hash");
        for (const auto& u : v) {
          const std::string user = u.first.as<std::string>();
          const std::string hash = u.second.IsNull() ? "" : u.second.as<std::string>();
          if (user.find(':') != std::string::npos) {
            return at(path, u.first, "a basic auth user name cannot contain ':'");
          }
          // The hash is a secret too: never echo it.
          if (!isBcrypt(hash)) {
            return at(path, u.second, fmt::format("the password of {:?} is not a bcrypt hash", user));
          }
          out.basicAuthUsers[user] = hash;
        }
      } else if (key == "http_server_config") {
        // exporter-toolkit's http2 / headers switches: accepted, nothing to do for civetweb.
        if (!v.IsNull() && !v.IsMap()) return at(path, v, "http_server_config must be a mapping");
      } else {
        return at(path, kv.first, fmt::format("unknown key {:?}", key));
      }
    }
  } catch (const YAML::Exception& e) {
    return Error{e.msg, path, e.mark.line + 1, e.mark.column + 1};
  }
  return out;
}

bool BasicAuth::check(const char* authorization) {
  if (authorization == nullptr) return false;
  std::string_view h = authorization;
  if (h.size() < 6 || (h.substr(0, 6) != "Basic " && h.substr(0, 6) != "basic ")) return false;
  std::string decoded;
  if (!base64Decode(h.substr(6), &decoded)) return false;
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded.substr(0, colon);
  const std::string_view password = std::string_view(decoded).substr(colon + 1);
  auto it = users_.find(user);
  const std::string& hash = it == users_.end() ? std::string(kDummyHash) : it->second;
  std::string key = decoded;
  key.push_back('\0');
  key += hash;
  {
    std::lock_guard lock(mu_);
    if (it != users_.end() && verified_.count(key)) return true;
  }
  const bool ok = bcryptMatches(password, hash) && it != users_.end();
  if (ok) {
    std::lock_guard lock(mu_);
    if (verified_.size() >= 256) verified_.clear();
    verified_.insert(std::move(key));
  }
  return ok;
}

}  // namespace vigil::web
