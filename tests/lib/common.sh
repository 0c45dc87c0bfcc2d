# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# What every shell test suite shares. Each suite's lib.sh (tests/*/lib.sh)
# sources this first, then adds only what is its own (how it runs qs-jwt,
# its tokens, its assertions):
#
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
#   t_need_bin; t_need_test_data; t_need_source_dir   # check and absolutize
#   t_need_tools openssl faketime ...
#   t_tmp NAME                # $T_TMP, $OUT, $ERR; removed at exit
#
# Provided:
#   environment   set -u, LC_ALL=C, umask 022
#   setup         t_need_bin (QSJWT_BIN), t_need_test_data (QSJWT_TEST_DATA,
#                 and VEC=its vectors/), t_need_source_dir (QSJWT_SOURCE_DIR),
#                 t_need_tools TOOL..., t_tmp NAME (a fresh $T_TMP; commands
#                 given to at_exit CMD run at exit, last added first, then
#                 $T_TMP is removed; SIGINT/SIGTERM/SIGHUP exit 130/143/129)
#   cases         begin NAME, fail MESSAGE, finish (T_ECHO_CASES=1: begin
#                 prints each case's name); every failed assertion prints what
#                 was expected and what came; the script keeps going and
#                 finish exits 1 if any case failed
#   runs          run CMD..., run_stdin FILE CMD..., run_tty PROMPT INPUT
#                 CMD..., run_tty_stderr CMD... ($OUT, $ERR, $RC; stdin
#                 /dev/null unless given; RUN_ENV words added to the
#                 environment and cleared after the run unless RUN_ENV_KEEP=1;
#                 cut after RUN_TIMEOUT s or QSJWT_CMD_TIMEOUT; a sanitizer
#                 report fails the case; RUN_TTY_STDIN=null: run_tty_stderr's
#                 stdin is /dev/null); qs, qs_stdin, qs_pinned, qs_pinned_stdin
#                 (create-qseow; PINNED, PINNED_IAT)
#   last run      $OUT, $ERR, $RC of the last run; _show_last_run
#                 (T_SHOW_OUT_BYTES/_LINES, T_SHOW_ERR_BYTES/_LINES tune it)
#   assertions    assert_rc CODE, assert_eq WANT GOT [WHAT], assert_ne,
#                 assert_true CMD..., assert_false CMD..., assert_contains FILE
#                 TEXT, assert_text_contains TEXT NEEDLE [WHAT],
#                 assert_not_contains FILE TEXT, assert_empty_stdout,
#                 assert_empty_stderr, assert_file_eq WANT_FILE GOT_FILE,
#                 assert_exists PATH, assert_not_exists PATH, assert_dir_listing
#                 DIR "NAMES"
#   errors        assert_cli_error RC CMD MESSAGE (the command's error, exactly),
#                 assert_usage_error_of CMD NEEDLE..., assert_usage_error
#                 NEEDLE... (of create-qseow), assert_runtime_error NEEDLE...,
#                 assert_log LEVEL NEEDLE..., assert_no_log_level LEVEL,
#                 $LOG_STAMP_RE
#   JWTs          b64url_decode, jwt_header, jwt_payload, jwt_verifies TOKEN
#                 PUBKEY_OR_CERT [RSxxx|ESxxx], verify_jwt (the same, as an
#                 assertion, with the header checked), assert_token_stdout,
#                 assert_ok_token [PUBKEY [ALG]], assert_payload JSON ($TOKEN),
#                 pub_of_cert CERT, raw2der
#   other         _faketime_env (ASan's link-order check off under
#                 libfaketime), wait_for_file_text FILE TEXT SECONDS

set -u
export LC_ALL=C
umask 022
# `faketime` is tests/lib/bin/faketime (see there why not Debian's wrapper).
PATH=$(cd "$(dirname "${BASH_SOURCE[0]}")/bin" && pwd):$PATH

# ---- setup ------------------------------------------------------------------------

_t_die() {
	echo "$*" >&2
	exit 2
}

t_need_bin() {
	[ -n "${QSJWT_BIN:-}" ] && [ -x "${QSJWT_BIN}" ] ||
		_t_die "QSJWT_BIN must name the qs-jwt binary (got '${QSJWT_BIN:-}')"
	# Absolute paths: the cases change directory.
	QSJWT_BIN=$(cd "$(dirname "$QSJWT_BIN")" && pwd)/$(basename "$QSJWT_BIN")
}

