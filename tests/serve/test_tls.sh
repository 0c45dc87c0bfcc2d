#!/usr/bin/env bash
# qs-jwt serve over TLS with client certificates: a test CA made with openssl
# in the temp dir; curl and openssl s_client as clients. A good certificate
# gets a token (verified with openssl) under the policy's cert_subject and
# cert_sha256 matches; no certificate, another CA's, an expired one, one not
# meant for TLS clients, plain HTTP and TLS 1.1 are refused without a request
# served; TLS 1.3 is negotiated, 1.2 accepted; SIGHUP rereads a replaced
# server certificate; GET /metrics allowed and denied by the policy, its
# values exact after a known number of requests; the option and file errors.
. "$(dirname "$0")/lib.sh"

U='{"userid":"jdoe","userdir":"ACME","username":"John Doe","useremail":"j@example.com","expires":"1h","audience":"qlik-aud"}'
# shellcheck source=pki.sh
. "$(dirname "$0")/pki.sh"
# The service's files, replaced for the SIGHUP case.
cp "$PKI/server.pem" "$T_TMP/tls.pem"
cp "$PKI/server.key" "$T_TMP/tls.key"
TLS_OPTS=(--tls-cert "$T_TMP/tls.pem" --tls-key "$T_TMP/tls.key" --tls-client-ca "$PKI/ca.pem")

der_sha256() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
SCRAPER_SHA=$(der_sha256 "$PKI/scraper.pem")
CLIENT_SHA=$(der_sha256 "$PKI/client.pem")
# colons and upper case, as `openssl x509 -fingerprint` shows it
SCRAPER_FP=$(openssl x509 -in "$PKI/scraper.pem" -noout -fingerprint -sha256 | cut -d= -f2)

cat >"$T_TMP/policy.json" <<EOP
{"clients": [
  {"name": "portal-tls", "match": {"cert_subject": "CN=client,O=Test"},
   "allow": {"userdir": ["ACME"], "userid": ["*"], "audience": ["qlik-aud"],
             "max_lifetime": "8h"}},
  {"name": "scraper", "match": {"cert_sha256": "$SCRAPER_FP"}, "allow": {"metrics": true}},
  {"name": "local", "match": {"uid": $(id -u)}, "allow": {"metrics": true}}]}
EOP

PORT=$(free_port)
URL=https://127.0.0.1:$PORT

# s_client ARGS...: openssl s_client to the service sending one GET /healthz;
# its output in $T_TMP/s_client.out.
s_client() {
	printf 'GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' |
		timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$PKI/ca.pem" -brief \
			-ign_eof "$@" >"$T_TMP/s_client.out" 2>&1
}

# assert_refused WHAT: the last treq got no HTTP answer and no audit line was
# written; the service still answers a good client.
assert_refused() {
	assert_eq 000 "$STATUS" "HTTP status for $1 (no answer)"
	assert_eq "$n_audit" "$(audit_lines)" "audit lines after $1 (nothing was asked)"
	[ -s "$BODY_FILE" ] && fail "$1: a body came back: $(head -c 200 "$BODY_FILE")"
	treq client GET /healthz
	assert_eq 200 "$STATUS" "a good client after $1"
}

# ---- a good client ----------------------------------------------------------------------

begin "a client certificate the CA signed: token issued under cert_subject, verified, audited"
serve_start --listen "https:127.0.0.1:$PORT" "${TLS_OPTS[@]}" --policy "$T_TMP/policy.json" \
	--audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
assert_contains "$SERVE_LOG" "INFO: listening on https:127.0.0.1:$PORT (callers known by their client certificate)"
treq client POST /v1/qseow "$U"
assert_status 200
tok=$(body_field token)
verify_jwt "$tok" "$PUB"
assert_eq "allowed 200 portal-tls tls CN=client,O=Test $CLIENT_SHA $(sha256_of "$tok")" \
	"$(audit_last decision status client caller.peer caller.cert_subject caller.cert_sha256 token_sha256)" \
	"audit line of a TLS caller"
