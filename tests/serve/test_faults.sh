#!/usr/bin/env bash
# qs-jwt serve against hostile clients, one service on a unix socket, a
# loopback TCP port and an https port at once: a table of malformed requests
# sent as raw bytes (python3 sockets), each with its exact answer or a
# closed connection, no token in any answer and an audit line for every one
# that reached a route; a 100 MB body over plain HTTP and TLS refused at
# once (413) without being read; 10,000 idle connections (or as many as the
# hard RLIMIT_NOFILE allows) while other clients get tokens, dropped after
# --connection-timeout; clients that drop the connection mid-request and
# mid-TLS-handshake. The service's open file descriptors (/proc/PID/fd) come
# back to where they were, and its RSS is reported.
. "$(dirname "$0")/lib.sh"
# shellcheck source=pki.sh
. "$(dirname "$0")/pki.sh"

U='{"userid":"jdoe","userdir":"ACME","username":"John Doe","useremail":"j@example.com","expires":"1h","audience":"qlik-aud"}'
PORT=$(free_port)
TPORT=$(free_port)
URL=https://127.0.0.1:$PORT
# Long enough for 10,000 connections to be accepted on a loaded machine
# before the first of them is idle that long.
TIMEOUT=8

cat >"$T_TMP/policy.json" <<EOP
{"clients": [
  {"name": "local", "match": {"uid": $(id -u)}, "allow": {"userdir": ["*"], "userid": ["*"], "audience": ["*"]}},
  {"name": "lo", "match": {"loopback": true}, "allow": {"userdir": ["*"], "userid": ["*"], "audience": ["*"]}},
  {"name": "tls", "match": {"cert_subject": "CN=client,O=Test"}, "allow": {"userdir": ["*"], "userid": ["*"], "audience": ["*"]}}]}
EOP

fds() { find "/proc/$SERVE_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVE_PID/status"; }
# wait_fds N: wait (at most 30 s) until the service holds at most N fds.
wait_fds() {
	local _
	for _ in $(seq 1 300); do
		[ "$(fds)" -le "$1" ] && return 0
		sleep 0.1
	done
	fail "the service holds $(fds) file descriptors, not $1 as before"
	find "/proc/$SERVE_PID/fd" -mindepth 1 -maxdepth 1 -exec readlink {} + | sort | uniq -c | sort -rn | head -5
}
# good_clients: a token on each listener, verified.
good_clients() {
	local what=$1 fails=$T_FAILS case_failed=$T_CASE_FAILED
	T_CASE_FAILED=0
	req POST /v1/qseow "$U"
	assert_status 200 && verify_jwt "$(body_field token)" "$PUB"
	STATUS=$(curl -s -m 20 -o "$BODY_FILE" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "$U" "http://127.0.0.1:$TPORT/v1/qseow")
	assert_status 200 && verify_jwt "$(body_field token)" "$PUB"
	treq client POST /v1/qseow "$U"
	assert_status 200 && verify_jwt "$(body_field token)" "$PUB"
	[ "$T_CASE_FAILED" = 0 ] && T_CASE_FAILED=$case_failed
	[ "$T_CASE_FAILED" = 0 ] || [ "$T_FAILS" = "$fails" ] || fail "good clients $what"
}

# Started with a soft RLIMIT_NOFILE of 1024, as a login shell has it: the
# service raises it to the hard limit itself, else the idle case below could
# not be served. Each listener takes a third of it (server.c, conn_limit):
# the hard limit raised to 40,000 where that is allowed (root).
printf '#!/bin/sh\nulimit -Hn 40000 2>/dev/null; ulimit -Sn 1024 && exec "%s" "$@"\n' "$QSJWT_BIN" >"$T_TMP/fdwrap"
chmod +x "$T_TMP/fdwrap"
real_bin=$QSJWT_BIN
QSJWT_BIN=$T_TMP/fdwrap
serve_start --loglevel verbose --listen "unix:$SOCK" --listen "tcp:127.0.0.1:$TPORT" --listen "https:127.0.0.1:$PORT" \
	--tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key" --tls-client-ca "$PKI/ca.pem" \
	--connection-timeout "$TIMEOUT" --policy "$T_TMP/policy.json" --audit-log "$AUDIT" \
	--cert-privatekey-file "$KEY" || exit 1
