#pragma once
// One SSH connection to one host, for the memory probe: connect, strict host-key check, key
// authentication, then any number of commands, each on a new channel. A thin RAII layer over
// libssh in non-blocking mode, where every call waits on the socket with poll() against the
// caller's deadline: a host that accepts TCP and then says nothing costs exactly the remaining
// time of the probe in whichever phase it stalls (connect, key exchange, auth, channel open,
// exec, read), never more.
//
// Blocking from the caller's point of view: SshProber runs it on a worker thread, never on the
// probe loop. Not thread-safe: one thread at a time per session.

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "agent/config/config.h"
#include "agent/core/clock.h"
#include "agent/core/error.h"
#include "agent/core/failure_reason.h"

struct addrinfo;  // <netdb.h>

struct ssh_session_struct;
struct ssh_key_struct;

namespace vigil {

/// Deadlines are monotonic: a wall-clock jump must not cut or stretch a probe.
using SshDeadline = std::chrono::steady_clock::time_point;

/// What went wrong, as the probe will report it: `reason` becomes the result label, `message`
/// (never secret) the error text. reason == kNone means success.
struct SshOutcome {
  FailureReason reason = FailureReason::kNone;
  std::string message;

  bool ok() const { return reason == FailureReason::kNone; }
  static SshOutcome fail(FailureReason r, std::string m) { return {r, std::move(m)}; }
};

/// The session's life, one enum and one transition point (SshSession::setState). kBroken is
/// final: the owner drops the session and connects a new one (with backoff).
enum class SshSessionState {
  kDisconnected,  ///< nothing yet
  kConnecting,    ///< TCP connect
  kHandshake,     ///< banner exchange and key exchange
  kHostKey,       ///< checking the server's key against known_hosts
  kAuth,          ///< public-key authentication
  kReady,         ///< authenticated; channels can be opened
  kBroken,        ///< a phase failed or the peer went away
};

std::string_view toString(SshSessionState s);

/// OpenSSH's rule for private keys (sshkey_perm_ok), slightly stricter: the key file must be a
/// regular file that neither group nor others can read or write, whoever owns it. The error
/// names the file and its mode; it never contains the key.
Status checkIdentityFilePermissions(const std::string& path);

/// How long to wait before connecting again after `failures` consecutive failed connects
/// (>= 1): 1 s, 2 s, 4 s, ... capped at kSshMaxBackoff, then shortened by up to 20% by
/// `jitter` (in [0, 1)) so that many hosts failing together do not reconnect in lockstep. Pure.
Duration sshReconnectBackoff(int failures, double jitter);
inline constexpr Duration kSshMaxBackoff = std::chrono::seconds(30);

/// Upper bound on what one command may print (stdout); /proc/meminfo + /proc/vmstat are ~6 KiB.
inline constexpr size_t kMaxSshOutputBytes = 1 << 20;

class SshSession {
 public:
  /// Copies `cfg`. `stop`, when given, aborts waits soon after it turns true (agent shutdown).
  explicit SshSession(const config::SshMemory& cfg, const std::atomic<bool>* stop = nullptr);
  ~SshSession();
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  /// TCP connect, key exchange, host-key check against known_hosts, authentication with
  /// identity_file (or ssh-agent), all before `deadline`. On failure the session is kBroken and
  /// the outcome says why: kDns, kRefused, kConnect, kTimeout (naming the phase), kReset,
  /// kProtocol (not an SSH server, no common algorithm), kHostKey (unknown or changed key,
  /// never accepted), kAuth (key refused, unusable identity_file, no agent).
  SshOutcome connect(SshDeadline deadline);

  /// Runs `command` on a new channel and collects its stdout (at most kMaxSshOutputBytes, else
  /// kTooLarge) before `deadline`. A non-zero exit status is kStatus with the first line of
  /// stderr. Errors that end the connection (kReset, kTimeout) leave the session kBroken.
  /// `roundTripSeconds` gets the time the channel open took: one request, one reply.
  SshOutcome exec(const std::string& command, SshDeadline deadline, std::string& out,
                  double& roundTripSeconds);

  SshSessionState state() const { return state_; }
  /// "SHA256:..." of the server's host key as OpenSSH prints it, and its type ("ssh-ed25519");
  /// empty before the key exchange.
  const std::string& hostKeyFingerprint() const { return fingerprint_; }
  const std::string& hostKeyType() const { return keyType_; }
  /// "[host]:port" (or "host" for port 22), as in known_hosts and in messages.
  const std::string& where() const { return where_; }
  /// Seconds the TCP connect and the handshake (kex + host key + auth) took in connect().
  double connectSeconds() const { return connectSeconds_; }
  double handshakeSeconds() const { return handshakeSeconds_; }

 private:
  void setState(SshSessionState next) { state_ = next; }
  SshOutcome broken(FailureReason r, std::string message);
  SshOutcome tcpConnect(SshDeadline deadline, int& fdOut);
  /// The host's addresses (freed by the caller with freeaddrinfo), resolved within the deadline.
  SshOutcome resolve(SshDeadline deadline, ::addrinfo** out);
  SshOutcome checkHostKey();
  SshOutcome authenticate(SshDeadline deadline);
  /// Waits until the socket is readable (or writable, when libssh has output pending), the
  /// deadline passes (kTimeout for `phase`) or stop is set.
  SshOutcome waitSocket(SshDeadline deadline, std::string_view phase);
  /// kReset when libssh's error says the connection went away, else `otherwise`.
  SshOutcome libsshError(std::string_view phase, FailureReason otherwise);

  config::SshMemory cfg_;
  const std::atomic<bool>* stop_;
  ssh_session_struct* session_ = nullptr;
  SshSessionState state_ = SshSessionState::kDisconnected;
  std::string where_;
  std::string fingerprint_;
  std::string keyType_;
  double connectSeconds_ = 0;
  double handshakeSeconds_ = 0;
};

}  // namespace vigil
