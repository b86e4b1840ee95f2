#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root): installs what is missing,
# builds, and runs
#   1. the unit, rule and integration tests on a -Werror build (real nginx, Prometheus,
#      promtool, ... started by the tests on loopback),
#   2. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. the unit tests again under ThreadSanitizer (the probe loop, SSH workers, rule thread,
#      notifier and store are exercised across threads there),
#   4. a short smoke run of every libFuzzer target (clang).
# Exit status 0 only when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${VIGIL_JOBS:-2}

.ci/deps.sh --test

step() { printf '\n=== %s\n' "$*"; }

step "build (warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

step "build with AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=ON -DVIGIL_WERROR=ON \
  -DVIGIL_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"

step "build with ThreadSanitizer"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_TSAN=ON -DVIGIL_WERROR=ON \
  -DVIGIL_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs"

step "build the fuzz targets (clang, libFuzzer)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_FUZZ=ON \
  >/dev/null
cmake --build build-fuzz -j"$jobs"

status=0
step "unit tests under ASan + UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest -L unit --output-on-failure -j"$jobs") || status=1

step "unit tests under ThreadSanitizer"
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest -L unit --output-on-failure -j"$jobs") || status=1

step "fuzz smoke runs"
(cd build-fuzz && ctest -L fuzz --output-on-failure) || status=1

step "unit, rule and integration tests"
(cd build && ctest --output-on-failure -j"$jobs") || status=1

exit $status
