# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Shared helpers for the tests of `qs-jwt create-qseow --batch`. Source it from
# a test script:
#
#   . "$(dirname "$0")/lib.sh"
#   begin "what this case checks"
#   qs_pinned --batch "$IN" --expires 1h --audience aud --cert-privatekey-file "$KEY"
#   assert_rc 0
#   assert_file_eq "$EXPECTED" "$OUT"
#   ...
#   finish
#
# Environment: QSJWT_BIN (the qs-jwt binary), QSJWT_TEST_DATA (tests/data),
# QSJWT_SOURCE_DIR (the source tree, for scripts/softhsm.sh). Cases,
# assertions, JWT checks and at_exit come from tests/lib/common.sh. Each
# script works in its own temporary directory, so the scripts run in parallel.

# shellcheck source=../lib/common.sh
T_ECHO_CASES=1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# Nothing from the caller's environment may choose a PIN, a store, a server or
# the colours of the logs.
unset QSJWT_PKCS11_PIN QSJWT_KEY_PASSPHRASE NO_COLOR SOFTHSM2_CONF \
	P11_KIT_SERVER_ADDRESS P11_KIT_SERVER_PID
t_need_bin
t_need_test_data
t_need_source_dir
t_need_tools openssl faketime base64 timeout python3 cmp
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The reference key pair (used by the scripts).
# shellcheck disable=SC2034
KEY=$VEC/privatekey.pem
# shellcheck disable=SC2034
PUB=$VEC/publickey.pem
t_tmp batch

# PINNED (tests/lib/common.sh), with a clock that runs 1000 times slower: for
# long batches whose lines must all get the same iat however slow the machine
# is (the batch takes the time once per line). qs-jwt waits on nothing timed.
PINNED_SLOW='@2030-01-01 00:00:00 x0.001'

# ---- running qs-jwt ----------------------------------------------------------------

# run, run_stdin, run_tty_stderr: tests/lib/common.sh. Here RUN_ENV stays
# across runs: the caller sets and clears it (e.g. the p11-kit server's
# address). A run may take 120 s before it is cut (exit 124), and
# run_tty_stderr's stdin is /dev/null.
RUN_ENV_KEEP=1
RUN_TIMEOUT=120
RUN_TTY_STDIN=null

# run_pipe FILE CMD...: as run, with FILE fed through a pipe on stdin (reads
# come in pieces, as from a producer).
run_pipe() {
	local in=$1
	shift
	cat -- "$in" | timeout -k 5 "$(_run_timeout)" env "${RUN_ENV[@]}" "$@" >"$OUT" 2>"$ERR"
	RC=${PIPESTATUS[1]}
	_after_run
}

# PINNED_CMD: the command prefix of a pinned run of create-qseow (as an array).
PINNED_CMD=(env TZ=UTC "$(_faketime_env)" faketime -f "$PINNED" "$QSJWT_BIN" create-qseow)
SLOW_CMD=(env TZ=UTC "$(_faketime_env)" faketime -f "$PINNED_SLOW" "$QSJWT_BIN" create-qseow)

# qs, qs_pinned, qs_pinned_stdin: tests/lib/common.sh.
qs_pinned_pipe() {
	local in=$1
	shift
	run_pipe "$in" "${PINNED_CMD[@]}" "$@"
}
# qs_slow ARGS...: pinned start, slow clock (see PINNED_SLOW).
qs_slow() { run "${SLOW_CMD[@]}" "$@"; }

# ---- expected output ------------------------------------------------------------------

# expect_singles INPUT EXPECTED [--expires E] [--audience A] [--error N:MSG]...
#     [--only N,N...] -- CMD...
# Write to EXPECTED what the batch must print for INPUT: for each line that is
# not skipped, the output line built from what a single run of CMD (e.g.
# "${PINNED_CMD[@]}" --cert-privatekey-file KEY) with that line's values
# prints; {"line":N,"error":MSG} for the lines given with --error.
expect_singles() {
	if ! python3 "$HERE/expect.py" "$@" 2>"$T_TMP/expect.err"; then
		fail "cannot build the expected output from single runs: $(head -c 1500 "$T_TMP/expect.err")"
		return 1
	fi
}

