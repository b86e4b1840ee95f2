#include "probes/ssh_session.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace vigil {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Waits are sliced so that a stop request (agent shutdown) is seen within this time even while
// a hung host holds the worker.
constexpr int kMaxPollSliceMs = 100;

double secondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

int64_t msUntil(SshDeadline deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now())
      .count();
}

struct KeyFree {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyFree>;

struct ChannelFree {
  // libssh sends a close for a channel still open (queued, not waited for: the session stays
  // usable) and forgets it once the peer's close arrives.
  void operator()(ssh_channel c) const { ssh_channel_free(c); }
};
using ChannelPtr = std::unique_ptr<ssh_channel_struct, ChannelFree>;

struct AddrInfoFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

/// One name lookup on a thread of its own (getaddrinfo has no deadline). The thread and the
/// waiting probe share this; whichever lets go last frees it.
struct Lookup {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  int rc = 0;
  addrinfo* result = nullptr;
  ~Lookup() {
    if (result != nullptr) freeaddrinfo(result);
  }
};

std::shared_ptr<Lookup> startLookup(const std::string& host, const std::string& port) {
  auto l = std::make_shared<Lookup>();
  std::thread([l, host, port] {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    std::lock_guard lock(l->mu);
    l->rc = rc;
    l->result = rc == 0 ? res : nullptr;
    l->done = true;
    l->cv.notify_all();
  }).detach();
  return l;
}

// Lookups that outlived a probe's deadline, by "host port". A DNS server that never answers
// holds getaddrinfo for resolv.conf's timeout × attempts; starting another lookup on every
// attempt would pile threads up behind it, so the next connect attempt to the same host takes
// the running one and waits on it instead. At most one per configured host.
std::mutex gPendingMu;
std::map<std::string, std::shared_ptr<Lookup>>& pendingLookups() {
  static auto* m = new std::map<std::string, std::shared_ptr<Lookup>>;
  return *m;
}

bool numericHost(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// The first line of `text`, trimmed and bounded, for error messages.
std::string firstLine(std::string_view text, size_t max = 200) {
  size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.size() > max) return std::string(line.substr(0, max)) + "...";
  return std::string(line);
}

}  // namespace

std::string_view toString(SshSessionState s) {
  switch (s) {
    case SshSessionState::kDisconnected: return "disconnected";
    case SshSessionState::kConnecting: return "connecting";
    case SshSessionState::kHandshake: return "handshake";
    case SshSessionState::kHostKey: return "host_key";
    case SshSessionState::kAuth: return "auth";
    case SshSessionState::kReady: return "ready";
    case SshSessionState::kBroken: return "broken";
  }
  return "unknown";
}

Status checkIdentityFilePermissions(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Error{fmt::format("identity_file {}: {}", path, std::strerror(errno)), "", 0, 0};
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{fmt::format("identity_file {}: not a regular file", path), "", 0, 0};
  }
  if ((st.st_mode & 077) != 0) {
    return Error{fmt::format("identity_file {}: permissions {:04o} are too open: a private key "
                             "must not be accessible by group or others (chmod 600 {})",
                             path, st.st_mode & 07777, path),
                 "", 0, 0};
  }
  return Ok{};
}

Duration sshReconnectBackoff(int failures, double jitter) {
  if (failures < 1) return Duration{0};
  const int64_t base = 1000;
  const int shift = std::min(failures - 1, 20);
  const int64_t raw = std::min<int64_t>(base << shift, kSshMaxBackoff.count());
  jitter = std::clamp(jitter, 0.0, 1.0);
  return Duration{
      static_cast<int64_t>(std::llround(static_cast<double>(raw) * (1 - 0.2 * jitter)))};
}

SshSession::SshSession(const config::SshMemory& cfg, const std::atomic<bool>* stop)
    : cfg_(cfg), stop_(stop) {
  where_ = cfg_.port == 22 ? cfg_.host : fmt::format("[{}]:{}", cfg_.host, cfg_.port);
}