t_need_test_data() {
	[ -n "${QSJWT_TEST_DATA:-}" ] && [ -d "${QSJWT_TEST_DATA}/vectors" ] ||
		_t_die "QSJWT_TEST_DATA must name tests/data (got '${QSJWT_TEST_DATA:-}')"
	QSJWT_TEST_DATA=$(cd "$QSJWT_TEST_DATA" && pwd)
	VEC=$QSJWT_TEST_DATA/vectors
}

t_need_source_dir() {
	[ -n "${QSJWT_SOURCE_DIR:-}" ] && [ -f "${QSJWT_SOURCE_DIR}/scripts/softhsm.sh" ] ||
		_t_die "QSJWT_SOURCE_DIR must name the source tree (got '${QSJWT_SOURCE_DIR:-}')"
	QSJWT_SOURCE_DIR=$(cd "$QSJWT_SOURCE_DIR" && pwd)
}

t_need_tools() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || _t_die "missing tool: $t"
	done
}

# Commands run at exit (e.g. stopping a p11-kit server), last added first.
T_CLEANUPS=()
at_exit() { T_CLEANUPS=("$*" "${T_CLEANUPS[@]}"); }
_cleanup() {
	local c
	for c in "${T_CLEANUPS[@]}"; do
		eval "$c" >/dev/null 2>&1
	done
	chmod -R u+rwx "$T_TMP" 2>/dev/null
	rm -rf "$T_TMP"
}

# t_tmp NAME: a fresh temporary directory $T_TMP (qsjwt-NAME.XXXXXX), with
# $OUT and $ERR in it, removed at exit.
t_tmp() {
	T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/qsjwt-$1.XXXXXX") || _t_die "cannot make a temporary directory"
	trap _cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	OUT=$T_TMP/stdout
	ERR=$T_TMP/stderr
	TTY_LOG=$T_TMP/tty
}

# ---- cases and results ------------------------------------------------------------

RC=
T_CASES=0
T_FAILS=0
T_CASE="(setup)"
T_CASE_FAILED=0
T_FAILED_CASES=()
T_ECHO_CASES=${T_ECHO_CASES:-0}

begin() {
	T_CASES=$((T_CASES + 1))
	T_CASE=$1
	T_CASE_FAILED=0
	[ "$T_ECHO_CASES" = 1 ] && printf -- '-- %s\n' "$1"
	return 0
}

fail() {
	if [ "$T_CASE_FAILED" = 0 ]; then
		T_FAILS=$((T_FAILS + 1))
		T_FAILED_CASES+=("$T_CASE")
	fi
	T_CASE_FAILED=1
	printf 'FAIL [%s]: %s\n' "$T_CASE" "$*"
}

finish() {
	local name
	name=$(basename "$0" .sh)
	if [ "$T_FAILS" -ne 0 ]; then
		printf '%s: %d of %d cases FAILED:\n' "$name" "$T_FAILS" "$T_CASES"
		printf '  - %s\n' "${T_FAILED_CASES[@]}"
		exit 1
	fi
	printf '%s: all %d cases passed\n' "$name" "$T_CASES"
	exit 0
}

T_SHOW_OUT_BYTES=${T_SHOW_OUT_BYTES:-1200}
T_SHOW_OUT_LINES=${T_SHOW_OUT_LINES:-6}
T_SHOW_ERR_BYTES=${T_SHOW_ERR_BYTES:-2500}
T_SHOW_ERR_LINES=${T_SHOW_ERR_LINES:-14}

# Show what the last run printed, to explain a failure.
_show_last_run() {
	printf '  last run: exit %s\n' "${RC:-?}"
	if [ -s "$OUT" ]; then
		printf '  stdout (%s lines): ' "$(wc -l <"$OUT")"
		head -c "$T_SHOW_OUT_BYTES" "$OUT" | sed -n "1,${T_SHOW_OUT_LINES}p" | cut -c1-400 |
			sed '2,$s/^/          /'
	fi
	if [ -s "$ERR" ]; then
		printf '  stderr: '
		head -c "$T_SHOW_ERR_BYTES" "$ERR" | sed -n "1,${T_SHOW_ERR_LINES}p" | sed '2,$s/^/          /'
	fi
}

# ---- running -----------------------------------------------------------------------

