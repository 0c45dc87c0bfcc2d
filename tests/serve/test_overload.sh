#!/usr/bin/env bash
# qs-jwt serve under overload: at most --jobs + --queue token requests sign
# or wait for a worker; more at once are answered 503 with Retry-After: 1 at
# once (audited, counted in /metrics, never a token), the ones within get
# their tokens, and the next request after the burst is answered at once.
# The burst is made exact with a token that hangs: the p11-kit server that
# exports it is stopped (SIGSTOP) while the requests arrive, so the counts
# do not depend on the machine's speed; a second case drives a file key with
# the keep-alive load generator (tests/bench/serve_load.c).
. "$(dirname "$0")/lib.sh"

for _tool in softhsm2-util p11-kit ps; do
	command -v "$_tool" >/dev/null || { echo "missing tool: $_tool" >&2; exit 2; }
done
[ -x "${QSJWT_SERVE_LOAD:-}" ] || { echo "missing QSJWT_SERVE_LOAD (tests/bench/serve_load)" >&2; exit 2; }
# shellcheck source=../../scripts/softhsm.sh
. "$QSJWT_SOURCE_DIR/scripts/softhsm.sh"
CLIENT_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
for _f in "$SOFTHSM_MODULE" "$CLIENT_MODULE"; do
	[ -e "$_f" ] || { echo "missing $_f" >&2; exit 2; }
done

U='{"userid":"jdoe","userdir":"ACME","username":"John Doe","useremail":"j@example.com","groups":["Sales"],"expires":"60m","audience":"qlik-aud"}'
OVERLOADED="overloaded: every signing worker is busy and the queue is full; try again"

# metric NAME: its value in the last /metrics answer ($BODY_FILE).
metric() { awk -v n="$1" '$1 == n { print $2 }' "$BODY_FILE"; }
# audit_count STATUS: audit lines with that status.
audit_count() { grep -c "\"status\":$1[,}]" "$AUDIT"; }

begin "--queue: a whole number from 0 to 1024, else a usage error (exit 2)"
for v in -1 1025 x ''; do
	run "$QSJWT_BIN" serve --listen "unix:$SOCK" --queue "$v" --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
	assert_rc 2
	assert_empty_stdout
	assert_eq "qs-jwt serve: error: --queue must be a whole number from 0 to 1024, not '$v'" \
		"$(head -n 1 "$ERR")" "the usage error of --queue '$v'"
done
[ -e "$SOCK" ] && fail "a usage error left a socket"

begin "the signing places' threads cannot all start (ulimit -v 200 MB, 1025 places of 256 KiB stacks): exit 1 saying so, nothing listens"
if ldd "$QSJWT_BIN" | grep -qE 'lib(asan|tsan)'; then
	# The sanitizers reserve more address space than any such limit.
	echo "# skipped: a sanitizer build"
else
	# shellcheck disable=SC2016
	run bash -c 'ulimit -v 200000 && exec "$@"' sh "$QSJWT_BIN" serve --listen "unix:$SOCK" --jobs 1 \
		--queue 1024 --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
	assert_rc 1
	assert_empty_stdout
	assert_contains "$ERR" "ERROR: cannot start 1025 signing place threads: "
	[ -e "$SOCK" ] && fail "a failed start left the socket"
fi

# ---- a token that hangs: the burst, exactly -------------------------------------------

PIN=2580-over
token_key_setup "$PIN" T

P11SOCK=$T_TMP/p11.sock
SERVER_PID=
# The p11-kit server and the children that serve its connections.
# shellcheck disable=SC2046 # one PID a word
server_pids() { [ -n "$SERVER_PID" ] && echo "$SERVER_PID" $(ps -o pid= --ppid "$SERVER_PID" 2>/dev/null); }
stop_server() {
	local pids
	[ -n "$SERVER_PID" ] || return 0
	pids=$(server_pids)
	# shellcheck disable=SC2086
	kill -CONT $pids 2>/dev/null
	# shellcheck disable=SC2086
	kill -9 $pids 2>/dev/null
	SERVER_PID=
}
at_exit stop_server
rm -f "$P11SOCK"
vars=$(p11-kit server -s --provider "$SOFTHSM_MODULE" --name "$P11SOCK" 'pkcs11:token=T' 2>"$T_TMP/server.err")
eval "$vars"
SERVER_PID=${P11_KIT_SERVER_PID:-}
ADDR=${P11_KIT_SERVER_ADDRESS:-}
unset P11_KIT_SERVER_ADDRESS P11_KIT_SERVER_PID
if [ -z "$SERVER_PID" ] || [ -z "$ADDR" ]; then
	echo "p11-kit server did not start: $vars $(cat "$T_TMP/server.err")" >&2
	exit 2
fi
for _ in $(seq 200); do [ -S "$P11SOCK" ] && break; sleep 0.05; done

begin "--jobs 1 --queue 2, the token hanging: of 12 requests at once 3 wait for it and get tokens, 9 get 503 and Retry-After: 1 at once"
RUN_ENV=("P11_KIT_SERVER_ADDRESS=$ADDR" "SOFTHSM2_CONF=$T_TMP/none/softhsm2.conf")
serve_start --listen "unix:$SOCK" --jobs 1 --queue 2 --audit-log "$AUDIT" --loglevel debug \
	--pkcs11-uri "pkcs11:token=T;object=jwt?module-path=$CLIENT_MODULE" --pkcs11-pin-file "$PINF" || exit 1
