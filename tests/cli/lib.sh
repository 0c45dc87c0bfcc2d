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

# qs, qs_stdin, qs_pinned, qs_pinned_stdin: tests/lib/common.sh.

# ---- assertions -----------------------------------------------------------------------

# assert_mode FILE OCTAL (e.g. 600)
assert_mode() {
	local m
	m=$(stat -c %a -- "$1" 2>/dev/null || echo missing)
	assert_eq "$2" "$m" "mode of $1"
}

# Every stderr line is a log line 'TIMESTAMP LEVEL: message'.
assert_stderr_all_log_lines() {
	local bad
	bad=$(grep -vE "$LOG_STAMP_RE (ERROR|WARN|INFO|VERBOSE|DEBUG): " "$ERR" | head -3)
	if [ -n "$bad" ]; then
		fail "stderr lines that are not 'TIMESTAMP LEVEL: message': $bad"
		return 1
	fi
}

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
