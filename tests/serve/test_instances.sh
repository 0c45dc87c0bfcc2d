#!/usr/bin/env bash
# Two qs-jwt serve instances on one token, as behind a TCP load balancer in
# front of one network HSM: a SoftHSM2 token holding the reference key is
# exported by one `p11-kit server`, each instance logs in through
# p11-kit-client.so and serves https on its own port. Both issue exactly
# the reference tokens (pinned clock); rate limits are per instance.
. "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
. "$(dirname "$0")/pki.sh"
# shellcheck source=../../scripts/softhsm.sh
. "$QSJWT_SOURCE_DIR/scripts/softhsm.sh"

CLIENT_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
for f in "$SOFTHSM_MODULE" "$CLIENT_MODULE"; do
	[ -e "$f" ] || { echo "missing $f" >&2; exit 2; }
done
command -v pkcs11-tool >/dev/null || { echo "missing tool: pkcs11-tool" >&2; exit 2; }

PIN=2580-instances
softhsm_new "$T_TMP/hsm" qlik "$PIN" >/dev/null || { echo "softhsm_new failed" >&2; exit 2; }
openssl pkey -in "$KEY" -outform DER -out "$T_TMP/key.der" 2>/dev/null
openssl pkey -in "$KEY" -pubout -outform DER -out "$T_TMP/pub.der" 2>/dev/null
for t in privkey:key pubkey:pub; do
	pkcs11-tool --module "$SOFTHSM_MODULE" --token-label qlik --login --pin "$PIN" \
		--write-object "$T_TMP/${t#*:}.der" --type "${t%%:*}" --label jwt-signing --id 01 \
		>"$T_TMP/import.log" 2>&1 || { cat "$T_TMP/import.log" >&2; exit 2; }
done
rm -f "$T_TMP/key.der"

