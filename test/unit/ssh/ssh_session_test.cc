#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include <fmt/format.h>

#include "probes/ssh_session.h"

using vigil::Duration;
using vigil::SshSessionState;

namespace {

// A private key-shaped file in a fresh temp dir, removed afterwards.
struct TempKey {
  std::string dir;
  std::string path;
  TempKey() {
    char tmpl[] = "/tmp/vigil-ssh-test-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    path = dir + "/id_ed25519";
    std::ofstream(path) << "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n";
  }
  ~TempKey() {
    std::remove(path.c_str());
    rmdir(dir.c_str());
  }
};

}  // namespace

TEST_CASE("identity files accessible by group or others are refused, naming the file") {
  TempKey key;
  auto [mode, ok] = GENERATE(table<mode_t, bool>({
      {0600, true},
      {0400, true},
      {0700, true},
      {0640, false},
      {0604, false},
      {0644, false},
      {0660, false},
      {0602, false},
  }));
  REQUIRE(chmod(key.path.c_str(), mode) == 0);
  auto st = vigil::checkIdentityFilePermissions(key.path);
  INFO(fmt::format("mode {:04o}", mode));
  REQUIRE(st.ok() == ok);
  if (!ok) {
    REQUIRE(st.error().message ==
            fmt::format("identity_file {}: permissions {:04o} are too open: a private key must not "
                        "be accessible by group or others (chmod 600 {})",
                        key.path, mode, key.path));
    // the contents never appear in the message
    REQUIRE(st.error().message.find("not a key") == std::string::npos);
  }
}

TEST_CASE("a missing identity file or a directory is an error naming it") {
  TempKey key;
  auto missing = vigil::checkIdentityFilePermissions(key.dir + "/nope");
  REQUIRE_FALSE(missing.ok());
  REQUIRE(missing.error().message ==
          "identity_file " + key.dir + "/nope: No such file or directory");
  REQUIRE(chmod(key.dir.c_str(), 0700) == 0);
  auto dir = vigil::checkIdentityFilePermissions(key.dir);
  REQUIRE_FALSE(dir.ok());
  REQUIRE(dir.error().message == "identity_file " + key.dir + ": not a regular file");
}

TEST_CASE("reconnect backoff doubles from 1 s up to the cap, jitter only shortens it") {
  auto [failures, ms] = GENERATE(table<int, int64_t>({
      {0, 0},
      {1, 1000},
      {2, 2000},
      {3, 4000},
      {5, 16000},
      {6, 30000},
      {7, 30000},
      {1000, 30000},
  }));
  REQUIRE(vigil::sshReconnectBackoff(failures, 0.0).count() == ms);
  // the most jitter takes off a fifth
  REQUIRE(vigil::sshReconnectBackoff(failures, 1.0).count() == ms * 4 / 5);
  auto mid = vigil::sshReconnectBackoff(failures, 0.5).count();
  REQUIRE(mid <= ms);
  REQUIRE(mid >= ms * 4 / 5);
  // out-of-range jitter is clamped, never makes the wait longer or negative
  REQUIRE(vigil::sshReconnectBackoff(failures, 7.0).count() == ms * 4 / 5);
  REQUIRE(vigil::sshReconnectBackoff(failures, -3.0).count() == ms);
}

TEST_CASE("every session state has its own name") {
  std::set<std::string> names;
  for (auto s : {SshSessionState::kDisconnected, SshSessionState::kConnecting,
                 SshSessionState::kHandshake, SshSessionState::kHostKey, SshSessionState::kAuth,
                 SshSessionState::kReady, SshSessionState::kBroken}) {
    names.insert(std::string(vigil::toString(s)));
  }
  REQUIRE(names.size() == 7);
  REQUIRE(names.count("ready") == 1);
  REQUIRE(names.count("unknown") == 0);
}