# Extra environment (NAME=VALUE words) for the next run (run, run_stdin,
# run_tty, run_tty_stderr); the run clears it, unless RUN_ENV_KEEP=1 (the
# suite's caller then sets and clears it, e.g. a p11-kit server's address).
RUN_ENV=()
RUN_ENV_KEEP=0
# How long one run may take before it is cut (exit 124); QSJWT_CMD_TIMEOUT,
# when set, wins.
RUN_TIMEOUT=60

_run_timeout() { printf '%s' "${QSJWT_CMD_TIMEOUT:-$RUN_TIMEOUT}"; }

# After every run: RUN_ENV cleared (see there), and a sanitizer report fails
# the case whatever the exit code (ASan exits 1, the code of many expected
# errors).
_after_run() {
	[ "$RUN_ENV_KEEP" = 1 ] || RUN_ENV=()
	if grep -qaE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: ' "$ERR"; then
		fail "sanitizer report on stderr: $(grep -a -m1 -E 'Sanitizer|runtime error: ' "$ERR" | head -c 300)"
	fi
}

# run CMD...: stdout to $OUT, stderr to $ERR, exit code to $RC; stdin is
# /dev/null (never a terminal). CMD is a program (not a shell function).
run() {
	timeout -k 5 "$(_run_timeout)" env "${RUN_ENV[@]}" "$@" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	_after_run
}

# run_stdin FILE CMD...: as run, with FILE on stdin.
run_stdin() {
	local in=$1
	shift
	timeout -k 5 "$(_run_timeout)" env "${RUN_ENV[@]}" "$@" >"$OUT" 2>"$ERR" <"$in"
	RC=$?
	_after_run
}

# run_tty PROMPT INPUT CMD...: run CMD with a pseudo-terminal as its
# controlling terminal and stdin (stdout to $OUT, stderr to $ERR, exit code to
# $RC); INPUT (plus a newline) is typed once the terminal shows PROMPT;
# everything the terminal showed goes to $TTY_LOG (tests/tty_run.py).
TTY_RUN=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tty_run.py
run_tty() {
	local prompt=$1 input=$2
	shift 2
	timeout -k 5 "$(_run_timeout)" env "${RUN_ENV[@]}" \
		python3 "$TTY_RUN" "$prompt" "$input" "$OUT" "$ERR" "$TTY_LOG" "$@"
	RC=$?
	_after_run
}

# run_tty_stderr CMD...: as run_tty with no prompt, standard error the
# terminal as well; what the terminal showed goes to $ERR. Standard input is
# the terminal too, or /dev/null with RUN_TTY_STDIN=null.
RUN_TTY_STDIN='tty'
run_tty_stderr() {
	timeout -k 5 "$(_run_timeout)" env "${RUN_ENV[@]}" TTY_RUN_STDIN="$RUN_TTY_STDIN" \
		python3 "$TTY_RUN" '' '' "$OUT" - "$ERR" "$@"
	RC=$?
	_after_run
}

# The pinned clock of the reference vectors (faketime's '@' form) and the iat
# it gives.
PINNED='@2030-01-01 00:00:00'
PINNED_IAT=1893456000

# qs ARGS...: qs-jwt create-qseow ARGS (real clock); qs_stdin FILE ARGS...:
# with FILE on stdin.
qs() { run "$QSJWT_BIN" create-qseow "$@"; }
qs_stdin() {
	local in=$1
	shift
	run_stdin "$in" "$QSJWT_BIN" create-qseow "$@"
}

# qs_pinned ARGS...: as qs, with the clock at $PINNED (2030-01-01T00:00:00Z);
# qs_pinned_stdin FILE ARGS...: with FILE on stdin.
qs_pinned() {
	run env TZ=UTC "$(_faketime_env)" faketime -f "$PINNED" "$QSJWT_BIN" create-qseow "$@"
}
qs_pinned_stdin() {
	local in=$1
	shift
	run_stdin "$in" env TZ=UTC "$(_faketime_env)" faketime -f "$PINNED" "$QSJWT_BIN" \
		create-qseow "$@"
}

# ---- assertions -----------------------------------------------------------------

assert_rc() {
	if [ "$RC" != "$1" ]; then
		fail "exit code: expected $1, got $RC"
		_show_last_run
		return 1
	fi
}

assert_eq() {
	if [ "$1" != "$2" ]; then
		fail "${3:-value}: expected '$1', got '$2'"
		return 1
	fi
}

assert_ne() {
	if [ "$1" = "$2" ]; then
		fail "${3:-value}: expected anything but '$1'"
		return 1
	fi
}