QSJWT_BIN=$real_bin
SHARE=$(sed -n 's/.*VERBOSE: at most \([0-9]*\) connections at once on each listener.*/\1/p' "$SERVE_LOG")
SERVE_NOFILE=$(awk '/^Max open files/ { print $4, $5 }' "/proc/$SERVE_PID/limits")
good_clients "at the start"
FD0=$(fds)
RSS0=$(rss_kb)
echo "the service at the start: $FD0 open file descriptors, RSS $RSS0 KiB"

# ---- malformed requests ---------------------------------------------------------------------

begin "malformed requests: each its exact answer or a closed connection, never a token; audited when a route was reached"
n0=$(audit_lines)
# name|expected: STATUS JSON-BODY (the service's answer), STATUS html
# (libmicrohttpd's own, before any route), or close (no answer).
cat >"$T_TMP/corpus.want" <<'EOF_WANT'
binary-junk|close
no-version|400 html
bad-version|505 html
no-method|close
bare-lf-junk|close
uri-70k|414 html
header-line-70k|431 html
headers-10000|431 html
header-no-colon|400 html
header-space-in-name|200 {"status":"ok"}
chunked-bad-size|411 {"error":"a Content-Length is required (no chunked bodies)"}
chunk-size-overflow|411 {"error":"a Content-Length is required (no chunked bodies)"}
chunked-get-bad-size|200 {"status":"ok"}
content-length-junk|400 html
content-length-negative|400 html
content-length-2^64+1|413 html
content-length-twice|400 {"error":"more than one Content-Length"}
content-length-twice-equal|400 {"error":"more than one Content-Length"}
content-length-and-chunked|411 {"error":"a Content-Length is required (no chunked bodies)"}
body-shorter-than-length|close
body-longer-than-length|400 {"error":"the body is not a JSON object"}
json-truncated|400 {"error":"the body is not a JSON object"}
json-not-utf8-overlong|400 {"error":"the body is not valid UTF-8"}
json-not-utf8-surrogate|400 {"error":"the body is not valid UTF-8"}
json-nul-escape|400 {"error":"a value holds a NUL character (\\u0000)"}
expires-1e999|400 {"error":"field 'expires' must be a string"}
expires-2^64+1|400 {"error":"field 'expires' must be a string"}
expires-2^64+1s|400 {"error":"expires '18446744073709551617s' puts exp outside 1970 to 9999"}
expires-1e999-string|400 {"error":"expires '1e999' is not a timespan (e.g. 60m, 8h, 7d)"}
userid-number-1e999|400 {"error":"field 'userid' must be a string"}
duplicate-key|400 {"error":"field 'userid' given twice"}
depth-bomb-array|400 {"error":"the body is not a JSON object"}
depth-bomb-in-groups|400 {"error":"the body is not a JSON object"}
depth-bomb-objects|400 {"error":"the body is not a JSON object"}
EOF_WANT
timeout 120 python3 - "$SOCK" "$U" >"$T_TMP/corpus.got" 2>"$T_TMP/corpus.err" <<'EOF_PY'
import re, socket, sys
sock, u = sys.argv[1], sys.argv[2].encode()
H = b"Host: x\r\nConnection: close\r\n"
def post(body, extra=b"", length=None):
    n = len(body) if length is None else length
    return (b"POST /v1/qseow HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\n"
            + b"Content-Length: %d\r\n" % n + extra + b"\r\n" + body)
