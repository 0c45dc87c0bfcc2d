# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Shared helpers for the qs-jwt CLI tests. Source it from a test script:
#
#   . "$(dirname "$0")/lib.sh"
#   begin "what this case checks"
#   qs "${CLAIMS[@]}" --cert-privatekey-file "$VEC/privatekey.pem"
#   assert_rc 0
#   ...
#   finish
#
# Environment: QSJWT_BIN (the qs-jwt binary), QSJWT_TEST_DATA (tests/data).
# Cases, assertions and JWT checks come from tests/lib/common.sh.

# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
unset QSJWT_KEY_PASSPHRASE NO_COLOR
t_need_bin
t_need_test_data
t_need_tools openssl faketime base64 timeout
t_tmp cli

# The pinned clock of the reference vectors and the iat it gives.
PINNED='@2030-01-01 00:00:00'
PINNED_IAT=1893456000

# The claims every run needs (the key options come on top).
CLAIMS=(--userdir ACME --userid jdoe --username 'John Doe' --useremail john.doe@example.com
	--expires 60m --audience qlik-aud)
# The payload CLAIMS give under the pinned clock (no --groups).
CLAIMS_PAYLOAD='{"userId":"jdoe","userDirectory":"ACME","name":"John Doe","email":"john.doe@example.com","iat":1893456000,"exp":1893459600,"aud":"qlik-aud"}'

# ---- running ------------------------------------------------------------------------

# run, run_stdin, run_tty and run_tty_stderr: tests/lib/common.sh.

# at DIR CMD...: run CMD (a function such as qs) with DIR as the working
# directory.
at() {
	local d=$1
	shift
	pushd "$d" >/dev/null || { fail "cannot cd to $d"; return 1; }
	"$@"
	popd >/dev/null || true
}

# qs ARGS...: qs-jwt create-qseow ARGS.
qs() {
	run "$QSJWT_BIN" create-qseow "$@"
}

qs_stdin() {
	local in=$1
	shift
	run_stdin "$in" "$QSJWT_BIN" create-qseow "$@"
}

# qs_pinned ARGS...: as qs, with the clock at 2030-01-01T00:00:00Z.
qs_pinned() {
	run env TZ=UTC "$(_faketime_env)" faketime -f "$PINNED" "$QSJWT_BIN" create-qseow "$@"
}

qs_pinned_stdin() {
	local in=$1
	shift
	run_stdin "$in" env TZ=UTC "$(_faketime_env)" faketime -f "$PINNED" "$QSJWT_BIN" \
		create-qseow "$@"
}

# ---- assertions -----------------------------------------------------------------------

# assert_mode FILE OCTAL (e.g. 600)
assert_mode() {
	local m
	m=$(stat -c %a -- "$1" 2>/dev/null || echo missing)
	assert_eq "$2" "$m" "mode of $1"
}

# assert_dir_listing DIR "name1 name2 ..." : exactly these entries (sorted).
assert_dir_listing() {
	local got want
	got=$(cd "$1" && LC_ALL=C ls -A | tr '\n' ' ' | sed 's/ $//')
	want=$(printf '%s\n' $2 | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
	assert_eq "$want" "$got" "entries of $1"
}

# The stdout of the last run is exactly one line (newline-terminated) with a
# JWT: three base64url parts. Sets TOKEN.
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
		return 1
	fi
}

# assert_usage_error NEEDLE...: a usage error of create-qseow
# (assert_usage_error_of, tests/lib/common.sh).
assert_usage_error() { assert_usage_error_of create-qseow "$@"; }

# Every stderr line is a log line 'TIMESTAMP LEVEL: message'.
assert_stderr_all_log_lines() {
	local bad
	bad=$(grep -vE "$LOG_STAMP_RE (ERROR|WARN|INFO|VERBOSE|DEBUG): " "$ERR" | head -3)
	if [ -n "$bad" ]; then
		fail "stderr lines that are not 'TIMESTAMP LEVEL: message': $bad"
		return 1
	fi
}

# assert_runtime_error NEEDLE...: exit 1, nothing on stdout, an ERROR line
# holding every NEEDLE.
assert_runtime_error() {
	assert_rc 1 || return 1
	assert_empty_stdout
	assert_log ERROR "$@"
}

# ---- JWT helpers ------------------------------------------------------------------------

# verify_jwt_openssl TOKEN PUBKEY_PEM [ALG]: assert the header is exactly
# {"alg":ALG,"typ":"JWT"} and the signature verifies with openssl.
verify_jwt_openssl() {
	local tok=$1 pub=$2 alg=${3:-RS256} h
	h=$(jwt_header "$tok")
	assert_eq "{\"alg\":\"$alg\",\"typ\":\"JWT\"}" "$h" "JWT header"
	if ! jwt_verifies "$tok" "$pub" "$alg"; then
		fail "openssl does not verify the $alg signature of '$tok' with $pub"
		return 1
	fi
}

# assert_payload EXPECTED_JSON: the token in $TOKEN has exactly this payload.
assert_payload() {
	local p
	p=$(jwt_payload "$TOKEN")
	assert_eq "$1" "$p" "payload"
}

# The public key (SPKI PEM) of a certificate.
pub_of_cert() { openssl x509 -in "$1" -noout -pubkey; }

# The base64 body lines (20 characters or more) of a PEM file: what must
# never show up in a log.
pem_body_lines() { grep -vE '^-----|^[A-Za-z-]+:|^$' "$1" | tr -d '\r' | awk 'length($0) >= 20'; }

# assert_no_pem_body FILE PEM...: FILE has no base64 line of any PEM.
assert_no_pem_body() {
	local f=$1 pat hit
	shift
	pat=$(mktemp "$T_TMP/pat.XXXXXX")
	for pem in "$@"; do pem_body_lines "$pem"; done >"$pat"
	if [ ! -s "$pat" ]; then
		fail "no base64 lines found in $*"
		return 1
	fi
	hit=$(grep -F -f "$pat" -- "$f" | head -1 | head -c 200)
	rm -f "$pat"
	if [ -n "$hit" ]; then
		fail "$(basename "$f") leaks a line of a private key: $hit"
		return 1
	fi
}

# The signature of an ordinary run: a single-line token on stdout, exit 0.
# assert_ok_token [PUBKEY [ALG]]: exit 0 and a JWT alone on stdout ($TOKEN);
# with PUBKEY, its signature verifies with openssl.
assert_ok_token() {
	assert_rc 0 || return 1
	assert_token_stdout || return 1
	[ $# -eq 0 ] || verify_jwt_openssl "$TOKEN" "$@"
}
