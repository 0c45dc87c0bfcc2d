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
# Cases (begin, fail, finish) and b64url_decode come from tests/lib/common.sh;
# assert_contains and assert_rc here take a string and print stderr.

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
# The clock of the reference vectors and the times it gives all-claims.cmd.
# shellcheck disable=SC2034
PINNED='@2030-01-01 00:00:00'
# shellcheck disable=SC2034
PINNED_IAT=1893456000
# shellcheck disable=SC2034
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

assert_absent() {
	[ ! -e "$1" ] && [ ! -L "$1" ] && return 0
	fail "should not exist: $1"
	return 1
}

assert_same_file() {
	cmp -s "$1" "$2" && return 0
	fail "$2 differs from $1"
	return 1
}

# assert_contains HAYSTACK NEEDLE WHAT
assert_contains() {
	case $1 in
	*"$2"*) return 0 ;;
	esac
	fail "${3:-text}: '$2' not found in '$1'"
	return 1
}

# run (tests/lib/common.sh): building a package or a consumer takes minutes
# on a loaded machine, so a run is cut only after 15 minutes.
RUN_TIMEOUT=900

assert_rc() {
	[ "$RC" = "$1" ] && return 0
	fail "exit code: expected $1, got $RC; stderr:"
	sed 's/^/    /' "$ERR" | head -40
	return 1
}

# ---- JWT checks ------------------------------------------------------------

# jwt_verifies_openssl TOKEN PUBLIC.pem: openssl accepts the RS256 signature.
jwt_verifies_openssl() {
	local tok=$1 pub=$2 d
	d=$(mktemp -d "$T_TMP/jwt.XXXXXX")
	printf '%s' "${tok%.*}" >"$d/input"
	b64url_decode "${tok##*.}" >"$d/sig" || return 1
	openssl dgst -sha256 -verify "$pub" -signature "$d/sig" "$d/input" >/dev/null 2>&1
}

# assert_reference_token FILE: FILE holds tests/data/vectors/all-claims.jwt
# exactly, and openssl verifies its signature with the vector public key.
assert_reference_token() {
	local f=$1 tok
	assert_same_file "$VEC/all-claims.jwt" "$f"
	tok=$(head -n 1 "$f")
	if [ -z "$tok" ]; then
		fail "no token in $f"
		return 1
	fi
	jwt_verifies_openssl "$tok" "$VEC/publickey.pem" && return 0
	fail "openssl does not verify the token in $f with $VEC/publickey.pem"
	return 1
}