SshSession::~SshSession() {
  if (session_ != nullptr) {
    // Sends SSH_MSG_DISCONNECT when still connected (non-blocking), closes the socket.
    ssh_disconnect(session_);
    ssh_free(session_);
  }
}

SshOutcome SshSession::broken(FailureReason r, std::string message) {
  setState(SshSessionState::kBroken);
  return SshOutcome::fail(r, std::move(message));
}

SshOutcome SshSession::waitSocket(SshDeadline deadline, std::string_view phase) {
  const int fd = session_ != nullptr ? ssh_get_fd(session_) : -1;
  if (fd < 0) return broken(FailureReason::kReset, fmt::format("{}: connection closed", phase));
  while (true) {
    if (stop_ != nullptr && stop_->load(std::memory_order_relaxed)) {
      return broken(FailureReason::kInternal, "shutting down");
    }
    const int64_t left = msUntil(deadline);
    if (left <= 0) {
      return broken(FailureReason::kTimeout,
                    fmt::format("timed out in phase {} ({} said nothing in time)", phase, where_));
    }
    pollfd p{fd, POLLIN, 0};
    if (ssh_get_poll_flags(session_) & SSH_WRITE_PENDING) p.events |= POLLOUT;
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, kMaxPollSliceMs)));
    if (rc > 0) return {};
    if (rc < 0 && errno != EINTR) {
      return broken(FailureReason::kInternal, fmt::format("poll: {}", std::strerror(errno)));
    }
  }
}

SshOutcome SshSession::libsshError(std::string_view phase, FailureReason otherwise) {
  std::string err = session_ != nullptr ? ssh_get_error(session_) : "";
  std::string lower = err;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  FailureReason r = otherwise;
  if (lower.find("closed") != std::string::npos || lower.find("reset") != std::string::npos ||
      lower.find("socket error") != std::string::npos ||
      lower.find("disconnect") != std::string::npos) {
    r = FailureReason::kReset;
  }
  if (err.empty()) err = "failed";
  return broken(r, fmt::format("{} with {}: {}", phase, where_, err));
}

SshOutcome SshSession::resolve(SshDeadline deadline, addrinfo** out) {
  const std::string port = std::to_string(cfg_.port);
  if (numericHost(cfg_.host)) {
    // No lookup: the usual case for monitored hosts.
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
    if (int rc = ::getaddrinfo(cfg_.host.c_str(), port.c_str(), &hints, out); rc != 0) {
      return broken(FailureReason::kDns,
                    fmt::format("cannot resolve {}: {}", cfg_.host, gai_strerror(rc)));
    }
    return {};
  }
  const std::string key = cfg_.host + " " + port;
  std::shared_ptr<Lookup> lookup;
  {
    std::lock_guard lock(gPendingMu);
    auto& pending = pendingLookups();
    if (auto it = pending.find(key); it != pending.end()) {
      lookup = std::move(it->second);
      pending.erase(it);
    }
  }
  if (lookup == nullptr) lookup = startLookup(cfg_.host, port);
  std::unique_lock lock(lookup->mu);
  while (!lookup->done) {
    const int64_t left = msUntil(deadline);
    if (left <= 0 || (stop_ != nullptr && stop_->load(std::memory_order_relaxed))) {
      lock.unlock();
      std::lock_guard pendingLock(gPendingMu);
      pendingLookups()[key] = std::move(lookup);
      return broken(FailureReason::kTimeout,
                    fmt::format("timed out in phase resolve of {} (the lookup goes on; the next "
                                "attempt waits for it)",
                                cfg_.host));
    }
    lookup->cv.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(left, kMaxPollSliceMs)));
  }
  if (lookup->rc != 0) {
    return broken(FailureReason::kDns,
                  fmt::format("cannot resolve {}: {}", cfg_.host, gai_strerror(lookup->rc)));
  }
  *out = lookup->result;
  lookup->result = nullptr;  // now the caller's
  return {};
}

