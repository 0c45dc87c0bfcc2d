#!/usr/bin/env bash
# create-qseow --batch on 100,000 lines with a key file and --jobs 2: exit 0,
# one output line per input line in order, a sample of tokens verifying with
# openssl, and a peak memory that does not grow with the input (compared
# with a 2,000-line batch). No assertion on time.
#
# QSJWT_BATCH_BIG_LINES=N runs N lines instead (e.g. under the sanitizers).
. "$(dirname "$0")/lib.sh"

LINES=${QSJWT_BATCH_BIG_LINES:-100000}
case $LINES in
'' | *[!0-9]*) echo "QSJWT_BATCH_BIG_LINES must be a number of lines (got '$LINES')" >&2; exit 2 ;;
esac
[ "$LINES" -ge 1000 ] || { echo "QSJWT_BATCH_BIG_LINES must be at least 1000" >&2; exit 2; }
SMALL=2000
# Peak RSS may exceed the small batch's by at most this much (KiB). Holding
# the output of 100,000 lines would take about 70 MB.
RSS_SLACK_KB=${QSJWT_BATCH_RSS_SLACK_KB:-16384}
KEYARGS=(--cert-privatekey-file "$KEY")
RUN_TIMEOUT=590

# gen FILE N: N varied users (no blank or comment lines).
gen() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1], 'w', encoding='utf-8') as f:
    for i in range(1, int(sys.argv[2]) + 1):
        d = {"userid": "user%06d" % i, "userdir": "DIR%d" % (i % 13), "username": "Nämé Ñ %d" % i,
             "useremail": "user%d@example.com" % i}
        if i % 2 == 0:
            d["groups"] = ["Sales", "g%d" % (i % 17)]
        if i % 10 == 0:
            d["expires"] = "%dh" % (i % 48 + 1)
        if i % 25 == 0:
            d["audience"] = "aud-%d" % (i % 5)
        f.write(json.dumps(d, ensure_ascii=False) + "\n")
EOF
}

# run_rss CMD...: as run, and the peak resident set of CMD in KiB to $RSS_KB.
# (ASan's quarantine would keep freed memory resident: kept small here.)
run_rss() {
	local asan=${ASAN_OPTIONS:-}
	RSS_KB=$(env "ASAN_OPTIONS=${asan:+$asan:}quarantine_size_mb=1:thread_local_quarantine_size_kb=64" \
		python3 - "$OUT" "$ERR" "$RUN_TIMEOUT" "$@" <<'EOF'
import resource, subprocess, sys
out, err, tmo = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(out, 'wb') as o, open(err, 'wb') as e:
    try:
        rc = subprocess.run(sys.argv[4:], stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                            timeout=tmo).returncode
    except subprocess.TimeoutExpired:
        rc = 124
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)
EOF
)
	RC=${RSS_KB#* }
	RSS_KB=${RSS_KB% *}
}

BIG=$T_TMP/big.jsonl
gen "$BIG" "$LINES"
gen "$T_TMP/small.jsonl" "$SMALL"

begin "$SMALL lines, --jobs 2: exit 0 (memory baseline)"
run_rss "$QSJWT_BIN" create-qseow --batch "$T_TMP/small.jsonl" --jobs 2 --expires 60m --audience qlik-aud "${KEYARGS[@]}"
assert_rc 0
assert_summary INFO "$SMALL" 0
SMALL_RSS=$RSS_KB

begin "$LINES lines, --jobs 2: exit 0, $LINES output lines, the summary line only"
run_rss "$QSJWT_BIN" create-qseow --batch "$BIG" --jobs 2 --expires 60m --audience qlik-aud "${KEYARGS[@]}"
assert_rc 0
assert_eq "$LINES" "$(wc -l <"$OUT")" "output lines"
assert_summary INFO "$LINES" 0
BIG_RSS=$RSS_KB
echo "   (peak RSS: $SMALL lines ${SMALL_RSS} KiB, $LINES lines ${BIG_RSS} KiB; $(grep -o '[0-9.]* s, [0-9]* tokens/s' "$ERR"))"

begin "$LINES lines: output line N is input line N, with its user and its claims"
chk=$(python3 "$HERE/check_out.py" "$BIG" "$OUT" qlik-aud 60m)
assert_eq "ok $LINES" "$chk" "order, users and claims"

begin "$LINES lines: a sample of 50 tokens (first and last included) verifies with openssl"
step=$(((LINES + 48) / 49))
verify_out_tokens "$OUT" "$PUB" RS256 "$(seq -s, 1 "$step" "$LINES"),last"
[ "$VERIFIED" -ge 45 ] || fail "only $VERIFIED tokens sampled"

begin "$LINES lines: peak memory does not grow with the input (within $RSS_SLACK_KB KiB of $SMALL lines)"
if [ -z "$SMALL_RSS" ] || [ -z "$BIG_RSS" ]; then
	fail "no peak RSS measured"
elif [ "$BIG_RSS" -gt $((SMALL_RSS + RSS_SLACK_KB)) ]; then
	fail "peak RSS ${BIG_RSS} KiB for $LINES lines, ${SMALL_RSS} KiB for $SMALL lines"
fi

finish
