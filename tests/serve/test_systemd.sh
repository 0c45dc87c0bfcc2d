#!/usr/bin/env bash
# qs-jwt serve under socket activation without a running systemd:
# systemd-socket-activate makes the sockets (a unix one, a loopback TCP one,
# and a TCP one named "https"), starts the service with them on the first
# connection, and a small datagram listener plays the manager's
# NOTIFY_SOCKET (READY=1 once the key is logged in, STOPPING=1 at SIGTERM).
. "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
. "$(dirname "$0")/pki.sh"

command -v systemd-socket-activate >/dev/null ||
	{ echo "missing tool: systemd-socket-activate (package systemd)" >&2; exit 2; }

U='{"userid":"jdoe","userdir":"ACME","username":"John Doe","useremail":"j@example.com","expires":"1h","audience":"qlik-aud"}'
NOTIFY=$T_TMP/notify.sock
NOTES=$T_TMP/notes
PLAIN_PORT=$(free_port)
PORT=$(free_port)
URL=https://127.0.0.1:$PORT
TLS_OPTS=(--tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key" --tls-client-ca "$PKI/ca.pem")
cat >"$T_TMP/policy.json" <<EOP
{"clients": [
  {"name": "me", "match": {"uid": $(id -u)},
   "allow": {"userdir": ["*"], "userid": ["*"], "audience": ["*"], "metrics": true}},
  {"name": "tls", "match": {"cert_subject": "CN=client,O=Test"},
   "allow": {"userdir": ["ACME"], "userid": ["*"], "audience": ["qlik-aud"]}},
  {"name": "lo", "match": {"loopback": true}, "allow": {"userdir": ["ACME"], "userid": ["*"],
   "audience": ["qlik-aud"]}}]}
EOP

# The manager's end of NOTIFY_SOCKET: every datagram as one line (line feeds
# shown as "|") in $NOTES, for at most 120 s.
python3 - "$NOTIFY" "$NOTES" <<'EOF_PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.5)
end = time.time() + 120
with open(sys.argv[2], 'a', buffering=1) as out:
    while time.time() < end:
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        out.write(d.decode('utf-8', 'replace').replace('\n', '|') + '\n')
EOF_PY
NOTIFY_PID=$!
at_exit "kill $NOTIFY_PID"
for _ in $(seq 100); do [ -S "$NOTIFY" ] && break; sleep 0.05; done
: >"$NOTES"

# activate ARGS...: systemd-socket-activate with the three sockets, running
# qs-jwt serve --listen systemd ARGS; its PID (the service's, it execs) in
# $SERVE_PID. The environment is passed on by name (-E).
activate() {
	local envs=() v
	for v in ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS; do
		[ -n "${!v:-}" ] && envs+=(-E "$v")
	done
	: >"$SERVE_LOG"
	systemd-socket-activate -l "$SOCK" -l "127.0.0.1:$PLAIN_PORT" -l "127.0.0.1:$PORT" \
		--fdname=api:plain:https -E "NOTIFY_SOCKET=$NOTIFY" "${envs[@]}" \
		"$QSJWT_BIN" serve --listen systemd "$@" >"$T_TMP/serve.out" 2>"$SERVE_LOG" </dev/null &
	SERVE_PID=$!
	at_exit "kill -9 $SERVE_PID"
	for _ in $(seq 100); do [ -S "$SOCK" ] && return 0; sleep 0.05; done
	fail "systemd-socket-activate did not make $SOCK: $(cat "$SERVE_LOG")"
	return 1
}

begin "socket activation: a unix, a loopback TCP and an https socket; READY=1 after the login"
activate --policy "$T_TMP/policy.json" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" \
	"${TLS_OPTS[@]}" || exit 1
# The first connection starts the service; it is answered once it is up.
req POST /v1/qseow "$U"
assert_status 200
verify_jwt "$(body_field token)" "$PUB"
assert_eq "allowed me $(id -u)" "$(audit_last decision client caller.uid)" "audit of the unix caller"
assert_contains "$SERVE_LOG" "INFO: listening on unix:$SOCK (passed by systemd as \"api\")"
assert_contains "$SERVE_LOG" "INFO: listening on tcp:127.0.0.1:$PLAIN_PORT (passed by systemd as \"plain\")"
assert_contains "$SERVE_LOG" "INFO: listening on https+tcp:127.0.0.1:$PORT (passed by systemd as \"https\")"
STATUS=$(curl -s -m 20 -o "$BODY_FILE" -w '%{http_code}' -H 'Content-Type: application/json' \
	--data-binary "$U" "http://127.0.0.1:$PLAIN_PORT/v1/qseow")
assert_status 200
verify_jwt "$(body_field token)" "$PUB"
assert_eq "allowed lo loopback" "$(audit_last decision client caller.peer)" "audit of the loopback caller"
treq client POST /v1/qseow "$U"
assert_status 200
verify_jwt "$(body_field token)" "$PUB"
assert_eq "allowed tls CN=client,O=Test" "$(audit_last decision client caller.cert_subject)" "audit of the TLS caller"
treq - GET /healthz
assert_eq 000 "$STATUS" "no client certificate on the https socket"
assert_eq "READY=1|STATUS=serving: 1 signing worker, key file '$KEY'" "$(head -n 1 "$NOTES")" "first notification"
assert_eq 1 "$(wc -l <"$NOTES")" "notifications before the stop"

begin "SIGTERM: STOPPING=1, exit 0; the unix socket stays (systemd owns it)"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"
assert_eq "STOPPING=1|STATUS=stopping: finishing the requests under way" "$(sed -n 2p "$NOTES")" "second notification"
[ -S "$SOCK" ] || fail "the service removed the socket systemd made"
rm -f "$SOCK"

# kick PORT PID: connect to PORT once systemd-socket-activate (PID) listens
# on it (the connection starts the service), then wait for PID, at most
# 30 s; its exit code in $KICK_RC.
kick() {
	local i rc
	for i in $(seq 100); do
		curl -s -m 10 -o /dev/null "http://127.0.0.1:$1/healthz"
		rc=$?
		# 7: nothing listens yet
		[ "$rc" != 7 ] && break
		sleep 0.05
	done
	for i in $(seq 300); do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$2" 2>/dev/null; then
		fail "the service on port $1 did not exit within 30 s"
		kill -9 "$2"
	fi
	wait "$2"
	KICK_RC=$?
}

begin "a passed TCP socket off loopback that is not named https is refused"
: >"$NOTES"
OFF_PORT=$(free_port)
systemd-socket-activate -l "0.0.0.0:$OFF_PORT" --fdname=plain -E "NOTIFY_SOCKET=$NOTIFY" \
	"$QSJWT_BIN" serve --listen systemd --audit-log "$AUDIT" --cert-privatekey-file "$KEY" \
	>"$T_TMP/serve.out" 2>"$SERVE_LOG" </dev/null &
pid=$!
at_exit "kill -9 $pid"
kick "$OFF_PORT" "$pid"
assert_eq 1 "$KICK_RC" "exit code"
assert_contains "$SERVE_LOG" "ERROR: --listen systemd: socket tcp:0.0.0.0:$OFF_PORT (plain) is not on a loopback address and plain HTTP is only served on this machine; name it https (FileDescriptorName=https) to serve TLS on it"
assert_not_contains "$NOTES" "READY=1"
# An https socket without the TLS files.
systemd-socket-activate -l "127.0.0.1:$OFF_PORT" --fdname=https \
	"$QSJWT_BIN" serve --listen systemd --audit-log "$AUDIT" --cert-privatekey-file "$KEY" \
	>"$T_TMP/serve.out" 2>"$SERVE_LOG" </dev/null &
pid=$!
at_exit "kill -9 $pid"
kick "$OFF_PORT" "$pid"
assert_eq 1 "$KICK_RC" "exit code"
assert_contains "$SERVE_LOG" "ERROR: https+tcp:127.0.0.1:$OFF_PORT serves TLS: give --tls-cert, --tls-key and --tls-client-ca"

begin "--listen systemd without sockets passed: exit 1"
run "$QSJWT_BIN" serve --listen systemd --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_rc 1
assert_contains "$ERR" "ERROR: --listen systemd: no sockets were passed (LISTEN_FDS is not set for this process)"
assert_empty_stdout

finish