SshOutcome SshSession::tcpConnect(SshDeadline deadline, int& fdOut) {
  addrinfo* res = nullptr;
  if (SshOutcome r = resolve(deadline, &res); !r.ok()) return r;
  std::unique_ptr<addrinfo, AddrInfoFree> addrs(res);
  SshOutcome last = SshOutcome::fail(FailureReason::kConnect, "no address");
  for (addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = SshOutcome::fail(FailureReason::kInternal,
                              fmt::format("socket: {}", std::strerror(errno)));
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        err = ETIMEDOUT;
        while (true) {
          if (stop_ != nullptr && stop_->load(std::memory_order_relaxed)) break;
          const int64_t left = msUntil(deadline);
          if (left <= 0) break;
          pollfd p{fd, POLLOUT, 0};
          int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, kMaxPollSliceMs)));
          if (rc > 0) {
            socklen_t len = sizeof err;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            break;
          }
          if (rc < 0 && errno != EINTR) {
            err = errno;
            break;
          }
        }
      }
    }
    if (err == 0) {
      fdOut = fd;
      return {};
    }
    ::close(fd);
    if (err == ECONNREFUSED) {
      last = SshOutcome::fail(FailureReason::kRefused,
                              fmt::format("connect to {}: connection refused", where_));
    } else if (err == ETIMEDOUT) {
      last = SshOutcome::fail(FailureReason::kTimeout,
                              fmt::format("timed out in phase connect to {}", where_));
      break;  // the deadline is spent: no time for another address
    } else {
      last = SshOutcome::fail(FailureReason::kConnect,
                              fmt::format("connect to {}: {}", where_, std::strerror(err)));
    }
  }
  return broken(last.reason, std::move(last.message));
}

