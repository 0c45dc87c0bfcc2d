#!/usr/bin/env bash
# PKCS#11 modules for the token tests that must not be installed on the
# machine: a Debian package such as libtpm2-pkcs11-1 drops a file into
# /usr/share/p11-kit/modules, and from then on p11-kit loads that module
# into every program that asks it for "all the modules" (every other test
# suite on the machine included). So they are fetched with
# `apt-get download` and unpacked with `dpkg -x` into a private cache; the
# tests load them by path, and nothing outside the cache changes.
#
# Usage: scripts/tokens.sh fetch CACHE_DIR
#   Unpacks each package below into CACHE_DIR/PACKAGE (once; later calls do
#   nothing) and prints nothing on success. Exit 1 when a package cannot be
#   fetched (no registry reachable): the tests then skip the module, saying
#   why.
#
# Packages that register nothing (swtpm, tpm2-tools, the libtss2 libraries,
# tpm2_ptool and its Python modules) are installed normally by
# scripts/install-deps.sh.
#
#   libtpm2-pkcs11-1  the tpm2-pkcs11 module (registers itself with p11-kit)
#   tpm2-abrmd        the TPM2 access broker and resource manager: its
#                     package also installs a system D-Bus policy and an
#                     init script that starts a system-wide daemon; the
#                     tests run their own copy on a private D-Bus.
#   opencryptoki,     openCryptoki's slot daemon, tools and soft token: its
#   libopencryptoki0  package adds a system group and starts a system-wide
#                     pkcsslotd, and its paths (/etc/opencryptoki,
#                     /var/lib/opencryptoki, /run) are compiled in; the
#                     tests lay the unpacked files over / in a private mount
#                     namespace and run their own pkcsslotd there.
set -euo pipefail

PACKAGES=(libtpm2-pkcs11-1 tpm2-abrmd opencryptoki libopencryptoki0)

fetch() {
	local cache=$1 p work
	mkdir -p "$cache"
	cache=$(cd "$cache" && pwd)
	# Tests run in parallel: one fetch at a time, the others wait for it.
	exec 9>"$cache/.lock"
	flock -w 300 9 || { echo "tokens.sh: cannot lock $cache/.lock" >&2; return 1; }
	for p in "${PACKAGES[@]}"; do
		[ -d "$cache/$p" ] && continue
		work=$(mktemp -d "$cache/.fetch.XXXXXX")
		if ! (cd "$work" && apt-get download -qq "$p" >download.log 2>&1) ||
			! dpkg -x "$work"/"$p"_*.deb "$work/root"; then
			echo "tokens.sh: cannot fetch the Debian package $p:" >&2
			cat "$work/download.log" >&2 2>/dev/null
			rm -rf "$work"
			return 1
		fi
		mv "$work/root" "$cache/$p"
		rm -rf "$work"
	done
}

case "${1:-}" in
fetch)
	[ $# -eq 2 ] || { echo "usage: $0 fetch CACHE_DIR" >&2; exit 2; }
	fetch "$2"
	;;
*)
	echo "usage: $0 fetch CACHE_DIR" >&2
	exit 2
	;;
esac
