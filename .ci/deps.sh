#!/usr/bin/env bash
# Installs the Debian 12 packages vigil builds and tests with (as root). Installs only what is
# missing, so a second run costs a few seconds. Packaged services (nginx, haproxy, prometheus,
# ...) are not started by the install: vigil's tests start their own copies on loopback ports.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config git
  libcurl4-openssl-dev nlohmann-json3-dev prometheus-cpp-dev libfmt-dev catch2 libssh-dev
  libyaml-cpp-dev libcivetweb-dev libre2-dev libsqlite3-dev libcli11-dev libbenchmark-dev libssl-dev)
test_pkgs=(python3 curl clang libclang-rt-14-dev nginx haproxy openssh-server openssh-client
  prometheus prometheus-alertmanager prometheus-node-exporter prometheus-blackbox-exporter)

want=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "vigil: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
  exit 1
fi
echo "vigil: installing ${missing[*]}" >&2
# Keep packaged daemons from starting during this install (only if no policy is set already).
own_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  own_policy=1
fi
trap '[ $own_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
