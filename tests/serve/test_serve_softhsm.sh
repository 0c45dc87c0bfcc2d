#!/usr/bin/env bash
# qs-jwt serve with a key on a SoftHSM2 token: one C_Login for many requests
# (pkcs11-spy), tokens equal to create-qseow's and verified with openssl; the
# token served by a p11-kit server that is killed (503, /healthz 503) and
# started again (the service recovers by itself); a PIN changed meanwhile
# stops the retries after one refused login.
. "$(dirname "$0")/lib.sh"

for _tool in softhsm2-util p11-kit ps pkcs11-tool; do
	command -v "$_tool" >/dev/null || { echo "missing tool: $_tool" >&2; exit 2; }
done
# shellcheck source=../../scripts/softhsm.sh
. "$QSJWT_SOURCE_DIR/scripts/softhsm.sh"
CLIENT_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
SPY_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so
for _f in "$SOFTHSM_MODULE" "$CLIENT_MODULE" "$SPY_MODULE"; do
	[ -e "$_f" ] || { echo "missing $_f" >&2; exit 2; }
done

PIN=2580-serve
token_key_setup "$PIN" T
TOKARGS=(--pkcs11-uri 'pkcs11:token=T;object=jwt' --pkcs11-pin-file "$PINF")
U='{"userid":"jdoe","userdir":"ACME","username":"John Doe","useremail":"j@example.com","groups":["Sales"],"expires":"60m","audience":"qlik-aud"}'
spy_n() { grep -cE "^[0-9]+: $1\$" "$SPY_LOG"; }

begin "PIN file readable by others: serve refuses at start, the command's error (exit 2), nothing listens"
(umask 022 && echo "$PIN" >"$T_TMP/open-pin")
timeout -k 5 60 "$QSJWT_BIN" serve --listen "unix:$SOCK" --audit-log "$AUDIT" \
	--pkcs11-uri 'pkcs11:token=T;object=jwt' --pkcs11-pin-file "$T_TMP/open-pin" >"$OUT" 2>"$ERR" </dev/null
RC=$?
assert_cli_error 2 serve "--pkcs11-pin-file '$T_TMP/open-pin' is readable by other users (mode 0644); make it private first: chmod 600 '$T_TMP/open-pin'"
assert_not_exists "$SOCK"

begin "token key: the token equals create-qseow's for the same claims and clock"
qs_pinned --userdir ACME --userid jdoe --username 'John Doe' --useremail j@example.com \
	--groups Sales --expires 60m --audience qlik-aud "${TOKARGS[@]}"
assert_rc 0
want=$(cat "$OUT")
serve_start --pinned --listen "unix:$SOCK" --audit-log "$AUDIT" "${TOKARGS[@]}" || exit 1
req POST /v1/qseow "$U"
assert_status 200
assert_eq "$want" "$(body_field token)" "token"
verify_jwt "$(body_field token)" "$PUBK"
req GET /v1/certificate
assert_eq 200 "$STATUS" "GET /v1/certificate"
assert_eq "$(openssl x509 -in "$HSM/publickey.cer" -inform DER 2>/dev/null || openssl x509 -in "$HSM/publickey.cer")" \
	"$(cat "$BODY_FILE")" "the certificate stored beside the token key"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"

begin "token key, --jobs 2, through pkcs11-spy: 30 requests, one C_Login, a session per worker"
SPY_LOG=$T_TMP/spy.log
RUN_ENV=("PKCS11SPY=$SOFTHSM_MODULE" "PKCS11SPY_OUTPUT=$SPY_LOG")
serve_start --listen "unix:$SOCK" --jobs 2 --audit-log "$AUDIT" "${TOKARGS[@]}" \
	--pkcs11-module "$SPY_MODULE" || exit 1
RUN_ENV=()
bad=0
# Three at a time, to keep both workers busy (wait by PID: the service is a
# background job too).
for i in $(seq 1 10); do
	pids=()
	for j in 1 2 3; do
		curl -s -m 20 --unix-socket "$SOCK" -o "$T_TMP/par.$i.$j" -H 'Content-Type: application/json' \
			--data-binary "$U" http://qs-jwt/v1/qseow &
		pids+=($!)
	done
	wait "${pids[@]}"
done
assert_eq 30 "$(cat "$T_TMP"/par.* | grep -c '"token"')" "tokens of the parallel requests"
for i in $(seq 1 30); do
	req POST /v1/qseow "$U"
	[ "$STATUS" = 200 ] || bad=$((bad + 1))
	[ "$i" -le 3 ] && verify_jwt "$(body_field token)" "$PUBK"
done
assert_eq 0 "$bad" "requests that failed"
assert_eq 1 "$(spy_n C_Login)" "C_Login calls while serving"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"
assert_eq 1 "$(spy_n C_Login)" "C_Login calls"
assert_eq 3 "$(spy_n C_OpenSession)" "C_OpenSession calls (the login session and one per worker)"
assert_eq 60 "$(spy_n C_Sign)" "C_Sign calls"
assert_eq 1 "$(spy_n C_Logout)" "C_Logout calls"
assert_eq C_Finalize "$(sed -nE 's/^[0-9]+: (C_[A-Za-z]+)$/\1/p' "$SPY_LOG" | tail -n 1)" "the last PKCS#11 call"
assert_not_contains "$AUDIT" "$PIN"
assert_not_contains "$SERVE_LOG" "$PIN"