# ---- inputs ------------------------------------------------------------------------------

# write_users FILE: 22 ($N_USERS) varied users, one per line, no blank or
# comment lines. Line 1 gives the claims of tests/data/vectors/all-claims.cmd
# (with --expires 60m --audience qlik-aud), line 2 those of unicode.cmd.
write_users() {
	python3 - "$1" <<'EOF'
import sys
lines = [
    # 1: all-claims.cmd
    '{"userid":"jdoe","userdir":"ACME","username":"John Doe","useremail":"john.doe@example.com","groups":["Sales","Finance"]}',
    # 2: unicode.cmd, its audience given in the line
    '{"userid":"göran","userdir":"ÅÄÖ","username":"Göran Sandér","useremail":"göran@exämple.se","groups":["Ünïcødé 😀","日本語"],"audience":"aüd"}',
    # 3: no groups at all
    '{"userid":"nogroups","userdir":"ACME","username":"No Groups","useremail":"ng@example.com"}',
    # 4: empty strings everywhere, one empty group
    '{"userid":"","userdir":"","username":"","useremail":"","groups":[""]}',
    # 5-7: per-line expires, audience, both
    '{"userid":"exp2h","userdir":"ACME","username":"Two Hours","useremail":"e@x","expires":"2h"}',
    '{"userid":"aud","userdir":"ACME","username":"Other Aud","useremail":"e@x","groups":["G"],"audience":"other-aud"}',
    '{"userid":"both","userdir":"ACME","username":"Both","useremail":"e@x","expires":"7d","audience":"aüd-7"}',
    # 8: JSON escapes, control characters, DEL
    '{"userid":"esc","userdir":"ACME","username":"Quote \\" back\\\\slash / <tag> & \'apos\'","useremail":"tab\\there","groups":["line\\nbreak","ctl\\u0001x","cr\\r","del\\u007f","ff\\f bs\\b"]}',
    # 9: \\u escapes of non-ASCII (a surrogate pair too)
    '{"userid":"\\u65e5\\u672c","userdir":"\\u00c5","username":"\\u00e9\\u00e8 \\ud83d\\ude00","useremail":"x@\\u00e4.se"}',
    # 10: groups that look like options, commas do not split
    '{"userid":"dash","userdir":"ACME","username":"Dash","useremail":"d@x","groups":["-leading-dash","a,b","--groups","#hash"]}',
    # 11: many groups
    '{"userid":"many","userdir":"ACME","username":"Many","useremail":"m@x","groups":["g01","g02","g03","g04","g05","g06","g07","g08","g09","g10","g11","g12"]}',
    # 12-15: expires without unit (ms), negative, fractional, with a space
    '{"userid":"ms","userdir":"ACME","username":"Ms","useremail":"m@x","expires":"100"}',
    '{"userid":"neg","userdir":"ACME","username":"Neg","useremail":"n@x","expires":"-1h"}',
    '{"userid":"frac","userdir":"ACME","username":"Frac","useremail":"f@x","expires":"1.5h"}',
    '{"userid":"days","userdir":"ACME","username":"Days","useremail":"d@x","expires":"2 days"}',
    # 16: backslash and spaces in the ids
    '{"userid":"DOMAIN\\\\user name","userdir":"dir with spaces","username":"U","useremail":"u@x"}',
    # 17: a long name
    '{"userid":"long","userdir":"ACME","username":"' + 'N' * 3000 + '","useremail":"' + 'e' * 500 + '@x"}',
    # 18: fields in another order
    '{"audience":"aud-first","groups":["G"],"useremail":"e@x","username":"N","userdir":"D","userid":"shuffled"}',
    # 19: JSON whitespace around and inside the object, CRLF line end
    '  { "userid" : "spaced" , "userdir":"ACME",\t"username":"S", "useremail":"s@x" }  \r',
    # 20: line 1 again
    '{"userid":"jdoe","userdir":"ACME","username":"John Doe","useremail":"john.doe@example.com","groups":["Sales","Finance"]}',
    # 21: an emoji ZWJ sequence, a year, an audience with URL characters
    '{"userid":"👩‍💻","userdir":"ACME","username":"Dev","useremail":"dev@x","expires":"1y","audience":"https://qlik.example.com/jwt?x=1&y=<2>"}',
    # 22: a minute-based lifetime given as "M" (minutes)
    '{"userid":"bigM","userdir":"ACME","username":"M","useremail":"m@x","expires":"90M"}',
]
open(sys.argv[1], 'w', encoding='utf-8', newline='').write('\n'.join(lines) + '\n')
EOF
}
# shellcheck disable=SC2034
N_USERS=22