# assert_true CMD...: CMD must succeed.
assert_true() {
	if ! "$@"; then
		fail "expected success of: $*"
		return 1
	fi
}

assert_false() {
	if "$@"; then
		fail "expected failure of: $*"
		return 1
	fi
}

# assert_contains FILE NEEDLE: a line of FILE holds NEEDLE (a fixed string;
# FILE may hold binary bytes).
assert_contains() {
	if ! grep -qaF -- "$2" "$1"; then
		fail "$(basename "$1") should contain '$2'"
		{ [ "$1" = "$ERR" ] || [ "$1" = "$OUT" ]; } && _show_last_run
		return 1
	fi
}

# assert_text_contains TEXT NEEDLE [WHAT]: the string TEXT holds NEEDLE.
assert_text_contains() {
	case $1 in
	*"$2"*) return 0 ;;
	esac
	fail "${3:-text}: '$2' not found in '$1'"
	return 1
}

assert_not_contains() {
	if grep -qaF -- "$2" "$1"; then
		fail "$(basename "$1") should not contain '$2'; found in: $(grep -aF -- "$2" "$1" | head -c 300)"
		return 1
	fi
}

assert_empty_stdout() {
	if [ -s "$OUT" ]; then
		fail "stdout should be empty, got $(wc -c <"$OUT") bytes: $(head -c 300 "$OUT")"
		return 1
	fi
}

assert_empty_stderr() {
	if [ -s "$ERR" ]; then
		fail "stderr should be empty, got: $(head -c 400 "$ERR")"
		return 1
	fi
}

# assert_cli_error RC CMD MESSAGE: the command's own error format, exactly:
# exit RC, nothing on stdout, and stderr byte for byte
#   qs-jwt CMD: error: MESSAGE
#   see 'qs-jwt CMD --help'
assert_cli_error() {
	local want
	assert_rc "$1" || return 1
	assert_empty_stdout
	want=$(printf "qs-jwt %s: error: %s\nsee 'qs-jwt %s --help'\nx" "$2" "$3" "$2")
	if [ "$(cat "$ERR"; printf x)" != "$want" ]; then
		fail "stderr should be exactly: qs-jwt $2: error: $3 / see 'qs-jwt $2 --help'"
		_show_last_run
		return 1
	fi
}

# assert_usage_error_of CMD NEEDLE...: a usage error of `qs-jwt CMD`: exit 2,
# nothing on stdout, and on stderr exactly
#   qs-jwt CMD: error: ...NEEDLE...
#   see 'qs-jwt CMD --help'
# with every NEEDLE (the key parts: option names, values) on the first line.
assert_usage_error_of() {
	local cmd=$1 first n needle
	shift
	assert_rc 2 || return 1
	assert_empty_stdout
	n=$(wc -l <"$ERR")
	first=$(sed -n 1p "$ERR")
	if [ "$n" != 2 ]; then
		fail "usage error: expected 2 lines on stderr, got $n"
		_show_last_run
	fi
	case $first in
	"qs-jwt $cmd: error: "*) ;;
	*) fail "usage error: the first line should start 'qs-jwt $cmd: error: ', got '${first:0:300}'" ;;
	esac
	for needle in "$@"; do
		case $first in
		*"$needle"*) ;;
		*) fail "usage error should mention '$needle', got '${first:0:300}'" ;;
		esac
	done
	assert_eq "see 'qs-jwt $cmd --help'" "$(sed -n 2p "$ERR")" "second line of the usage error"
}

# assert_runtime_error NEEDLE...: exit 1, nothing on stdout, an ERROR log line
# holding every NEEDLE.
assert_runtime_error() {
	assert_rc 1 || return 1
	assert_empty_stdout
	assert_log ERROR "$@"
}

# A log line starts 'TIMESTAMP LEVEL: ' (ISO 8601 UTC with milliseconds).
LOG_STAMP_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

# assert_log LEVEL NEEDLE...: stderr has a line 'TIMESTAMP LEVEL: ...' holding
# every NEEDLE.
assert_log() {
	local level=$1 lines needle
	shift
	lines=$(grep -E "$LOG_STAMP_RE $level: " "$ERR")
	for needle in "$@"; do
		lines=$(printf '%s\n' "$lines" | grep -F -- "$needle")
	done
	if [ -z "$lines" ]; then
		fail "stderr should have a $level line containing: $(printf "'%s' " "$@")"
		_show_last_run
		return 1
	fi
}