# ---- through p11-kit server ----------------------------------------------------------------

P11SOCK=$T_TMP/p11.sock
SERVER_PID=
server_children() { [ -n "$SERVER_PID" ] && ps -o pid= --ppid "$SERVER_PID" 2>/dev/null | tr -d ' '; }
# stop_server: the children (serving the connections) first, then the listener.
stop_server() {
	local kids pid
	[ -n "$SERVER_PID" ] || return 0
	kids=$(server_children)
	for pid in $kids; do kill "$pid" 2>/dev/null; done
	kill "$SERVER_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$SERVER_PID" 2>/dev/null && { sleep 0.05; continue; }
		for pid in $kids; do kill -0 "$pid" 2>/dev/null && { sleep 0.05; continue 2; }; done
		break
	done
	# shellcheck disable=SC2086
	kill -9 "$SERVER_PID" $kids 2>/dev/null
	SERVER_PID=
}
at_exit stop_server
start_server() {
	local vars
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
	[ -S "$P11SOCK" ] || { echo "p11-kit server: no socket $P11SOCK" >&2; exit 2; }
}
# wait_health CODE SECONDS: /healthz answers CODE within SECONDS.
wait_health() {
	local _
	for _ in $(seq 1 $(($2 * 10))); do
		req GET /healthz
		[ "$STATUS" = "$1" ] && return 0
		sleep 0.1
	done
	fail "/healthz did not answer $1 within $2 s (last: $STATUS $(cat "$BODY_FILE"))"
}

start_server
REMOTE_URI="pkcs11:token=T;object=jwt?module-path=$CLIENT_MODULE"

begin "remote token: the p11-kit server killed gives 503 and /healthz 503; started again, the service recovers without a restart"
RUN_ENV=("P11_KIT_SERVER_ADDRESS=$ADDR" "SOFTHSM2_CONF=$T_TMP/none/softhsm2.conf")
serve_start --listen "unix:$SOCK" --audit-log "$AUDIT" --pkcs11-uri "$REMOTE_URI" --pkcs11-pin-file "$PINF" || exit 1
RUN_ENV=()
req POST /v1/qseow "$U"
assert_status 200
verify_jwt "$(body_field token)" "$PUBK"
stop_server
n0=$(audit_lines)
# /healthz finds out by itself (a test signature), before any request failed.
sleep 1.1
req GET /healthz
assert_eq 503 "$STATUS" "/healthz with the server gone"
assert_contains "$BODY_FILE" '"error":"the token'
req POST /v1/qseow "$U"
assert_status 503 "the token is unavailable; see /healthz"
assert_eq "failed 503" "$(audit_last decision status)" "audit of the failure"
req POST /v1/qseow "$U"
assert_status 503 "the token is unavailable; see /healthz"
assert_eq $((n0 + 2)) "$(audit_lines)" "audit lines of the refused requests"
start_server
[ "$ADDR" = "unix:path=$P11SOCK" ] || fail "the server came back elsewhere: $ADDR"
wait_health 200 40
req POST /v1/qseow "$U"
assert_status 200
verify_jwt "$(body_field token)" "$PUBK"
assert_contains "$SERVE_LOG" "reconnecting"
assert_contains "$SERVE_LOG" "the key signs again (reconnected)"
assert_not_contains "$AUDIT" "$PIN"
assert_not_contains "$SERVE_LOG" "$PIN"
grep -o '"token_sha256":"[0-9a-f]*"' "$AUDIT" | grep -vqE '"[0-9a-f]{64}"$' && fail "a token hash is not 64 hex digits"

begin "remote token: a PIN changed while the token was away: one refused login, no retry, /healthz 503 says why"
stop_server
req POST /v1/qseow "$U"
assert_status 503 "the token is unavailable; see /healthz"
SOFTHSM2_CONF=$HSM/softhsm2.conf pkcs11-tool --module "$SOFTHSM_MODULE" --token-label T \
	--login --pin "$PIN" --change-pin --new-pin "new-$PIN" >/dev/null 2>&1 ||
	fail "cannot change the token's PIN"
start_server
for _ in $(seq 1 200); do grep -q 'refused the login' "$SERVE_LOG" && break; sleep 0.1; done
req GET /healthz
assert_eq 503 "$STATUS" "/healthz after the refused login"
assert_contains "$BODY_FILE" "the token refused the login on reconnection: not retried (no PIN lockout)"
logins=$(grep -c 'reconnecting' "$SERVE_LOG")
sleep 3
assert_eq "$logins" "$(grep -c 'reconnecting' "$SERVE_LOG")" "reconnection attempts after the refused login"
req POST /v1/qseow "$U"
assert_status 503 "the token is unavailable; see /healthz"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"
stop_server

finish