# The p11-kit server exporting the token on a unix socket (stopped by PID
# on every exit; -t: it also exits once idle should this script be killed).
P11_SOCK=$T_TMP/p11.sock
if [ ${#P11_SOCK} -gt 100 ]; then
	P11_SOCK=$(mktemp -d /tmp/qsjwt-sock.XXXXXX)/p11.sock
	at_exit "rm -rf '$(dirname "$P11_SOCK")'"
fi
P11_PID=
p11_children() { [ -n "$P11_PID" ] && ps -o pid= --ppid "$P11_PID" 2>/dev/null | tr -d ' '; }
# p11_stop: the children (one per client connection) first, then the
# listener, by PID.
p11_stop() {
	local kids pid
	[ -n "$P11_PID" ] || return 0
	kids=$(p11_children)
	for pid in $kids; do kill "$pid" 2>/dev/null; done
	kill "$P11_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$P11_PID" 2>/dev/null && { sleep 0.05; continue; }
		for pid in $kids; do kill -0 "$pid" 2>/dev/null && { sleep 0.05; continue 2; }; done
		break
	done
	# shellcheck disable=SC2086
	kill -9 "$P11_PID" $kids 2>/dev/null
	P11_PID=
}
at_exit p11_stop
p11_start() {
	rm -f "$P11_SOCK"
	p11-kit server --provider "$SOFTHSM_MODULE" --name "$P11_SOCK" -s -t 300 'pkcs11:token=qlik' \
		>"$T_TMP/p11.env" 2>"$T_TMP/p11.err"
	P11_PID=$(sed -n 's/^P11_KIT_SERVER_PID=\([0-9]*\);.*$/\1/p' "$T_TMP/p11.env")
	ADDRESS=$(sed -n 's/^P11_KIT_SERVER_ADDRESS=\([^;]*\);.*$/\1/p' "$T_TMP/p11.env")
	[ -n "$P11_PID" ] && [ -n "$ADDRESS" ] ||
		{ echo "p11-kit server did not start: $(cat "$T_TMP/p11.env" "$T_TMP/p11.err")" >&2; exit 2; }
	for _ in $(seq 100); do [ -S "$P11_SOCK" ] && break; sleep 0.05; done
}
p11_start

# The instances see the token only through the server.
RUN_ENV=("P11_KIT_SERVER_ADDRESS=$ADDRESS" "SOFTHSM2_CONF=$T_TMP/none/softhsm2.conf")
URI="pkcs11:token=qlik;object=jwt-signing?module-path=$CLIENT_MODULE"
TLS_OPTS=(--tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key" --tls-client-ca "$PKI/ca.pem")
cat >"$T_TMP/policy.json" <<EOP
{"clients": [
  {"name": "portal", "match": {"cert_subject": "CN=client,O=Test"},
   "allow": {"userdir": ["*"], "userid": ["*"], "audience": ["*"], "groups": ["*"],
             "requests_per_minute": 3}},
  {"name": "unlimited", "match": {"cert_subject": "CN=stranger,O=Test"},
   "allow": {"userdir": ["*"], "userid": ["*"], "audience": ["*"], "groups": ["*"]}},
  {"name": "scraper", "match": {"cert_subject": "CN=scraper,O=Test"}, "allow": {"metrics": true}}]}
EOP

PORTS=()
PIDS=()
begin "two instances, one p11-kit server: both log in and serve https"
for i in 1 2; do
	PORTS[i]=$(free_port)
	SERVE_LOG=$T_TMP/serve$i.log
	serve_start --pinned --listen "https:127.0.0.1:${PORTS[i]}" "${TLS_OPTS[@]}" \
		--policy "$T_TMP/policy.json" --audit-log "$T_TMP/audit$i.jsonl" \
		--pkcs11-uri "$URI" --pkcs11-pin-file "$T_TMP/hsm/pin" || exit 1
	PIDS[i]=$SERVE_PID
	assert_contains "$SERVE_LOG" "INFO: ready: 1 signing worker"
done

begin "both issue the reference token byte for byte, each audits its own"
for i in 1 2; do
	URL=https://127.0.0.1:${PORTS[i]}
	treq client POST /v1/qseow "$(vector_body all-claims)"
	assert_status 200
	assert_eq "$(cat "$VEC/all-claims.jwt")" "$(body_field token)" "token of instance $i"
	verify_jwt "$(body_field token)" "$PUB"
	assert_eq "allowed portal $(sha256_of "$(body_field token)")" \
		"$(AUDIT=$T_TMP/audit$i.jsonl audit_last decision client token_sha256)" "audit of instance $i"
done

begin "rate limits are per instance: 3 a minute on each, 6 in all"
for i in 1 2; do
	URL=https://127.0.0.1:${PORTS[i]}
	for n in 2 3; do
		treq client POST /v1/qseow "$(vector_body all-claims)"
		assert_status 200
	done
	treq client POST /v1/qseow "$(vector_body all-claims)"
	assert_status 429 "over the client's requests_per_minute"
done

# metric NAME: its value in the last /metrics answer.
metric() { awk -v n="$1" '$1 == n { print $2 }' "$BODY_FILE"; }

begin "the token goes away under both: 503, qsjwt_token_up 0; back: both log in again, qsjwt_relogins_total 1"
p11_stop
for i in 1 2; do
	URL=https://127.0.0.1:${PORTS[i]}
	treq stranger POST /v1/qseow "$(vector_body all-claims)"
	assert_status 503
	treq scraper GET /metrics
	assert_status 200
	assert_eq "0 0" "$(metric qsjwt_token_up) $(metric qsjwt_relogins_total)" "token_up, relogins of instance $i while the token is away"
done
p11_start
for i in 1 2; do
	URL=https://127.0.0.1:${PORTS[i]}
	for _ in $(seq 300); do
		treq client GET /healthz
		[ "$STATUS" = 200 ] && break
		sleep 0.1
	done
	assert_eq 200 "$STATUS" "/healthz of instance $i within 30 s of the token's return"
	treq scraper GET /metrics
	assert_eq "1 1" "$(metric qsjwt_token_up) $(metric qsjwt_relogins_total)" "token_up, relogins of instance $i once back"
	assert_contains "$BODY_FILE" 'qsjwt_tokens_issued_total{client="portal"} 3'
	treq stranger POST /v1/qseow "$(vector_body all-claims)"
	assert_status 200
	assert_eq "$(cat "$VEC/all-claims.jwt")" "$(body_field token)" "token of instance $i after the reconnection"
done

begin "both stop cleanly"
for i in 1 2; do
	SERVE_PID=${PIDS[i]}
	serve_stop
	assert_eq 0 "$SERVE_RC" "exit code of instance $i"
done

finish