assert_not_contains "$AUDIT" "${tok##*.}"
treq client POST /v1/qseow "${U/ACME/OTHER}"
assert_status 403 'userdir "OTHER" is not allowed for client "portal-tls"'
# A certificate from the right CA that no policy entry names.
treq stranger POST /v1/qseow "$U"
assert_status 403 "unknown caller: no policy client matches it"
assert_eq "denied 403 CN=stranger,O=Test" "$(audit_last decision status caller.cert_subject)" "audit of a stranger"

begin "TLS 1.3 is negotiated, TLS 1.2 accepted, TLS 1.1 refused"
s_client -cert "$PKI/client.pem" -key "$PKI/client.key"
assert_contains "$T_TMP/s_client.out" "Protocol version: TLSv1.3"
assert_contains "$T_TMP/s_client.out" '{"status":"ok"}'
s_client -tls1_2 -cert "$PKI/client.pem" -key "$PKI/client.key"
assert_contains "$T_TMP/s_client.out" "Protocol version: TLSv1.2"
assert_contains "$T_TMP/s_client.out" '{"status":"ok"}'
# SECLEVEL=0: OpenSSL 3 itself would not offer TLS 1.1 otherwise.
s_client -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' -cert "$PKI/client.pem" -key "$PKI/client.key"
assert_not_contains "$T_TMP/s_client.out" "Protocol version: TLSv1.1"
assert_not_contains "$T_TMP/s_client.out" "HTTP/1.1"

begin "no client certificate, another CA's, an expired one, a server-only one: nothing is served"
n_audit=$(audit_lines)
treq - GET /healthz
assert_refused "no client certificate"
treq - POST /v1/qseow "$U"
assert_refused "no client certificate (POST)"
treq other POST /v1/qseow "$U"
assert_refused "a certificate from another CA"
treq expired POST /v1/qseow "$U"
assert_refused "an expired certificate"
treq serveronly POST /v1/qseow "$U"
assert_refused "a certificate for TLS servers only (extendedKeyUsage serverAuth)"
# TLS 1.2: the handshake itself fails without a certificate; TLS 1.3: the
# client's side completes first, but no answer comes.
s_client -tls1_2
assert_not_contains "$T_TMP/s_client.out" "CONNECTION ESTABLISHED"
s_client -tls1_3
assert_not_contains "$T_TMP/s_client.out" "HTTP/1.1"
s_client -tls1_2 -cert "$PKI/other.pem" -key "$PKI/other.key"
assert_not_contains "$T_TMP/s_client.out" "HTTP/1.1"
assert_eq "$n_audit" "$(audit_lines)" "audit lines after the refused handshakes"