# assert_no_log_level LEVEL: stderr has no 'TIMESTAMP LEVEL: ' line.
assert_no_log_level() {
	if grep -qE "$LOG_STAMP_RE $1: " "$ERR"; then
		fail "stderr should have no $1 line, got: $(grep -E "$LOG_STAMP_RE $1: " "$ERR" | head -2)"
		return 1
	fi
}

# assert_file_eq EXPECTED_FILE ACTUAL_FILE: byte for byte.
assert_file_eq() {
	if ! cmp -s -- "$1" "$2"; then
		fail "'$(basename "$2")' differs from '$(basename "$1")': $(cmp -- "$1" "$2" 2>&1 | head -1)" \
			"(expected $(wc -l <"$1") lines, got $(wc -l <"$2"))"
		diff -- "$1" "$2" | head -8 | cut -c1-240 | sed 's/^/    /'
		return 1
	fi
}

assert_exists() {
	if [ ! -e "$1" ]; then
		fail "'$1' should exist"
		return 1
	fi
}

# A dangling symlink exists too, for this purpose.
assert_not_exists() {
	if [ -e "$1" ] || [ -L "$1" ]; then
		fail "'$1' should not exist"
		return 1
	fi
}

# assert_usage_error NEEDLE...: a usage error of create-qseow
# (assert_usage_error_of).
assert_usage_error() { assert_usage_error_of create-qseow "$@"; }

