# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Shared helpers of the packaging tests (tests/package/test_*.sh). Source it:
#
#   . "$(dirname "$0")/lib.sh"
#   begin "what this case checks"
#   assert_eq expected actual "what"
#   finish
#
# Environment (set by ctest): QSJWT_BIN (the built qs-jwt), QSJWT_BUILD_DIR (its
# build tree), QSJWT_SOURCE_DIR, QSJWT_TEST_DATA (tests/data).
# Cases, runs, assertions and JWT checks come from tests/lib/common.sh.

# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
unset QSJWT_KEY_PASSPHRASE QSJWT_PKCS11_PIN NO_COLOR

for _v in QSJWT_BIN QSJWT_BUILD_DIR QSJWT_SOURCE_DIR QSJWT_TEST_DATA; do
	if [ -z "${!_v:-}" ]; then
		echo "$_v must be set (ctest sets it)" >&2
		exit 2
	fi
done
if [ ! -x "$QSJWT_BIN" ] || [ ! -d "$QSJWT_BUILD_DIR" ] ||
	[ ! -f "$QSJWT_SOURCE_DIR/CMakeLists.txt" ] || [ ! -d "$QSJWT_TEST_DATA/vectors" ]; then
	echo "bad environment: QSJWT_BIN=$QSJWT_BIN QSJWT_BUILD_DIR=$QSJWT_BUILD_DIR" \
		"QSJWT_SOURCE_DIR=$QSJWT_SOURCE_DIR QSJWT_TEST_DATA=$QSJWT_TEST_DATA" >&2
	exit 2
fi

# shellcheck disable=SC2034 # the variables below are for the scripts that source this
PKG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VEC=$(cd "$QSJWT_TEST_DATA/vectors" && pwd)
# The project version, from the top-level project() call.
VERSION=$(sed -nE 's/^project\(qsjwt VERSION ([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' \
	"$QSJWT_SOURCE_DIR/CMakeLists.txt")
# shellcheck disable=SC2034
SOVERSION=${VERSION%%.*}
# The exp all-claims.cmd gets under PINNED (PINNED_IAT: tests/lib/common.sh).
PINNED_EXP=1893459600

t_tmp pkg

# Stop here: what follows cannot run (the failure is counted first).
fatal() {
	fail "$@"
	finish
}

assert_file() {
	[ -f "$1" ] && [ ! -L "$1" ] && return 0
	fail "missing regular file: $1"
	return 1
}

assert_nonempty_file() {
	[ -f "$1" ] && [ -s "$1" ] && return 0
	fail "missing or empty file: $1"
	return 1
}

assert_symlink() {
	local link=$1 target=$2 got
	if [ ! -L "$link" ]; then
		fail "not a symbolic link: $link"
		return 1
	fi
	got=$(readlink "$link")
	assert_eq "$target" "$got" "target of $link"
}

# run (tests/lib/common.sh): building a package or a consumer takes minutes
# on a loaded machine, so a run is cut only after 15 minutes.
RUN_TIMEOUT=900

# ---- JWT checks ------------------------------------------------------------

# assert_reference_token FILE: FILE holds tests/data/vectors/all-claims.jwt
# exactly, and openssl verifies its signature with the vector public key.
assert_reference_token() {
	local f=$1 tok
	assert_file_eq "$VEC/all-claims.jwt" "$f"
	tok=$(head -n 1 "$f")
	if [ -z "$tok" ]; then
		fail "no token in $f"
		return 1
	fi
	jwt_verifies "$tok" "$VEC/publickey.pem" && return 0
	fail "openssl does not verify the token in $f with $VEC/publickey.pem"
	return 1
}