begin "plain HTTP to the TLS port: no answer, the service goes on"
n_audit=$(audit_lines)
: >"$BODY_FILE"
STATUS=$(curl -s -m 10 -o "$BODY_FILE" -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
assert_refused "plain HTTP"
: >"$BODY_FILE"
STATUS=$(curl -s -m 10 -o "$BODY_FILE" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "$U" "http://127.0.0.1:$PORT/v1/qseow")
assert_refused "plain HTTP (POST)"

begin "SIGHUP rereads a replaced server certificate; a broken one keeps the pair in force"
s_client -cert "$PKI/client.pem" -key "$PKI/client.key"
assert_contains "$T_TMP/s_client.out" "Peer certificate: O = Test, CN = server"
cp "$PKI/server2.pem" "$T_TMP/tls.pem"
cp "$PKI/server2.key" "$T_TMP/tls.key"
kill -HUP "$SERVE_PID"
for _ in $(seq 100); do grep -q "SIGHUP: TLS certificate and key reloaded" "$SERVE_LOG" && break; sleep 0.1; done
assert_contains "$SERVE_LOG" "INFO: SIGHUP: TLS certificate and key reloaded"
s_client -cert "$PKI/client.pem" -key "$PKI/client.key"
assert_contains "$T_TMP/s_client.out" "Peer certificate: O = Test, CN = server2"
assert_contains "$T_TMP/s_client.out" '{"status":"ok"}'
# A key that does not belong to the certificate.
cp "$PKI/server.key" "$T_TMP/tls.key"
kill -HUP "$SERVE_PID"
for _ in $(seq 100); do grep -q "SIGHUP: the TLS certificate and key in force stay" "$SERVE_LOG" && break; sleep 0.1; done
assert_contains "$SERVE_LOG" "ERROR: TLS certificate '$T_TMP/tls.pem' and key '$T_TMP/tls.key': "
assert_contains "$SERVE_LOG" "ERROR: SIGHUP: the TLS certificate and key in force stay"
s_client -cert "$PKI/client.pem" -key "$PKI/client.key"
assert_contains "$T_TMP/s_client.out" "Peer certificate: O = Test, CN = server2"
treq client POST /v1/qseow "$U"
assert_status 200
verify_jwt "$(body_field token)" "$PUB"
assert_not_contains "$SERVE_LOG" "BEGIN"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code after SIGTERM"
cp "$PKI/server.pem" "$T_TMP/tls.pem"
cp "$PKI/server.key" "$T_TMP/tls.key"

# ---- metrics ---------------------------------------------------------------------------

begin "GET /metrics: allowed by cert_sha256 (metrics: true), denied otherwise; exact values"
: >"$AUDIT"
serve_start --listen "https:127.0.0.1:$PORT" --listen "unix:$SOCK" "${TLS_OPTS[@]}" \
	--policy "$T_TMP/policy.json" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
for i in 1 2 3; do
	treq client POST /v1/qseow "$U"
	assert_status 200
done
treq client POST /v1/qseow "${U/ACME/OTHER}"
assert_status 403
treq stranger POST /v1/qseow "$U"
assert_status 403
treq client GET /nowhere
assert_status 404
treq client GET /metrics
assert_status 403 'client "portal-tls" may not read /metrics'
assert_eq "denied 403 /metrics portal-tls" "$(audit_last decision status route client)" "audit of a metrics denial"
treq stranger GET /metrics
assert_status 403 "unknown caller: no policy client matches it"
treq scraper GET /metrics - -D "$T_TMP/headers"
assert_status 200
assert_contains "$T_TMP/headers" "Content-Type: text/plain; version=0.0.4; charset=utf-8"
cp "$BODY_FILE" "$T_TMP/metrics.txt"
grep -E '^qsjwt_(build_info|http_requests_total|tokens_(issued|denied)_total|sign_duration_seconds_count|token_up|relogins_total|audit_failures_total)' \
	"$T_TMP/metrics.txt" >"$T_TMP/metrics.got"
cat >"$T_TMP/metrics.want" <<'EOM'
qsjwt_build_info{version="0.1.0"} 1
qsjwt_http_requests_total{route="/v1/qseow",status="200"} 3
qsjwt_http_requests_total{route="/v1/qseow",status="403"} 2
qsjwt_http_requests_total{route="(unknown)",status="404"} 1
qsjwt_http_requests_total{route="/metrics",status="403"} 2
qsjwt_tokens_issued_total{client="portal-tls"} 3
qsjwt_tokens_denied_total{client="portal-tls"} 1
qsjwt_tokens_denied_total{client="(none)"} 1
qsjwt_sign_duration_seconds_count 3
qsjwt_token_up 1
qsjwt_relogins_total 0
qsjwt_audit_failures_total 0
EOM
assert_file_eq "$T_TMP/metrics.want" "$T_TMP/metrics.got"
assert_contains "$T_TMP/metrics.txt" 'qsjwt_sign_duration_seconds_bucket{le="+Inf"} 3'
if command -v promtool >/dev/null; then
	promtool check metrics <"$T_TMP/metrics.txt" >"$T_TMP/promtool.out" 2>&1 ||
		fail "promtool check metrics: $(cat "$T_TMP/promtool.out")"
fi
# The scrape itself is counted, after it was answered; unix callers of
# the same service by uid.
req GET /metrics
assert_status 200
assert_contains "$BODY_FILE" 'qsjwt_http_requests_total{route="/metrics",status="200"} 1'
assert_eq 8 "$(audit_lines)" "audit lines: 5 token decisions, the 404, 2 metrics denials"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"

# ---- options and files -----------------------------------------------------------------

begin "TLS option errors are usage errors (exit 2); plain HTTP off loopback is refused"
base=(serve --audit-log "$AUDIT" --cert-privatekey-file "$KEY")
while IFS='|' read -r args msg; do
	# shellcheck disable=SC2086
	run "$QSJWT_BIN" "${base[@]}" $args
	assert_rc 2
	assert_contains "$ERR" "$msg"
	assert_empty_stdout
done <<ROWS
--listen https:127.0.0.1:$PORT|error: --listen https: needs --tls-cert, --tls-key and --tls-client-ca
--listen https:127.0.0.1:$PORT --tls-cert $T_TMP/tls.pem --tls-key $T_TMP/tls.key|error: TLS needs all of --tls-cert, --tls-key and --tls-client-ca
--listen unix:$SOCK --tls-cert a --tls-key b --tls-client-ca c|error: --tls-cert, --tls-key and --tls-client-ca are for --listen https: (or a systemd socket named https)
--listen http:0.0.0.0:80|error: --listen takes unix:PATH, tcp:127.0.0.1:PORT, https:ADDRESS:PORT or systemd, not 'http:0.0.0.0:80'
ROWS
run "$QSJWT_BIN" "${base[@]}" --listen "tcp:0.0.0.0:$PORT"
assert_cli_error 2 serve "--listen 'tcp:0.0.0.0:$PORT': '0.0.0.0' is not a loopback address (127.0.0.0/8 or ::1): plain HTTP is only served on this machine"

begin "TLS file errors: exit 1, the file named, nothing left listening"
printf 'not a certificate\n' >"$T_TMP/junk.pem"
while IFS='|' read -r cert key ca msg; do
	run "$QSJWT_BIN" "${base[@]}" --listen "https:127.0.0.1:$PORT" --tls-cert "$cert" \
		--tls-key "$key" --tls-client-ca "$ca"
	assert_rc 1
	assert_contains "$ERR" "$msg"
	assert_empty_stdout
	assert_not_contains "$ERR" "INFO: ready"
done <<ROWS
$T_TMP/missing.pem|$PKI/server.key|$PKI/ca.pem|cannot read TLS certificate file '$T_TMP/missing.pem': No such file or directory
$PKI/server.pem|$PKI/server.key|$T_TMP/junk.pem|TLS client CA file '$T_TMP/junk.pem': no PEM certificate in it
$PKI/server.pem|$PKI/client.key|$PKI/ca.pem|TLS certificate '$PKI/server.pem' and key '$PKI/client.key': 
$T_TMP/junk.pem|$T_TMP/junk.pem|$PKI/ca.pem|TLS certificate '$T_TMP/junk.pem' and key '$T_TMP/junk.pem': 
ROWS
run "$QSJWT_BIN" "${base[@]}" --listen "https:192.0.2.1:$PORT" "${TLS_OPTS[@]}"
assert_rc 1
assert_contains "$ERR" "ERROR: --listen https:192.0.2.1:$PORT: cannot listen on 192.0.2.1 port $PORT: Cannot assign requested address"
run "$QSJWT_BIN" "${base[@]}" --listen "https:localhost:$PORT" "${TLS_OPTS[@]}"
assert_rc 1
assert_contains "$ERR" "'localhost' is not an IPv4 or IPv6 address"

finish