# assert_dir_listing DIR "name1 name2 ...": exactly these entries (sorted).
assert_dir_listing() {
	local got want
	got=$(cd "$1" && LC_ALL=C ls -A | tr '\n' ' ' | sed 's/ $//')
	# shellcheck disable=SC2086
	want=$(printf '%s\n' $2 | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
	assert_eq "$want" "$got" "entries of $1"
}

# ---- JWTs -----------------------------------------------------------------------

b64url_decode() {
	local s=$1
	s=${s//-/+}
	s=${s//_//}
	case $((${#s} % 4)) in
	0) ;;
	2) s="$s==" ;;
	3) s="$s=" ;;
	*) return 1 ;;
	esac
	printf '%s' "$s" | base64 -d
}

jwt_header() { b64url_decode "${1%%.*}"; }
jwt_payload() {
	local p=${1#*.}
	b64url_decode "${p%%.*}"
}

# raw2der: an ECDSA signature R || S (stdin) to DER (stdout).
raw2der() {
	"${PY:-python3}" -c '
import sys
d = sys.stdin.buffer.read(); h = len(d) // 2
def integer(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80: b = b"\0" + b
    return b"\x02" + length(len(b)) + b
def length(n):
    return bytes([n]) if n < 0x80 else b"\x81" + bytes([n])
body = integer(d[:h]) + integer(d[h:])
sys.stdout.buffer.write(b"\x30" + length(len(body)) + body)'
}

# jwt_verifies TOKEN PUBKEY_OR_CERT [ALG]: the signature checks out with
# openssl over header.payload with the digest of ALG (RS256 by default;
# RSxxx or ESxxx, an ES signature converted to DER); a certificate (PEM or
# DER) stands for its public key.
jwt_verifies() {
	local tok=$1 pub=$2 alg=${3:-RS256} md d ok first=
	case $alg in
	RS256 | ES256) md=sha256 ;;
	RS384 | ES384) md=sha384 ;;
	RS512 | ES512) md=sha512 ;;
	*) return 1 ;;
	esac
	[[ $tok =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || return 1
	[ -s "$pub" ] || return 1
	d=$(mktemp -d "$T_TMP/jwtv.XXXXXX")
	printf '%s' "${tok%.*}" >"$d/input"
	if ! b64url_decode "${tok##*.}" >"$d/sig"; then
		rm -rf "$d"
		return 1
	fi
	case $alg in
	ES*) raw2der <"$d/sig" >"$d/sig.der" && mv "$d/sig.der" "$d/sig" ;;
	esac
	IFS= read -r first <"$pub" 2>/dev/null
	if [ "$first" != '-----BEGIN PUBLIC KEY-----' ] &&
		{ openssl x509 -in "$pub" -noout -pubkey >"$d/pub.pem" 2>/dev/null ||
			openssl x509 -inform DER -in "$pub" -noout -pubkey >"$d/pub.pem" 2>/dev/null; }; then
		pub=$d/pub.pem
	fi
	openssl dgst "-$md" -verify "$pub" -signature "$d/sig" "$d/input" >"$d/out" 2>&1
	ok=$?
	[ $ok = 0 ] && grep -qx 'Verified OK' "$d/out"
	ok=$?
	rm -rf "$d"
	return $ok
}

# verify_jwt TOKEN PUBKEY_PEM [ALG]: header {"alg":ALG,"typ":"JWT"} and a
# signature openssl verifies.
verify_jwt() {
	local tok=$1 pub=$2 alg=${3:-RS256} h
	if [ -z "$tok" ]; then
		fail "no token to verify"
		return 1
	fi
	h=$(jwt_header "$tok")
	assert_eq "{\"alg\":\"$alg\",\"typ\":\"JWT\"}" "$h" "JWT header"
	if ! jwt_verifies "$tok" "$pub" "$alg"; then
		fail "openssl does not verify the $alg signature of '${tok:0:60}...' with $pub"
		return 1
	fi
}

# The stdout of the last run is exactly one line (newline-terminated) with a
# JWT: three base64url parts. Sets TOKEN (empty when it is not that).
assert_token_stdout() {
	TOKEN=
	local lines bytes last
	lines=$(wc -l <"$OUT")
	bytes=$(wc -c <"$OUT")
	if [ "$lines" != 1 ]; then
		fail "stdout should be one line, got $lines lines ($bytes bytes)"
		_show_last_run
		return 1
	fi
	last=$(tail -c 1 "$OUT" | od -An -c | tr -d ' ')
	if [ "$last" != '\n' ]; then
		fail "stdout should end with a newline"
		return 1
	fi
	TOKEN=$(cat "$OUT")
	if ! [[ $TOKEN =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]]; then
		fail "stdout is not a JWT: $(head -c 200 "$OUT")"
		TOKEN=
		return 1
	fi
}

# assert_ok_token [PUBKEY [ALG]]: exit 0 and a JWT alone on stdout ($TOKEN,
# empty on failure); with PUBKEY, verify_jwt too.
assert_ok_token() {
	assert_rc 0 || { TOKEN=; return 1; }
	assert_token_stdout || return 1
	[ $# -eq 0 ] || verify_jwt "$TOKEN" "$@"
}

# assert_payload EXPECTED_JSON: the token in $TOKEN has exactly this payload.
assert_payload() {
	assert_eq "$1" "$(jwt_payload "$TOKEN")" "payload"
}

# The public key (SPKI PEM) of a certificate (PEM or DER).
pub_of_cert() {
	openssl x509 -in "$1" -noout -pubkey 2>/dev/null ||
		openssl x509 -inform DER -in "$1" -noout -pubkey
}

# ---- other ------------------------------------------------------------------------

# libfaketime is preloaded before libasan: harmless, but ASan checks the order.
_faketime_env() {
	local asan=${ASAN_OPTIONS:-}
	printf '%s' "ASAN_OPTIONS=${asan:+$asan:}verify_asan_link_order=0"
}

# wait_for_file_text FILE TEXT SECONDS: until FILE holds TEXT (0), or 1.
wait_for_file_text() {
	local i=0 max=$(($3 * 100))
	while [ $i -lt $max ]; do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
		i=$((i + 1))
	done
	return 1
}

# token_key_setup PIN LABEL [QS ARGS...]: a fresh SoftHSM2 token LABEL in
# $T_TMP/hsm (scripts/softhsm.sh's softhsm_new, sourced by the suite) with an
# RSA-2048 key 'jwt' made by qs-jwt --cert-create (extra arguments go to
# it); sets HSM, PINF and PUBK (its publickey.pem). A suite without the key
# cannot go on: it finishes there.
token_key_setup() {
	local pin=$1 label=$2
	shift 2
	HSM=$T_TMP/hsm
	softhsm_new "$HSM" "$label" "$pin"
	PINF=$HSM/pin
	begin "setup: a new RSA-2048 key on the token (--cert-create)"
	qs --userdir D --userid u --username n --useremail e --expires 1h --audience a \
		--cert-create --cert-create-expires-days 30 --cert-create-key-bits 2048 \
		--pkcs11-uri "pkcs11:token=$label;object=jwt" --pkcs11-pin-file "$PINF" \
		--cert-file-prefix "$HSM/" "$@"
	if ! assert_rc 0 || [ ! -s "$HSM/publickey.pem" ]; then
		echo "cannot make the token key: no point going on" >&2
		finish
	fi
	PUBK=$HSM/publickey.pem
}