# ---- assertions -----------------------------------------------------------------------

# The bytes of stderr hold no carriage return (no progress line).
assert_no_cr() {
	if tr -d '\n' <"$ERR" | grep -qa $'\r'; then
		fail "stderr of a run without a terminal should have no '\\r' (progress), got: $(head -c 300 "$ERR" | od -c | head -5)"
		return 1
	fi
}

# assert_summary LEVEL ISSUED FAILED: stderr is exactly one line, the summary
#   TIMESTAMP LEVEL: batch: ISSUED token(s) issued, FAILED line(s) failed, T s, R tokens/s
# and no carriage return.
assert_summary() {
	local level=$1 issued=$2 failed=$3 n tok=tokens lin=lines
	[ "$issued" = 1 ] && tok=token
	[ "$failed" = 1 ] && lin=line
	assert_no_cr
	n=$(wc -l <"$ERR")
	if [ "$n" != 1 ]; then
		fail "stderr should be the summary line alone, got $n lines"
		_show_last_run
		return 1
	fi
	if ! grep -qE "$LOG_STAMP_RE $level: batch: $issued $tok issued, $failed $lin failed, [0-9]+\.[0-9] s, [0-9]+ tokens/s\$" "$ERR"; then
		fail "summary: expected '$level: batch: $issued $tok issued, $failed $lin failed, T s, R tokens/s', got '$(head -c 300 "$ERR")'"
		return 1
	fi
}

# ---- JWT helpers ------------------------------------------------------------------------

# out_tokens FILE [LINES]: "LINE TOKEN" for the token lines of a batch output
# (all, or the comma-separated output line indexes LINES, 1-based, 'last'
# for the last one).
out_tokens() {
	python3 - "$1" "${2:-}" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
want = sys.argv[2]
if want:
    idx = [len(rows) if w == 'last' else int(w) for w in want.split(',')]
    rows = [rows[i - 1] for i in sorted(set(idx)) if 1 <= i <= len(rows)]
for r in rows:
    if 'token' in r:
        print(r['line'], r['token'])
EOF
}

# verify_out_tokens FILE PUBKEY [ALG] [LINES]: every (or the chosen) token of a
# batch output verifies with openssl; prints how many were checked to
# $VERIFIED.
VERIFIED=0
verify_out_tokens() {
	local f=$1 pub=$2 alg=${3:-RS256} sel=${4:-} line tok bad=0
	VERIFIED=0
	while read -r line tok; do
		VERIFIED=$((VERIFIED + 1))
		if ! jwt_verifies "$tok" "$pub" "$alg"; then
			bad=$((bad + 1))
			[ $bad -le 3 ] && fail "token of output line $line does not verify ($alg) with $pub"
		fi
		if [ "$(jwt_header "$tok")" != "{\"alg\":\"$alg\",\"typ\":\"JWT\"}" ]; then
			fail "token of output line $line: header is '$(jwt_header "$tok")'"
		fi
	done < <(out_tokens "$f" "$sel")
	[ "$VERIFIED" -gt 0 ] || fail "no token found to verify in $(basename "$f")"
}
