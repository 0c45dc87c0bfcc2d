#!/usr/bin/env bash
# Install the Debian 12 packages qs-jwt needs to build, test and demo, when
# they are missing (libclang-rt-14-dev is only recommended by clang, but
# libFuzzer lives there; the tests call python3, man, col, chattr, ps, file, strace;
# the serve tests curl and setpriv, its benchmark wrk; systemd for
# systemd-analyze and systemd-socket-activate, prometheus for promtool).
# Usage: scripts/install-deps.sh
set -euo pipefail

packages=(
	build-essential cmake pkg-config
	libssl-dev openssl libcjson-dev libp11-kit-dev p11-kit
	libcmocka-dev faketime scdoc dpkg-dev bash-completion zsh
	softhsm2 opensc gnutls-bin
	clang libclang-rt-14-dev valgrind hyperfine
	python3 man-db groff-base bsdextrautils procps e2fsprogs file strace
	libmicrohttpd-dev curl util-linux wrk
	libsystemd-dev libgnutls28-dev systemd prometheus
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