SshOutcome SshSession::connect(SshDeadline deadline) {
  if (state_ != SshSessionState::kDisconnected) {
    return SshOutcome::fail(FailureReason::kInternal, "SshSession::connect called twice");
  }
  const auto start = SteadyClock::now();
  setState(SshSessionState::kConnecting);
  int fd = -1;
  if (SshOutcome o = tcpConnect(deadline, fd); !o.ok()) return o;
  connectSeconds_ = secondsSince(start);
  const auto handshakeStart = SteadyClock::now();

  session_ = ssh_new();
  if (session_ == nullptr) {
    ::close(fd);
    return broken(FailureReason::kInternal, "ssh_new failed");
  }
  // From here the session owns the socket (ssh_free closes it).
  socket_t sock = fd;
  unsigned int port = static_cast<unsigned int>(cfg_.port);
  bool processConfig = false;  // ~/.ssh/config must not change what vigil.yaml says
  ssh_options_set(session_, SSH_OPTIONS_FD, &sock);
  ssh_options_set(session_, SSH_OPTIONS_HOST, cfg_.host.c_str());
  ssh_options_set(session_, SSH_OPTIONS_PORT, &port);
  ssh_options_set(session_, SSH_OPTIONS_PROCESS_CONFIG, &processConfig);
  if (!cfg_.user.empty()) ssh_options_set(session_, SSH_OPTIONS_USER, cfg_.user.c_str());
  if (!cfg_.knownHosts.empty()) {
    // known_hosts given: that file and nothing else (no /etc/ssh/ssh_known_hosts).
    ssh_options_set(session_, SSH_OPTIONS_KNOWNHOSTS, cfg_.knownHosts.c_str());
    ssh_options_set(session_, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  }
  ssh_set_blocking(session_, 0);

  setState(SshSessionState::kHandshake);
  while (true) {
    int rc = ssh_connect(session_);
    if (rc == SSH_OK) break;
    if (rc == SSH_ERROR) return libsshError("handshake", FailureReason::kProtocol);
    if (SshOutcome o = waitSocket(deadline, "handshake"); !o.ok()) return o;
  }

  setState(SshSessionState::kHostKey);
  if (SshOutcome o = checkHostKey(); !o.ok()) return o;

  setState(SshSessionState::kAuth);
  if (SshOutcome o = authenticate(deadline); !o.ok()) return o;
  handshakeSeconds_ = secondsSince(handshakeStart);
  setState(SshSessionState::kReady);
  return {};
}

SshOutcome SshSession::checkHostKey() {
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(session_, &raw) != SSH_OK) {
    return libsshError("host key", FailureReason::kProtocol);
  }
  KeyPtr key(raw);
  keyType_ = ssh_key_type_to_char(ssh_key_type(key.get()));
  unsigned char* hash = nullptr;
  size_t hashLen = 0;
  if (ssh_get_publickey_hash(key.get(), SSH_PUBLICKEY_HASH_SHA256, &hash, &hashLen) == 0) {
    char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hashLen);
    if (fp != nullptr) {
      fingerprint_ = fp;
      ssh_string_free_char(fp);
    }
    ssh_clean_pubkey_hash(&hash);
  }
  const std::string file = cfg_.knownHosts.empty() ? "~/.ssh/known_hosts" : cfg_.knownHosts;
  const std::string key_desc = fmt::format("{} key {}", keyType_, fingerprint_);
  switch (ssh_session_is_known_server(session_)) {
    case SSH_KNOWN_HOSTS_OK: return {};
    case SSH_KNOWN_HOSTS_CHANGED:
      return broken(FailureReason::kHostKey,
                    fmt::format("host key for {} CHANGED: the server offers {}, which does not "
                                "match the key in {} (possible man-in-the-middle; update {} if "
                                "the host was reinstalled)",
                                where_, key_desc, file, file));
    case SSH_KNOWN_HOSTS_OTHER:
      return broken(FailureReason::kHostKey,
                    fmt::format("host key for {} CHANGED: {} lists a key of another type for it, "
                                "the server offers {}",
                                where_, file, key_desc));
    case SSH_KNOWN_HOSTS_UNKNOWN:
      return broken(FailureReason::kHostKey,
                    fmt::format("host key for {} UNKNOWN: no entry in {} (the server offers {}; "
                                "vigil never adds keys itself)",
                                where_, file, key_desc));
    case SSH_KNOWN_HOSTS_NOT_FOUND:
      return broken(FailureReason::kHostKey,
                    fmt::format("host key for {} UNKNOWN: known_hosts file {} does not exist "
                                "(the server offers {})",
                                where_, file, key_desc));
    case SSH_KNOWN_HOSTS_ERROR: break;
  }
  return broken(FailureReason::kHostKey,
                fmt::format("cannot check the host key of {} against {}: {}", where_, file,
                            ssh_get_error(session_)));
}

SshOutcome SshSession::authenticate(SshDeadline deadline) {
  const std::string user = cfg_.user.empty() ? "the current user" : "user " + cfg_.user;
  if (!cfg_.identityFile.empty()) {
    if (Status st = checkIdentityFilePermissions(cfg_.identityFile); !st.ok()) {
      return broken(FailureReason::kAuth, st.error().message);
    }
    ssh_key raw = nullptr;
    // No passphrase callback: an encrypted key fails to load (use ssh-agent for those).
    if (ssh_pki_import_privkey_file(cfg_.identityFile.c_str(), nullptr, nullptr, nullptr, &raw) !=
        SSH_OK) {
      return broken(FailureReason::kAuth,
                    fmt::format("identity_file {}: cannot load the private key (not a key, or "
                                "protected by a passphrase: use ssh-agent for those)",
                                cfg_.identityFile));
    }
    KeyPtr key(raw);
    while (true) {
      int rc = ssh_userauth_publickey(session_, nullptr, key.get());
      if (rc == SSH_AUTH_SUCCESS) return {};
      if (rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL) {
        return broken(FailureReason::kAuth, fmt::format("{} refused the key in {} for {}", where_,
                                                        cfg_.identityFile, user));
      }
      if (rc == SSH_AUTH_ERROR) return libsshError("auth", FailureReason::kAuth);
      if (SshOutcome o = waitSocket(deadline, "auth"); !o.ok()) return o;
    }
  }
  const char* agent = std::getenv("SSH_AUTH_SOCK");
  if (agent == nullptr || *agent == '\0') {
    return broken(FailureReason::kAuth,
                  "no identity_file configured and no ssh-agent (SSH_AUTH_SOCK is not set)");
  }
  while (true) {
    int rc = ssh_userauth_agent(session_, nullptr);
    if (rc == SSH_AUTH_SUCCESS) return {};
    if (rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL) {
      return broken(FailureReason::kAuth,
                    fmt::format("{} refused every key ssh-agent offered for {}", where_, user));
    }
    if (rc == SSH_AUTH_ERROR) return libsshError("auth (ssh-agent)", FailureReason::kAuth);
    if (SshOutcome o = waitSocket(deadline, "auth"); !o.ok()) return o;
  }
}

