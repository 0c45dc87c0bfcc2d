#!/usr/bin/env bash
# Install what is missing for a release build (install-deps.sh --demo) and
# build qs-jwt into build-release/.
# Prints the binary's path. Usage: scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --demo
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DQSJWT_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" >/dev/null
echo "$PWD/build-release/qs-jwt"
