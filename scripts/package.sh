#!/usr/bin/env bash
# Build the Debian package of qs-jwt with CPack into build-pkg/ and print its
# path. Usage: scripts/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
	-DQSJWT_ZSH_COMPLETION_DIR=share/zsh/vendor-completions -DQSJWT_TESTS=OFF >/dev/null
cmake --build build-pkg -j "$(nproc)" >/dev/null
(cd build-pkg && cpack -G DEB >/dev/null)
ls "$PWD"/build-pkg/qs-jwt_*.deb