SshOutcome SshSession::exec(const std::string& command, SshDeadline deadline, std::string& out,
                            double& roundTripSeconds) {
  out.clear();
  roundTripSeconds = 0;
  if (state_ != SshSessionState::kReady) {
    return SshOutcome::fail(FailureReason::kInternal, "exec on a session that is not ready");
  }
  ChannelPtr channel(ssh_channel_new(session_));
  if (!channel) return libsshError("channel", FailureReason::kInternal);

  const auto openStart = SteadyClock::now();
  while (true) {
    int rc = ssh_channel_open_session(channel.get());
    if (rc == SSH_OK) break;
    if (rc == SSH_ERROR) return libsshError("channel open", FailureReason::kProtocol);
    if (SshOutcome o = waitSocket(deadline, "channel open"); !o.ok()) return o;
  }
  roundTripSeconds = secondsSince(openStart);

  while (true) {
    int rc = ssh_channel_request_exec(channel.get(), command.c_str());
    if (rc == SSH_OK) break;
    if (rc == SSH_ERROR) return libsshError("exec", FailureReason::kProtocol);
    if (SshOutcome o = waitSocket(deadline, "exec"); !o.ok()) return o;
  }

  std::string err;
  char buf[16384];
  while (true) {
    bool progress = false;
    for (int isStderr : {0, 1}) {
      // > 0: data; 0: nothing yet; SSH_EOF: nothing more on this stream.
      int n = ssh_channel_read_nonblocking(channel.get(), buf, sizeof buf, isStderr);
      if (n == SSH_ERROR) return libsshError("read", FailureReason::kProtocol);
      if (n <= 0) continue;
      progress = true;
      if (isStderr) {
        if (err.size() < 4096) err.append(buf, static_cast<size_t>(n));  // only its start is shown
      } else {
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > kMaxSshOutputBytes) {
          return SshOutcome::fail(
              FailureReason::kTooLarge,
              fmt::format("`{}` printed more than {} bytes", command, kMaxSshOutputBytes));
        }
      }
    }
    if (progress) continue;
    if (ssh_channel_is_eof(channel.get())) break;  // the peer's EOF, both streams drained
    if (SshOutcome o = waitSocket(deadline, "read"); !o.ok()) return o;
  }
  // The exit status comes after (or with) the EOF. Once the EOF is seen, the read calls above
  // no longer process packets; ssh_channel_get_exit_status does, without blocking in this
  // non-blocking session, and answers -1 until the status (or the channel's close) arrived.
  int status = -1;
  while (true) {
    status = ssh_channel_get_exit_status(channel.get());
    if (!ssh_is_connected(session_)) return libsshError("exit status", FailureReason::kReset);
    if (status != -1 || ssh_channel_is_closed(channel.get())) break;
    if (SshOutcome o = waitSocket(deadline, "exit status"); !o.ok()) return o;
  }
  if (status != 0) {
    std::string detail = firstLine(err);
    return SshOutcome::fail(
        FailureReason::kStatus,
        fmt::format("`{}` on {} {}{}{}", command, where_,
                    status == -1 ? "ended without an exit status (killed by a signal?)"
                                 : fmt::format("exited with status {}", status),
                    detail.empty() ? "" : ": ", detail));
  }
  return {};
}

}  // namespace vigil
