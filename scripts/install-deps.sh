#!/usr/bin/env bash
# Install the Debian 12 packages qs-jwt needs, when they are missing.
# Usage: scripts/install-deps.sh [--demo]
#   --demo  only what building the release binary and scripts/demo.sh need
#           (compiler, CMake, scdoc, the three libraries, p11-kit, SoftHSM2);
#   default the demo set and what the tests, fuzzing, packaging and the
#           benchmark need (cmocka, faketime, OpenSC's and GnuTLS's PKCS#11
#           tools, clang with libFuzzer -- libclang-rt-14-dev is only
#           recommended by clang --, valgrind, hyperfine, and the tools the
#           tests call: python3, man, col, chattr, ps, file, strace, zsh).
# A dpkg lock held by another apt (an unattended upgrade) is waited for, up
# to 120 s, instead of failing at once.
# The serve tests call curl and setpriv, its benchmark wrk; systemd gives
# systemd-analyze and systemd-socket-activate, prometheus promtool.
set -euo pipefail

demo=(
	build-essential cmake pkg-config scdoc
	libssl-dev openssl libcjson-dev libp11-kit-dev p11-kit
	softhsm2
)
tests=(
	libcmocka-dev faketime dpkg-dev bash-completion zsh
	opensc gnutls-bin
	clang libclang-rt-14-dev valgrind hyperfine
	python3 man-db groff-base bsdextrautils procps e2fsprogs file strace
	libmicrohttpd-dev curl util-linux wrk
	# Other tokens (tests/tokens): only packages that register no PKCS#11
	# module with p11-kit; the modules themselves are unpacked privately by
	# scripts/tokens.sh.
	swtpm swtpm-tools tpm2-tools libtss2-tcti-swtpm0 libtss2-tcti-tabrmd0
	libtss2-esys-3.0.2-0 libtss2-mu0 libtss2-rc0 libtss2-tctildr0 libsqlite3-0 libyaml-0-2
	libtpm2-pkcs11-tools python3-tpm2-pkcs11-tools dbus-daemon util-linux libnss3-tools
	libsystemd-dev libgnutls28-dev systemd prometheus
	# the Windows build and its suite under wine (scripts/windows.sh)
	gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine64 wine meson ninja-build zip unzip
	xz-utils
)

case ${1:-} in
--demo) packages=("${demo[@]}") ;;
'') packages=("${demo[@]}" "${tests[@]}") ;;
*)
	echo "usage: scripts/install-deps.sh [--demo]" >&2
	exit 2
	;;
esac

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
apt=("${sudo[@]}" apt-get -o DPkg::Lock::Timeout=120)
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