def chunked(chunks, path=b"/v1/qseow", method=b"POST"):
    return (method + b" " + path + b" HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\n"
            + b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
def with_len(value, body=b"{}"):
    return (b"POST /v1/qseow HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\n"
            + value + b"\r\n" + body)
cases = [
    ("binary-junk", b"\x00\x01\x02\xff\xfe junk\r\n\r\n"),
    ("no-version", b"GET /healthz\r\n\r\n"),
    ("bad-version", b"GET /healthz HTTP/9.9\r\n" + H + b"\r\n"),
    ("no-method", b" /healthz HTTP/1.1\r\n" + H + b"\r\n"),
    ("bare-lf-junk", b"\n\n\n\x7f\x7f\n\n"),
    ("uri-70k", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n" + H + b"\r\n"),
    ("header-line-70k", b"GET /healthz HTTP/1.1\r\n" + H + b"X-A: " + b"a" * 70000 + b"\r\n\r\n"),
    ("headers-10000", b"GET /healthz HTTP/1.1\r\n" + H + b"".join(b"X-%d: a\r\n" % i for i in range(10000)) + b"\r\n"),
    ("header-no-colon", b"GET /healthz HTTP/1.1\r\n" + H + b"NoColonHere\r\n\r\n"),
    ("header-space-in-name", b"GET /healthz HTTP/1.1\r\n" + H + b"X A: b\r\n\r\n"),
    ("chunked-bad-size", chunked(b"zz\r\nabc\r\n0\r\n\r\n")),
    ("chunk-size-overflow", chunked(b"FFFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n")),
    ("chunked-get-bad-size", chunked(b"zz\r\nabc\r\n0\r\n\r\n", b"/healthz", b"GET")),
    ("content-length-junk", with_len(b"Content-Length: abc\r\n")),
    ("content-length-negative", with_len(b"Content-Length: -1\r\n")),
    ("content-length-2^64+1", with_len(b"Content-Length: 18446744073709551617\r\n")),
    ("content-length-twice", with_len(b"Content-Length: 2\r\nContent-Length: 5\r\n")),
    ("content-length-twice-equal", with_len(b"Content-Length: 2\r\nContent-Length: 2\r\n")),
    ("content-length-and-chunked", with_len(b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n")),
    ("body-shorter-than-length", post(u, length=len(u) + 10)),
    ("body-longer-than-length", post(u, length=2)[:-len(u)] + b"{\"" + u),
    ("json-truncated", post(u[:-1])),
    ("json-not-utf8-overlong", post(b'{"userid":"\xc0\xaf"}')),
    ("json-not-utf8-surrogate", post(b'{"userid":"\xed\xa0\x80"}')),
    ("json-nul-escape", post(b'{"userid":"a\\u0000b"}')),
    ("expires-1e999", post(u.replace(b'"1h"', b"1e999"))),
    ("expires-2^64+1", post(u.replace(b'"1h"', b"18446744073709551617"))),
    ("expires-2^64+1s", post(u.replace(b'"1h"', b'"18446744073709551617s"'))),
    ("expires-1e999-string", post(u.replace(b'"1h"', b'"1e999"'))),
    ("userid-number-1e999", post(u.replace(b'"jdoe"', b"1e999"))),
    ("duplicate-key", post(u[:-1] + b',"userid":"root"}')),
    ("depth-bomb-array", post(b"[" * 30000 + b"]" * 30000)),
    ("depth-bomb-in-groups", post(u[:-1] + b',"groups":' + b"[" * 20000 + b"]" * 20000 + b"}")),
    ("depth-bomb-objects", post(b'{"a":' * 10000 + b"1" + b"}" * 10000)),
]
for name, raw in cases:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sock)
    data = b""
    try:
        s.sendall(raw)
    except OSError:
        pass  # refused before all was sent: the answer may still be there
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except socket.timeout:
        data += b"<timeout>"
    except OSError:
        pass  # reset after the answer (unread bytes at close)
    s.close()
    if b'"token"' in data:
        print("TOKEN in the answer to", name, file=sys.stderr)
    m = re.match(rb"HTTP/1\.1 (\d{3}) [^\r]*\r\n(.*?)\r\n\r\n(.*)", data, re.S)
    if not m:
        print("%s|%s" % (name, "close" if data == b"" else "junk " + repr(data[:100])))
        continue
    body = m.group(3)
    if b"Content-Type: application/json" in m.group(2):
        print("%s|%s %s" % (name, m.group(1).decode(), body.decode("utf-8", "replace").strip()))
    else:
        print("%s|%s html" % (name, m.group(1).decode()))
EOF_PY
diff "$T_TMP/corpus.want" "$T_TMP/corpus.got" >"$T_TMP/corpus.diff" || fail "answers (want, got): $(cat "$T_TMP/corpus.diff")"
[ -s "$T_TMP/corpus.err" ] && fail "$(cat "$T_TMP/corpus.err")"
# Every answer with a JSON body but the GET /healthz one came from a route:
# one audit line each, with its status, in order; libmicrohttpd's own
# refusals (html) and closed connections never reached one.
grep -v '{"status":"ok"}' "$T_TMP/corpus.want" | sed -n 's/^[^|]*|\([0-9]*\) {.*/\1/p' >"$T_TMP/audit.want"
tail -n +$((n0 + 1)) "$AUDIT" | sed -n 's/.*"status":\([0-9]*\).*/\1/p' >"$T_TMP/audit.got"
diff "$T_TMP/audit.want" "$T_TMP/audit.got" >/dev/null ||
	fail "audit statuses (want, got): $(paste -d' ' "$T_TMP/audit.want" "$T_TMP/audit.got" | tr '\n' ',')"
assert_not_contains "$AUDIT" '"token":'
good_clients "after the malformed requests"
wait_fds "$FD0"

# ---- a 100 MB body ---------------------------------------------------------------------------

begin "a 100 MB body over the unix socket, loopback TCP and TLS, with and without Expect: 413 at once, not read, RSS flat"
head -c $((100 * 1024 * 1024)) /dev/zero >"$T_TMP/100m.json"
n0=$(audit_lines)
rss_before=$(rss_kb)
for how in unix tcp tls; do
	for expect in 'Expect:' 'Expect: 100-continue'; do
		case $how in
		unix) args=(--unix-socket "$SOCK" http://qs-jwt/v1/qseow) ;;
		tcp) args=("http://127.0.0.1:$TPORT/v1/qseow") ;;
		tls) args=(--cacert "$PKI/ca.pem" --cert "$PKI/client.pem" --key "$PKI/client.key" "$URL/v1/qseow") ;;
		esac
		t0=$(date +%s%N)
		: >"$BODY_FILE"
		out=$(curl -s -m 60 -o "$BODY_FILE" -w '%{http_code} %{size_upload}' -H "$expect" \
			-H 'Content-Type: application/json' --data-binary "@$T_TMP/100m.json" "${args[@]}")
		rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		STATUS=${out%% *}
		sent=${out##* }
		echo "100 MB body, $how, '$expect': $STATUS (curl exit $rc) after $ms ms, $sent bytes sent before the refusal"
		# Without Expect the service answers at once and closes without
		# reading the rest (libmicrohttpd discards it): unread bytes at the
		# close make a reset, which curl may meet while still sending (exit
		# 55) or reading (56) (RFC 9112, 9.6). The answer is the 413 or
		# nothing, never anything else.
		if [ "$expect" = 'Expect:' ] && [ "$STATUS" = 000 ] && { [ "$rc" = 55 ] || [ "$rc" = 56 ]; }; then
			[ -s "$BODY_FILE" ] && assert_eq '{"error":"the body is larger than 64 KiB"}' "$(cat "$BODY_FILE")" "the answer before the reset"
		else
			assert_eq 0 "$rc" "curl's exit code"
			assert_status 413 "the body is larger than 64 KiB"
		fi
		[ "$sent" -lt $((100 * 1024 * 1024)) ] || fail "$how, '$expect': the whole body was sent ($sent bytes)"
		[ "$ms" -lt 20000 ] || fail "$how, '$expect': the refusal took $ms ms"
	done
done
rss_after=$(rss_kb)
echo "RSS before the 100 MB bodies $rss_before KiB, after $rss_after KiB"
# One body read into memory would add 100 MB; the normal build grows by
# about 16 KiB, AddressSanitizer's quarantine of freed memory by about 10 MB.
[ "$rss_after" -le $((rss_before + 32768)) ] || fail "RSS grew from $rss_before to $rss_after KiB"
assert_eq $((n0 + 6)) "$(audit_lines)" "an audit line per refused body"
assert_eq "failed 413" "$(audit_last decision status)" "the last audit line"
good_clients "after the 100 MB bodies"
wait_fds "$FD0"
rm -f "$T_TMP/100m.json"

# ---- 10,000 idle connections ----------------------------------------------------------------

begin "10,000 idle TCP connections (or as many as a listener's share of RLIMIT_NOFILE allows, the rest to 10,000 on the unix socket), 1,000 on https: others get tokens, the idle ones dropped after --connection-timeout"
# The service raised its soft limit to the hard one at start (cmd_serve.c);
# this client does the same for itself.
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1000000
n_tcp=10000 n_unix=1000 n_tls=1000
# A machine with a small hard limit gets fewer of each (the NOTE below says so).
[ "$n_tls" -gt $((SHARE - 16)) ] && n_tls=$((SHARE - 16))
[ "$n_unix" -gt $((SHARE - 16)) ] && n_unix=$((SHARE - 16))
[ "$n_tcp" -gt $((SHARE - 16)) ] && n_tcp=$((SHARE - 16))
[ "$n_tcp" -gt $((hard - n_unix - n_tls - 100)) ] && n_tcp=$((hard - n_unix - n_tls - 100))
if [ "$n_tcp" -lt 10000 ]; then
	# The rest of the 10,000 on the unix socket, as far as its share goes.
	n_unix=$((10000 - n_tcp))
	[ "$n_unix" -lt 1000 ] && n_unix=1000
	[ "$n_unix" -gt $((SHARE - 16)) ] && n_unix=$((SHARE - 16))
	[ "$n_unix" -gt $((hard - n_tcp - n_tls - 100)) ] && n_unix=$((hard - n_tcp - n_tls - 100))
	echo "NOTE: the service's RLIMIT_NOFILE is $SERVE_NOFILE (a listener's share $SHARE), this shell's hard limit $hard: $n_tcp idle TCP connections instead of 10,000, $n_unix on the unix socket, $n_tls on https"
	if [ "$n_tcp" -le 0 ] || [ "$n_unix" -le 0 ]; then
		fail "the RLIMIT_NOFILE is too small for this case"
		n_tcp=1 n_unix=1
	fi
fi
want=$((n_tcp + n_unix + n_tls))
read -r soft_n hard_n <<<"$SERVE_NOFILE"
assert_eq "$hard_n" "$soft_n" "the service's soft RLIMIT_NOFILE, started at 1024, raised to the hard limit"
n0=$(audit_lines)
timeout 150 python3 - "$TPORT" "$n_tcp" "$SOCK" "$n_unix" "$PORT" "$n_tls" "$T_TMP/idle.ready" "$T_TMP/idle.go" >"$T_TMP/idle.out" 2>&1 <<'EOF_PY' &
import os, resource, selectors, socket, sys, time
tport, n_tcp, sock, n_unix, port, n_tls = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
ready, go = sys.argv[7], sys.argv[8]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
conns = []
t0 = time.monotonic()
def opened(family, addr, n):
    for i in range(n):
        s = socket.socket(family)
        s.settimeout(30)
        s.connect(addr)
        conns.append(s)
opened(socket.AF_INET, ("127.0.0.1", tport), n_tcp)
opened(socket.AF_UNIX, sock, n_unix)
# https: a TCP connection that never starts its handshake.
opened(socket.AF_INET, ("127.0.0.1", port), n_tls)
tls = set(id(s) for s in conns[n_tcp + n_unix:])
# What GnuTLS sends when it gives up on a handshake: a close_notify alert.
CLOSE_NOTIFY = b"\x15\x03\x03\x00\x02\x01\x00"
print("opened", len(conns), "in", round(time.monotonic() - t0, 1), "s")
sys.stdout.flush()
open(ready, "w").close()
# Held idle until the test has made its requests and read the service's state.
while not os.path.exists(go) and time.monotonic() - t0 < 60:
    time.sleep(0.1)
sel = selectors.DefaultSelector()
for s in conns:
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
open_ = len(conns)
t1 = time.monotonic()
while open_ > 0 and time.monotonic() - t1 < 60:
    for key, _ in sel.select(timeout=1):
        try:
            d = key.fileobj.recv(100)
        except ConnectionResetError:
            d = b""
        if d and not (id(key.fileobj) in tls and d == CLOSE_NOTIFY):
            print("data on an idle connection:", d[:60])
        sel.unregister(key.fileobj)
        key.fileobj.close()
        open_ -= 1
print("closed by the service", len(conns) - open_, "still open", open_)
EOF_PY
idle=$!
for _ in $(seq 1 900); do [ -e "$T_TMP/idle.ready" ] && break; kill -0 "$idle" 2>/dev/null || break; sleep 0.1; done
if [ -e "$T_TMP/idle.ready" ]; then
	for _ in $(seq 1 100); do [ "$(fds)" -ge "$want" ] && break; sleep 0.1; done
	held=$(fds)
	rss=$(rss_kb)
	good_clients "with $want idle connections"
	echo "with $n_tcp + $n_unix + $n_tls idle connections: $(head -1 "$T_TMP/idle.out"); the service holds $held file descriptors, RSS $rss KiB (at the start: $FD0, $RSS0 KiB)"
	[ "$held" -ge "$want" ] || fail "the service holds $held file descriptors: it did not accept all $want"
	# About 5 KiB a connection (71 MB for 11,000); 215 MB under AddressSanitizer.
	[ "$rss" -le 524288 ] || fail "RSS $rss KiB with $want idle connections"
	touch "$T_TMP/idle.go"
else
	fail "could not open $want connections: $(cat "$T_TMP/idle.out")"
fi
wait "$idle"
assert_eq "closed by the service $want still open 0" "$(tail -1 "$T_TMP/idle.out")" "the idle connections after --connection-timeout $TIMEOUT"
assert_not_contains "$T_TMP/idle.out" "data on an idle connection"
wait_fds "$FD0"
echo "after: $(fds) file descriptors, RSS $(rss_kb) KiB"
assert_eq $((n0 + 3)) "$(audit_lines)" "audit lines: the good clients' only"
good_clients "after the idle connections"

# ---- clients that drop the connection ------------------------------------------------------

begin "clients that drop the connection mid-request (half the body sent) and mid-TLS-handshake: nothing leaks, others served"
n0=$(audit_lines)
timeout 120 python3 - "$SOCK" "$TPORT" "$PORT" "$PKI" "$U" >"$T_TMP/drop.out" 2>&1 <<'EOF_PY'
import socket, ssl, sys
sock, tport, port, pki, u = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5].encode()
half = (b"POST /v1/qseow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(u)) + u[: len(u) // 2]
ctx = ssl.create_default_context(cafile=pki + "/ca.pem")
ctx.load_cert_chain(pki + "/client.pem", pki + "/client.key")
ctx.check_hostname = False
counts = {}
def done(what):
    counts[what] = counts.get(what, 0) + 1
for i in range(50):
    # Half a body on the unix socket and on loopback TCP, then gone.
    s = socket.socket(socket.AF_UNIX); s.connect(sock); s.sendall(half); s.close(); done("unix half body")
    s = socket.create_connection(("127.0.0.1", tport), 10); s.sendall(half); s.close(); done("tcp half body")
    # Only the headers, then a reset (SO_LINGER 0).
    s = socket.create_connection(("127.0.0.1", tport), 10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.sendall(half[: half.index(b"\r\n\r\n")]); s.close(); done("tcp headers, reset")
    # TLS: half a ClientHello; a whole ClientHello, nothing more; a whole
    # handshake, then half a body.
    raw = socket.create_connection(("127.0.0.1", port), 10)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    try:
        ctx.wrap_bio(inc, out).do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    raw.sendall(hello[: len(hello) // 2]); raw.close(); done("tls half ClientHello")
    raw = socket.create_connection(("127.0.0.1", port), 10)
    raw.sendall(hello); raw.recv(1); raw.close(); done("tls ClientHello, then gone")
    c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 10))
    c.sendall(half); c.close(); done("tls half body")
for k, v in counts.items():
    print(k, v)
EOF_PY
[ -s "$T_TMP/drop.out" ] && tr '\n' ',' <"$T_TMP/drop.out" && echo
[ "$(grep -c ' 50$' "$T_TMP/drop.out")" = 6 ] || fail "the dropping clients: $(cat "$T_TMP/drop.out")"
good_clients "after the dropped connections"
wait_fds "$FD0"
assert_eq $((n0 + 3)) "$(audit_lines)" "audit lines: the good clients' only (a request that never ended is no decision)"

# ---- the file descriptor limit ---------------------------------------------------------------

begin "at a hard RLIMIT_NOFILE of 200, 300 idle TCP connections: no busy loop, the unix socket answered at once, fds back"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code after SIGTERM"
printf '#!/bin/sh\nulimit -n 200 && exec "%s" "$@"\n' "$QSJWT_BIN" >"$T_TMP/lowfd"
chmod +x "$T_TMP/lowfd"
real_bin=$QSJWT_BIN
QSJWT_BIN=$T_TMP/lowfd
serve_start --loglevel verbose --listen "unix:$SOCK" --listen "tcp:127.0.0.1:$TPORT" \
	--connection-timeout "$TIMEOUT" --policy "$T_TMP/policy.json" --audit-log "$AUDIT" \
	--cert-privatekey-file "$KEY" || exit 1
QSJWT_BIN=$real_bin
# 200 less a reserve of 64 + 3 per polling thread (4) and listener (2),
# shared by the 2 listeners.
assert_contains "$SERVE_LOG" "VERBOSE: at most 56 connections at once on each listener (RLIMIT_NOFILE)"
fd0=$(fds)
cpu() { awk '{ print $14 + $15 }' "/proc/$SERVE_PID/stat"; }
timeout 60 python3 - "$TPORT" "$T_TMP/low.ready" "$T_TMP/low.go" >"$T_TMP/low.out" 2>&1 <<'EOF_PY' &
import os, socket, sys, time
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10) for i in range(300)]
open(sys.argv[2], "w").close()
t0 = time.monotonic()
while not os.path.exists(sys.argv[3]) and time.monotonic() - t0 < 30:
    time.sleep(0.1)
print(len(conns))
EOF_PY
low=$!
for _ in $(seq 1 300); do [ -e "$T_TMP/low.ready" ] && break; kill -0 "$low" 2>/dev/null || break; sleep 0.1; done
[ -e "$T_TMP/low.ready" ] || fail "could not open 300 connections: $(cat "$T_TMP/low.out")"
for _ in $(seq 1 100); do [ "$(fds)" -ge $((fd0 + 56)) ] && break; sleep 0.1; done
c0=$(cpu)
sleep 2
c1=$(cpu)
t0=$(date +%s%N)
req POST /v1/qseow "$U"
ms=$((($(date +%s%N) - t0) / 1000000))
assert_status 200 && verify_jwt "$(body_field token)" "$PUB"
echo "300 idle connections at a limit of 56: the service holds $(fds) fds, used $((c1 - c0)) clock ticks of CPU in 2 s, a token on the unix socket in $ms ms"
assert_eq $((fd0 + 56)) "$(fds)" "the service's fds: the TCP listener's 56 connections beside the start's"
# At EMFILE libmicrohttpd busy-waited: about 200 ticks in 2 s.
[ $((c1 - c0)) -le 50 ] || fail "the service used $((c1 - c0)) clock ticks of CPU in 2 s with its connections idle"
[ "$ms" -lt 5000 ] || fail "the unix socket was answered in $ms ms"
assert_not_contains "$SERVE_LOG" "Too many open files"
touch "$T_TMP/low.go"
wait "$low"
wait_fds "$fd0"

# ---- the end ---------------------------------------------------------------------------------

begin "the service stops cleanly after all of it"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code after SIGTERM"

finish