RUN_ENV=()
assert_contains "$SERVE_LOG" "INFO: ready: 1 signing worker, 2 more requests may wait for one,"
req POST /v1/qseow "$U"
assert_status 200
n0=$(audit_lines)
# shellcheck disable=SC2046
kill -STOP $(server_pids)
pids=()
for i in $(seq 1 12); do
	curl -s -m 60 --unix-socket "$SOCK" -D "$T_TMP/b.$i.head" -o "$T_TMP/b.$i.body" \
		-w '%{http_code} %{time_total}\n' -H 'Content-Type: application/json' \
		--data-binary "$U" http://qs-jwt/v1/qseow >"$T_TMP/b.$i.code" 2>/dev/null &
	pids+=($!)
done
# The signing call of the first one hangs inside the module; the pool's
# limit (30 s) is far: the token is let go after at most 15 s.
done_n() { cat "$T_TMP"/b.*.code 2>/dev/null | grep -c .; }
for _ in $(seq 1 150); do
	[ "$(done_n)" -ge 9 ] && break
	sleep 0.1
done
sleep 0.3
assert_eq 9 "$(done_n)" "requests answered while the token hangs"
assert_eq 9 "$(cat "$T_TMP"/b.*.code | grep -c '^503 ')" "503s while the token hangs"
# shellcheck disable=SC2046
kill -CONT $(server_pids)
wait "${pids[@]}"
assert_eq 12 "$(done_n)" "requests answered"
assert_eq 3 "$(cat "$T_TMP"/b.*.code | grep -c '^200 ')" "200s once the token answers"
for i in $(seq 1 12); do
	read -r code secs <"$T_TMP/b.$i.code"
	if [ "$code" = 200 ]; then
		tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T_TMP/b.$i.body")
		verify_jwt "$tok" "$PUBK"
		assert_not_contains "$T_TMP/b.$i.head" "Retry-After"
	else
		assert_eq 503 "$code" "request $i"
		assert_eq "{\"error\":\"$OVERLOADED\"}" "$(cat "$T_TMP/b.$i.body")" "body of shed request $i"
		assert_not_contains "$T_TMP/b.$i.body" '"token"'
		assert_eq "Retry-After: 1" "$(grep -i '^Retry-After:' "$T_TMP/b.$i.head" | tr -d '\r')" "Retry-After of shed request $i"
		# Answered without waiting (a generous bound for a loaded machine).
		awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "shed request $i took $secs s"
	fi
