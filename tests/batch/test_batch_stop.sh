#!/usr/bin/env bash
# create-qseow --batch stopped while its reader waits on a pipe that sends
# nothing more: by a failure of the output (the reader sees it at once), and
# by a signal (INT, TERM, HUP, QUIT), also right after --cert-create made its
# files. A signal ends the run by that signal (exit 128+N) once the lines
# signed are written whole; the files of --cert-create were kept before the
# first token and stay; nothing else is left.
. "$(dirname "$0")/lib.sh"

KEYARGS=(--cert-privatekey-file "$KEY")
DEFAULTS=(--expires 60m --audience qlik-aud)
IN=$T_TMP/one.jsonl
echo '{"userid":"jdoe","userdir":"ACME","username":"John Doe","useremail":"j@example.com"}' >"$IN"
STOP_RUN=(python3 "$HERE/stop_run.py")

begin "the output fails while the reader waits on an open pipe: it stops at once (exit 1)"
read -r RC TOOK < <("${STOP_RUN[@]}" "$IN" "$OUT" "$ERR" --closed-stdout -- \
	"$QSJWT_BIN" create-qseow --batch - --jobs 1 "${DEFAULTS[@]}" "${KEYARGS[@]}")
assert_rc 1
assert_contains "$ERR" "cannot write to standard output"
if [ "$RC" != timeout ] && ! awk -v t="$TOOK" 'BEGIN { exit !(t < 3) }'; then
	fail "stopping took $TOOK s (the reader waited for input)"
fi

begin "--batch - with --cert-privatekey -: two readers of stdin, usage error (exit 2), nothing read"
run_stdin "$IN" "$QSJWT_BIN" create-qseow --batch - --cert-privatekey - "${DEFAULTS[@]}"
assert_usage_error "--batch - and --cert-privatekey - cannot both read standard input"

declare -A NUM=([INT]=2 [TERM]=15 [HUP]=1 [QUIT]=3)
for sig in INT TERM HUP QUIT; do
	want=$((128 + NUM[$sig]))
	begin "SIG$sig while the reader waits on an open pipe: the signed line is written, exit $want"
	read -r RC TOOK < <("${STOP_RUN[@]}" "$IN" "$OUT" "$ERR" --signal "$sig" --after-lines 1 -- \
		"$QSJWT_BIN" create-qseow --batch - --jobs 2 "${DEFAULTS[@]}" "${KEYARGS[@]}")
	assert_rc "$want"
	assert_eq 1 "$(wc -l <"$OUT")" "lines on stdout"
	assert_eq "" "$(tail -c 1 "$OUT" | tr -d '\n')" "stdout ends with a whole line"
	verify_out_tokens "$OUT" "$PUB"
	assert_contains "$ERR" "batch interrupted by signal ${NUM[$sig]}: 1 token issued"
	awk -v t="$TOOK" 'BEGIN { exit !(t < 3) }' || fail "SIG$sig took $TOOK s to end the batch"

	begin "SIG$sig during --batch after --cert-create: not held back; exit $want, the files stay"
	D=$T_TMP/cc-$sig
	mkdir "$D"
	read -r RC TOOK < <(cd "$D" && "${STOP_RUN[@]}" "$IN" "$OUT" "$ERR" --signal "$sig" \
		--after-lines 1 -- "$QSJWT_BIN" create-qseow --batch - --jobs 1 "${DEFAULTS[@]}" \
		--cert-create --cert-create-key-bits 2048 --cert-create-expires-days 1)
	assert_rc "$want"
	assert_eq 1 "$(wc -l <"$OUT")" "lines on stdout"
	verify_out_tokens "$OUT" "$D/publickey.pem"
	assert_eq "privatekey.pem publickey.cer publickey.pem" "$(cd "$D" && echo *)" "files"
	awk -v t="$TOOK" 'BEGIN { exit !(t < 3) }' || fail "SIG$sig took $TOOK s to end the batch"
done

finish