done
assert_eq $((n0 + 12)) "$(audit_lines)" "audit lines of the burst"
assert_eq 9 "$(grep -c "\"decision\":\"failed\",\"reason\":\"$OVERLOADED\",\"status\":503" "$AUDIT")" "audit lines of the shed requests"
assert_eq 4 "$(grep -c '"decision":"allowed"' "$AUDIT")" "audit lines of the tokens issued"
assert_contains "$SERVE_LOG" "WARN: overloaded: 1 token request shed with 503 so far (3 signing or waiting at once at most: --jobs 1, --queue 2)"
# Recovered: the next request is answered at once.
STATUS=$(curl -s -m 20 --unix-socket "$SOCK" -o "$BODY_FILE" -w '%{http_code} %{time_total}' \
	-H 'Content-Type: application/json' --data-binary "$U" http://qs-jwt/v1/qseow)
read -r code secs <<<"$STATUS"
STATUS=$code
assert_status 200
verify_jwt "$(body_field token)" "$PUBK"
awk -v s="$secs" 'BEGIN { exit !(s < 1) }' || fail "the first request after the burst took $secs s"
req GET /metrics
assert_status 200
assert_eq 9 "$(metric qsjwt_requests_shed_total)" "qsjwt_requests_shed_total"
assert_eq 9 "$(metric 'qsjwt_http_requests_total{route="/v1/qseow",status="503"}')" "503s in qsjwt_http_requests_total"
assert_eq 5 "$(metric 'qsjwt_http_requests_total{route="/v1/qseow",status="200"}')" "200s in qsjwt_http_requests_total"
assert_eq 3 "$(metric qsjwt_sign_places)" "qsjwt_sign_places (--jobs + --queue)"
assert_eq 0 "$(metric qsjwt_sign_places_in_use)" "qsjwt_sign_places_in_use after the burst"
assert_eq 0 "$(metric qsjwt_relogins_total)" "qsjwt_relogins_total (the token never failed)"

begin "a client that gives up while its request waits for the hanging token: the decision is audited once the token answers, the service goes on"
n0=$(audit_lines)
# shellcheck disable=SC2046
kill -STOP $(server_pids)
waiting() { grep -c 'DEBUG: POST /v1/qseow: waiting for its signature' "$SERVE_LOG"; }
w0=$(waiting)
curl -s -m 60 --unix-socket "$SOCK" -o /dev/null -H 'Content-Type: application/json' \
	--data-binary "$U" http://qs-jwt/v1/qseow &
cpid=$!
for _ in $(seq 1 200); do
	[ "$(waiting)" -gt "$w0" ] && break
	sleep 0.1
done
assert_eq $((w0 + 1)) "$(waiting)" "requests waiting for a signature"
# The client gives up: its connection closes while the request waits.
kill "$cpid"
wait "$cpid" 2>/dev/null
assert_eq "$n0" "$(audit_lines)" "audit lines while the token hangs"
# shellcheck disable=SC2046
kill -CONT $(server_pids)
for _ in $(seq 1 100); do
	[ "$(audit_lines)" -gt "$n0" ] && break
	sleep 0.1
done
assert_eq $((n0 + 1)) "$(audit_lines)" "audit lines once the token answered"
assert_eq "allowed 200" "$(audit_last decision status)" "the audit line of the signature nobody took"
req POST /v1/qseow "$U"
assert_status 200
verify_jwt "$(body_field token)" "$PUBK"
req GET /metrics
assert_eq 0 "$(metric qsjwt_sign_places_in_use)" "qsjwt_sign_places_in_use"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"
assert_not_contains "$AUDIT" "$PIN"
assert_not_contains "$SERVE_LOG" "$PIN"

begin "SIGTERM while a request waits for the hanging token: it gets its token once the token answers, then the service exits 0"
RUN_ENV=("P11_KIT_SERVER_ADDRESS=$ADDR" "SOFTHSM2_CONF=$T_TMP/none/softhsm2.conf")
serve_start --listen "unix:$SOCK" --jobs 1 --queue 2 --audit-log "$AUDIT" --loglevel debug \
	--pkcs11-uri "pkcs11:token=T;object=jwt?module-path=$CLIENT_MODULE" --pkcs11-pin-file "$PINF" || exit 1
RUN_ENV=()
req POST /v1/qseow "$U"
assert_status 200
# shellcheck disable=SC2046
kill -STOP $(server_pids)
curl -s -m 60 --unix-socket "$SOCK" -o "$T_TMP/term.body" -w '%{http_code}' \
	-H 'Content-Type: application/json' --data-binary "$U" http://qs-jwt/v1/qseow >"$T_TMP/term.code" &
cpid=$!
# The second request that waits (the first one signed before the stop).
for _ in $(seq 1 200); do
	[ "$(grep -c 'DEBUG: POST /v1/qseow: waiting for its signature' "$SERVE_LOG")" -ge 2 ] && break
	sleep 0.1
done
assert_eq 2 "$(grep -c 'DEBUG: POST /v1/qseow: waiting for its signature' "$SERVE_LOG")" "requests that waited for a signature"
kill -TERM "$SERVE_PID"
wait_for_file_text "$SERVE_LOG" "SIGTERM: stopping" 20 || fail "the service did not take SIGTERM"
sleep 0.5
kill -0 "$SERVE_PID" 2>/dev/null || fail "the service exited while a request waited"
# shellcheck disable=SC2046
kill -CONT $(server_pids)
wait "$cpid"
assert_eq 200 "$(cat "$T_TMP/term.code")" "the request under way at SIGTERM"
verify_jwt "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T_TMP/term.body")" "$PUBK"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"
stop_server

# ---- real load on a file key --------------------------------------------------------

begin "--jobs 1 --queue 0, 16 keep-alive connections for 3 s: every answer 200 or 503, some of each, counted alike by the client, the audit log and /metrics"
: >"$AUDIT"
serve_start --listen "unix:$SOCK" --jobs 1 --queue 0 --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
printf '%s' "$U" >"$T_TMP/load.json"
out=$("$QSJWT_SERVE_LOAD" --unix "$SOCK" --body "$T_TMP/load.json" --connections 16 --seconds 3)
echo "# serve_load: $out"
field() { tr ' ' '\n' <<<"$out" | sed -n "s/^$1=//p"; }
assert_eq 0 "$(field errors)" "connection errors"
assert_eq 0 "$(field other)" "answers other than 200, 429 and 503"
assert_eq 0 "$(field s429)" "429s (no rate limit)"
[ "$(field ok)" -gt 0 ] || fail "no 200 under load"
[ "$(field s503)" -gt 0 ] || fail "no 503 under load with --queue 0"
assert_eq "$(field ok)" "$(audit_count 200)" "200s: the client against the audit log"
assert_eq "$(field s503)" "$(audit_count 503)" "503s: the client against the audit log"
assert_eq "$(field s503)" "$(grep -c "\"reason\":\"$OVERLOADED\"" "$AUDIT")" "every 503 is a shed request"
req GET /metrics
assert_status 200
assert_eq "$(field s503)" "$(metric qsjwt_requests_shed_total)" "qsjwt_requests_shed_total"
assert_eq 1 "$(metric qsjwt_sign_places)" "qsjwt_sign_places"
assert_eq 0 "$(metric qsjwt_sign_places_in_use)" "qsjwt_sign_places_in_use after the load"
req POST /v1/qseow "$U"
assert_status 200
verify_jwt "$(body_field token)" "$PUB"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"

finish
