#!/usr/bin/env bash
# qs-jwt serve with a key file on a unix socket, driven by curl: the reference
# vectors byte for byte, every error status with nothing issued, the audit
# trail, the policy (allowed, denied, unknown caller, globs, lifetime cap,
# groups, rate limit, SIGHUP reload), the socket rules, slow and many
# clients, SIGTERM with a request under way, a full audit filesystem.
. "$(dirname "$0")/lib.sh"

U='{"userid":"jdoe","userdir":"ACME","username":"John Doe","useremail":"j@example.com","expires":"1h","audience":"qlik-aud"}'

# ---- the reference vectors -------------------------------------------------------------

begin "reference vectors through POST /v1/qseow: byte for byte, verified, audited by hash"
serve_start --pinned --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
assert_contains "$SERVE_LOG" "no --policy: only uid $(id -u) ($(id -un)), the service's own, may ask, for any token"
assert_eq "srw-rw----" "$(stat -c %A "$SOCK")" "socket mode"
assert_eq "-rw-------" "$(stat -c %A "$AUDIT")" "audit log mode"
for name in all-claims unicode; do
	req POST /v1/qseow "$(vector_body "$name")"
	assert_status 200 || continue
	tok=$(body_field token)
	assert_eq "$(cat "$VEC/$name.jwt")" "$tok" "token of vector $name"
	assert_eq 1893459600 "$(body_field exp)" "exp of vector $name"
	assert_eq "{\"token\":\"$tok\",\"exp\":1893459600}" "$(cat "$BODY_FILE")" "answer body"
	verify_jwt "$tok" "$PUB"
	assert_eq "allowed 200 1893459600 $(sha256_of "$tok") 3600 $(id -u) default" \
		"$(audit_last decision status exp token_sha256 lifetime caller.uid client)" "audit line"
	assert_not_contains "$AUDIT" "${tok##*.}"
done
req GET /healthz
assert_status 200
assert_eq '{"status":"ok"}' "$(cat "$BODY_FILE")" "healthz"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code after SIGTERM"
[ -e "$SOCK" ] && fail "the socket is left behind after the stop"
assert_eq 2 "$(audit_lines)" "audit lines (healthz is not a decision)"

# ---- bad requests: status, JSON error, audited, no token -----------------------------------

begin "every bad request gets its status and {\"error\"}, an audit line, and no token"
serve_start --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
n0=$(audit_lines)
h0=$(grep -c '"token_sha256"' "$AUDIT")
big=$(python3 -c 'print("{\"userid\":\"" + "x" * 70000 + "\"}")')
printf '%s' "$big" >"$T_TMP/big.json"
while IFS='|' read -r want method path body extra msg; do
	# shellcheck disable=SC2086
	req "$method" "$path" "$body" $extra
	assert_status "$want" "$msg"
	[ "$path" = /healthz ] || assert_eq "$want" "$(audit_last status)" "audit status of $method $path $body"
done <<'ROWS'
404|GET|/v2/qseow|-||no such route
404|POST|/|{}||no such route
405|GET|/v1/qseow|-||only POST is allowed here
405|PUT|/v1/qseow|{}||only POST is allowed here
405|POST|/healthz|{}||only GET is allowed here
415|POST|/v1/qseow|-|-H Content-Type:text/plain --data-binary {}|the body must be Content-Type: application/json
411|POST|/v1/qseow|{}|-H Transfer-Encoding:chunked|a Content-Length is required (no chunked bodies)
400|POST|/v1/qseow|[]||the body is not a JSON object
400|POST|/v1/qseow|{"userid":"a","userdir":"b","username":"c"}||missing field 'useremail'
400|POST|/v1/qseow|{"userid":"a","userdir":"b","username":"c","useremail":"d","expires":"1h"}||missing field 'audience'
400|POST|/v1/qseow|{"userid":"a","userdir":"b","username":"c","useremail":"d","audience":"x"}||missing field 'expires'
400|POST|/v1/qseow|{"userid":1}||field 'userid' must be a string
400|POST|/v1/qseow|{"groups":"Sales"}||field 'groups' must be an array of strings
400|POST|/v1/qseow|{"userID":"a"}||unknown field 'userID' (known: userid, userdir, username, useremail, groups, expires, audience)
400|POST|/v1/qseow|{"userid":"a","userdir":"b","username":"c","useremail":"d","expires":"soon","audience":"x"}||expires 'soon' is not a timespan (e.g. 60m, 8h, 7d)
400|POST|/v1/qseow|{"userid":"a\u0000b"}||a value holds a NUL character (\u0000)
ROWS
req POST /v1/qseow '{'
assert_status 400 "the body is not a JSON object"
printf '{"userid":"\xff"}' >"$T_TMP/bad-utf8.json"
req POST /v1/qseow - -H 'Content-Type: application/json' --data-binary "@$T_TMP/bad-utf8.json"
assert_status 400 "the body is not valid UTF-8"
req POST /v1/qseow - -H 'Content-Type: application/json' --data-binary "@$T_TMP/big.json"
assert_status 413 "the body is larger than 64 KiB"
req POST /v1/qseow - -H 'Content-Type: application/json; charset=utf-8' --data-binary "$U"
assert_status 200
req POST /v1/qseow - -H 'Content-Type: APPLICATION/JSON' --data-binary "$U"
assert_status 200
# Every row but POST /healthz (not a token route) is a decision.
assert_eq $((n0 + 20)) "$(audit_lines)" "one audit line per decision"
assert_eq $((h0 + 2)) "$(grep -c '"token_sha256"' "$AUDIT")" "audit lines with a token hash"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"

# ---- policy ---------------------------------------------------------------------------------

cat >"$T_TMP/policy.json" <<EOP
{"clients": [
  {"name": "portal", "match": {"uid": $(id -u)},
   "allow": {"userdir": ["ACME", "EXT-*"], "userid": ["*"], "audience": ["qlik-aud"],
             "groups": ["Sales", "Finance"], "max_lifetime": "8h",
             "requests_per_minute": 600}},
  {"name": "nobody-no", "match": {"uid": 4242}, "allow": {}}]}
EOP
body() { printf '{"userid":"%s","userdir":"%s","username":"n","useremail":"e","expires":"%s","audience":"%s"%s}' "$@"; }

begin "policy: globs, the lifetime cap, groups; denials are 403 with the rule and audited"
serve_start --listen "unix:$SOCK" --socket-mode 0666 --policy "$T_TMP/policy.json" \
	--audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
assert_contains "$SERVE_LOG" "policy from $T_TMP/policy.json"
assert_eq "srw-rw-rw-" "$(stat -c %A "$SOCK")" "--socket-mode 0666"
req POST /v1/qseow "$(body jdoe ACME 8h qlik-aud ',"groups":["Sales"]')"
assert_status 200
verify_jwt "$(body_field token)" "$PUB"
req POST /v1/qseow "$(body jdoe EXT-partner 1h qlik-aud '')"
assert_status 200
req POST /v1/qseow "$(body jdoe OTHER 1h qlik-aud '')"
assert_status 403 'userdir "OTHER" is not allowed for client "portal"'
assert_eq "denied 403 portal OTHER" "$(audit_last decision status client userdir)" "audit of a denial"
req POST /v1/qseow "$(body jdoe ACME 1h other-aud '')"
assert_status 403 'audience "other-aud" is not allowed for client "portal"'
req POST /v1/qseow "$(body jdoe ACME 9h qlik-aud '')"
assert_status 403 'lifetime 32400s is over max_lifetime "8h" (28800s) for client "portal"'
req POST /v1/qseow "$(body jdoe ACME 1h qlik-aud ',"groups":["Sales","Admins"]')"
assert_status 403 'group "Admins" is not allowed for client "portal"'

begin "policy: a caller no client matches (uid 65534) gets 403 for every token route, and is audited"
chmod o+x "$T_TMP" # the way to the socket, for uid 65534
n0=$(audit_lines)
# as_nobody CURL ARGS...: curl as uid 65534 on $SOCK; $STATUS and $BODY_FILE.
as_nobody() {
	local out
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -m 20 --unix-socket "$SOCK" \
		-w '\n%{http_code}' "$@")
	STATUS=${out##*$'\n'}
	printf '%s' "${out%$'\n'*}" >"$BODY_FILE"
}
as_nobody -H 'Content-Type: application/json' --data-binary "$U" http://qs-jwt/v1/qseow
assert_status 403 "unknown caller: no policy client matches it"
assert_eq "denied 403 65534" "$(audit_last decision status caller.uid)" "audit of the unknown caller"
as_nobody http://qs-jwt/v1/qseow
assert_status 403 "unknown caller: no policy client matches it"
as_nobody http://qs-jwt/healthz
assert_status 200
assert_eq $((n0 + 2)) "$(audit_lines)" "audit lines"

begin "policy: SIGHUP reloads; a broken policy on reload keeps the one in force"
sed 's/"EXT-\*"/"OTHER"/' "$T_TMP/policy.json" >"$T_TMP/p2.json" && mv "$T_TMP/p2.json" "$T_TMP/policy.json"
kill -HUP "$SERVE_PID"
for _ in $(seq 1 50); do grep -q 'SIGHUP: policy reloaded' "$SERVE_LOG" && break; sleep 0.1; done
assert_contains "$SERVE_LOG" "SIGHUP: policy reloaded from $T_TMP/policy.json"
req POST /v1/qseow "$(body jdoe OTHER 1h qlik-aud '')"
assert_status 200
req POST /v1/qseow "$(body jdoe EXT-partner 1h qlik-aud '')"
assert_status 403 'userdir "EXT-partner" is not allowed for client "portal"'
printf '{"clients": [{"name": "x", "match": {"uid": 0}, "allow": {"userdirs": []}}]}' >"$T_TMP/policy.json"
kill -HUP "$SERVE_PID"
for _ in $(seq 1 50); do grep -q 'the policy in force stays' "$SERVE_LOG" && break; sleep 0.1; done
assert_contains "$SERVE_LOG" "the policy in force stays"
assert_contains "$SERVE_LOG" 'userdirs'
req POST /v1/qseow "$(body jdoe OTHER 1h qlik-aud '')"
assert_status 200
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"

begin "policy: over requests_per_minute is 429, audited, no token"
cat >"$T_TMP/rate.json" <<EOP
{"clients": [{"name": "slow", "match": {"uid": $(id -u)},
  "allow": {"userdir": ["*"], "userid": ["*"], "audience": ["*"], "requests_per_minute": 3}}]}
EOP
serve_start --listen "unix:$SOCK" --policy "$T_TMP/rate.json" --audit-log "$AUDIT" \
	--cert-privatekey-file "$KEY" || exit 1
for i in 1 2 3; do
	req POST /v1/qseow "$U"
	assert_status 200
done
req POST /v1/qseow "$U"
assert_status 429 "over the client's requests_per_minute"
assert_eq "denied 429 slow" "$(audit_last decision status client)" "audit of the refusal"
serve_stop

# ---- the socket and the command line ------------------------------------------------------------

begin "the socket path: a file is never replaced, a live socket is refused, a stale one is replaced"
echo keep >"$T_TMP/file"
run "$QSJWT_BIN" serve --listen "unix:$T_TMP/file" --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_rc 1
assert_contains "$ERR" "--listen unix:$T_TMP/file: '$T_TMP/file' exists and is not a socket: not replaced"
assert_eq keep "$(cat "$T_TMP/file")" "the file"
serve_start --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
run "$QSJWT_BIN" serve --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_rc 1
assert_contains "$ERR" "'$SOCK' is in use (a service answers on it)"
req GET /healthz
assert_status 200
serve_stop KILL
[ -S "$SOCK" ] || fail "kill -9 should leave the socket behind (stale)"
serve_start --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
req GET /healthz
assert_status 200
serve_stop

begin "usage errors: exit 2, nothing listens"
run "$QSJWT_BIN" serve --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_rc 2
assert_contains "$ERR" "required option '--listen <where>' not specified"
run "$QSJWT_BIN" serve --listen "unix:$SOCK" --cert-privatekey-file "$KEY"
assert_rc 2
assert_contains "$ERR" "give --audit-log <file> or --audit-syslog (or both): every decision is recorded"
run "$QSJWT_BIN" serve --listen "http://x" --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_rc 2
assert_contains "$ERR" "--listen takes unix:PATH, tcp:127.0.0.1:PORT, https:ADDRESS:PORT or systemd, not 'http://x'"
run "$QSJWT_BIN" serve --listen "unix:$SOCK" --socket-mode 999 --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_rc 2
assert_contains "$ERR" "--socket-mode takes octal permissions such as 0660, not '999'"
run "$QSJWT_BIN" serve --listen "unix:$SOCK" --jobs 0 --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_rc 2
assert_contains "$ERR" "--jobs must be a whole number from 1 to 256, not '0'"
run "$QSJWT_BIN" serve --listen "unix:$SOCK" --audit-log "$AUDIT"
assert_rc 2
run "$QSJWT_BIN" serve --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-create --cert-create-expires-days 1
assert_rc 2
assert_contains "$ERR" "--cert-create"
run "$QSJWT_BIN" serve --listen "unix:$SOCK" --policy "$T_TMP/policy.json" --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_rc 1
assert_contains "$ERR" "userdirs"
chmod 644 "$AUDIT"
run "$QSJWT_BIN" serve --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_rc 1
assert_contains "$ERR" "is open to group or others"
chmod 600 "$AUDIT"
[ -e "$SOCK" ] && fail "a failed start left the socket"

# ---- slow and many clients, SIGTERM with a request under way -------------------------------------

begin "a client that sends its headers byte by byte and stalls is dropped after --connection-timeout, others are answered"
serve_start --listen "unix:$SOCK" --connection-timeout 2 --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
python3 - "$SOCK" >"$T_TMP/slow.out" 2>&1 <<'EOF_PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
for b in b"POST /v1/qseow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n":
    s.send(bytes([b])); time.sleep(0.01)
t = time.monotonic()
s.settimeout(20)
try:
    d = s.recv(100)
except socket.timeout:
    d = b"timeout"
print("closed" if d == b"" else d, round(time.monotonic() - t))
EOF_PY
slow=$!
sleep 0.5
req POST /v1/qseow "$U"
assert_status 200
wait "$slow"
read -r what secs <"$T_TMP/slow.out"
assert_eq closed "$what" "the stalled connection"
[ "${secs:-99}" -le 5 ] || fail "the stalled connection was dropped after ${secs}s, not about 2"

begin "1,000 connections opened at once do not stop the service answering"
python3 - "$SOCK" "$T_TMP/many.ready" >"$T_TMP/many.out" 2>&1 <<'EOF_PY' &
import socket, sys, time, os
conns = []
for i in range(1000):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    conns.append(s)
open(sys.argv[2], "w").close()
time.sleep(4)
print(len(conns))
EOF_PY
many=$!
for _ in $(seq 1 100); do [ -e "$T_TMP/many.ready" ] && break; sleep 0.1; done
[ -e "$T_TMP/many.ready" ] || fail "could not open 1,000 connections: $(cat "$T_TMP/many.out")"
req POST /v1/qseow "$U"
assert_status 200
verify_jwt "$(body_field token)" "$PUB"
wait "$many"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"

begin "SIGTERM with a request under way: it is answered with its token, then exit 0"
serve_start --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
python3 - "$SOCK" "$U" "$T_TMP/inflight.ready" >"$T_TMP/inflight.out" 2>&1 <<'EOF_PY' &
import socket, sys, time
body = sys.argv[2].encode()
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"POST /v1/qseow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
time.sleep(0.5)
open(sys.argv[3], "w").close()
time.sleep(1.5)
s.sendall(body[10:])
s.settimeout(20)
d = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    d += c
    if b"\r\n\r\n" in d and d.endswith(b"}\n"):
        break
print(d.split(b"\r\n")[0].decode(), d.split(b"\r\n\r\n", 1)[-1].decode().strip())
EOF_PY
inflight=$!
for _ in $(seq 1 50); do [ -e "$T_TMP/inflight.ready" ] && break; sleep 0.1; done
kill -TERM "$SERVE_PID"
sleep 0.3
STATUS=$(curl -s -m 5 --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' http://qs-jwt/healthz)
assert_eq 000 "$STATUS" "a new connection after SIGTERM"
wait "$inflight"
read -r _ code rest <"$T_TMP/inflight.out"
assert_eq 200 "$code" "status of the request under way ($(cat "$T_TMP/inflight.out"))"
tok=$(printf '%s' "${rest#* }" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])' 2>/dev/null)
verify_jwt "$tok" "$PUB"
serve_stop
assert_eq 0 "$SERVE_RC" "exit code"
assert_contains "$SERVE_LOG" "SIGTERM: stopping once the requests under way are answered"

begin "kill -9 right after tokens were returned: the audit log holds every one's hash, and no token text"
serve_start --listen "unix:$SOCK" --jobs 2 --queue 10 --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
pids=()
for i in $(seq 1 12); do
	curl -s -m 20 --unix-socket "$SOCK" -o "$T_TMP/k9.$i" -H 'Content-Type: application/json' \
		--data-binary "$U" http://qs-jwt/v1/qseow &
	pids+=($!)
done
wait "${pids[@]}"
serve_stop KILL
n=0
for i in $(seq 1 12); do
	tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T_TMP/k9.$i" 2>/dev/null)
	[ -n "$tok" ] || { fail "request $i got no token: $(head -c 200 "$T_TMP/k9.$i")"; continue; }
	grep -qF "\"token_sha256\":\"$(sha256_of "$tok")\"" "$AUDIT" && n=$((n + 1))
	assert_not_contains "$AUDIT" "${tok#*.}"
done
assert_eq 12 "$n" "returned tokens with their audit line"

# ---- the audit log cannot be written -----------------------------------------------------------

begin "a full audit filesystem: 503, no token, the failure logged"
mnt=$T_TMP/tmpfs
mkdir -p "$mnt"
if mount -t tmpfs -o size=64k,mode=0700 tmpfs "$mnt" 2>/dev/null; then
	at_exit "umount -l $mnt"
	serve_start --listen "unix:$SOCK" --audit-log "$mnt/audit.jsonl" --cert-privatekey-file "$KEY" || exit 1
	req POST /v1/qseow "$U"
	assert_status 200
	dd if=/dev/zero of="$mnt/fill" bs=4k 2>/dev/null
	# The audit file's last page may still hold a few lines.
	ok=0
	for _ in $(seq 1 60); do
		req POST /v1/qseow "$U"
		[ "$STATUS" = 200 ] || break
		ok=$((ok + 1))
		grep -qF "$(sha256_of "$(body_field token)")" "$mnt/audit.jsonl" ||
			fail "a token was issued without its audit line"
	done
	assert_status 503 "the audit log cannot be written: nothing is issued"
	assert_contains "$SERVE_LOG" "audit log '$mnt/audit.jsonl'"
	req POST /v1/qseow "$U"
	assert_status 503 "the audit log cannot be written: nothing is issued"
	rm -f "$mnt/fill"
	req POST /v1/qseow "$U"
	assert_status 200
	serve_stop
	umount "$mnt"
else
	echo "SKIP: cannot mount a tmpfs (needs root): a full audit filesystem"
fi

# ---- Qlik Cloud, the certificate, loopback TCP ------------------------------------------------

C='{"sub":"jdoe","username":"John Doe","useremail":"j@example.com","useremail_verified":true,"groups":["Sales"],"expires":"30m","issuer":"my-iss","keyid":"my-kid"}'

begin "POST /v1/qscloud: the claims create-qscloud makes (but jti), kid in the header, verified"
serve_start --pinned --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" \
	--certificate "$VEC/publickey.cer" || exit 1
req POST /v1/qscloud "$C"
assert_status 200
tok=$(body_field token)
verify_jwt_kid() {
	assert_eq '{"alg":"RS256","typ":"JWT","kid":"my-kid"}' "$(jwt_header "$1")" "JWT header"
	jwt_verifies "$1" "$PUB" || fail "openssl does not verify the Qlik Cloud token"
}
verify_jwt_kid "$tok"
run env TZ=UTC "$(_faketime_env)" LD_PRELOAD="$FAKETIME_LIB" "FAKETIME=$PINNED_SLOW" "$QSJWT_BIN" create-qscloud \
	--sub jdoe --username 'John Doe' --useremail j@example.com --useremail-verified true \
	--groups Sales --expires 30m --issuer my-iss --keyid my-kid --cert-privatekey-file "$KEY"
assert_rc 0
want=$(jwt_payload "$(cat "$OUT")" | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("jti"); print(json.dumps(d))')
got=$(jwt_payload "$tok" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d.pop("jti"))>=16; print(json.dumps(d))')
assert_eq "$want" "$got" "payload but jti, against create-qscloud"
assert_eq "allowed 200 jdoe my-iss my-kid /v1/qscloud" "$(audit_last decision status sub issuer keyid route)" "audit line"
req POST /v1/qscloud "$C"
[ "$(jwt_payload "$(body_field token)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jti"])')" != \
	"$(jwt_payload "$tok" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jti"])')" ] ||
	fail "two tokens with the same jti"
while IFS='|' read -r body msg; do
	req POST /v1/qscloud "$body"
	assert_status 400 "$msg"
done <<'ROWS'
{"sub":"a","expires":"1h","issuer":"i"}|missing field 'keyid'
{"expires":"1h","issuer":"i","keyid":"k"}|missing field 'sub'
{"sub":"a","expires":"1h","issuer":"i","keyid":"k","useremail":"e"}|field 'useremail' needs 'useremail_verified' (true or false)
{"sub":"a","expires":"1h","issuer":"i","keyid":"k","useremail_verified":false}|field 'useremail_verified' only applies with 'useremail'
{"sub":"a","expires":"1h","issuer":"i","keyid":"k","useremail":"e","useremail_verified":"yes"}|field 'useremail_verified' must be true or false
{"sub":"a","expires":"1h","issuer":"i","keyid":"k","userid":"x"}|unknown field 'userid' (known: sub, username, useremail, useremail_verified, groups, expires, issuer, keyid)
ROWS

begin "GET /v1/certificate: the --certificate file as PEM, for anyone"
req GET /v1/certificate
assert_eq 200 "$STATUS" "status"
assert_eq "$(openssl x509 -in "$VEC/publickey.cer")" "$(cat "$BODY_FILE")" "certificate"
serve_stop
serve_start --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
req GET /v1/certificate
assert_status 404 "no certificate: start the service with --certificate FILE, or store one beside the token key"
serve_stop
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/other.key" -out "$T_TMP/other.pem" \
	-subj /CN=other -days 1 2>/dev/null
run "$QSJWT_BIN" serve --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" --certificate "$T_TMP/other.pem"
assert_rc 1
assert_contains "$ERR" "--certificate: the certificate from $T_TMP/other.pem is for another key than the signing key"
run "$QSJWT_BIN" serve --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" --certificate "$KEY"
assert_rc 1
assert_contains "$ERR" "holds no X.509 certificate (PEM or DER)"

begin "--listen tcp:127.0.0.1:0: callers are \"loopback\", allowed only when the policy says so"
serve_start --listen tcp:127.0.0.1:0 --listen "unix:$SOCK" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
port=$(sed -n 's/.*listening on tcp:127.0.0.1:\([0-9]*\) (callers are "loopback").*/\1/p' "$SERVE_LOG")
[ -n "$port" ] || fail "no port in the log: $(cat "$SERVE_LOG")"
tcp() { STATUS=$(curl -s -m 20 -o "$BODY_FILE" -w '%{http_code}' -H 'Content-Type: application/json' "$@"); }
tcp --data-binary "$U" "http://127.0.0.1:$port/v1/qseow"
assert_status 403 "unknown caller: no policy client matches it"
assert_eq "denied loopback" "$(audit_last decision caller.peer)" "audit of the loopback caller"
req POST /v1/qseow "$U"
assert_status 200
serve_stop
printf '{"clients":[{"name":"local","match":{"loopback":true},"allow":{"userdir":["*"],"userid":["*"],"audience":["*"]}}]}' >"$T_TMP/lo.json"
serve_start --listen tcp:127.0.0.1:0 --policy "$T_TMP/lo.json" --audit-log "$AUDIT" --cert-privatekey-file "$KEY" || exit 1
port=$(sed -n 's/.*listening on tcp:127.0.0.1:\([0-9]*\) (callers are "loopback").*/\1/p' "$SERVE_LOG")
tcp --data-binary "$U" "http://127.0.0.1:$port/v1/qseow"
assert_status 200
verify_jwt "$(body_field token)" "$PUB"
assert_eq "allowed local" "$(audit_last decision client)" "audit"
serve_stop
# A --listen that cannot be served is the command's usage error, before
# the key is read or anything listens.
run "$QSJWT_BIN" serve --listen tcp:0.0.0.0:8080 --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_cli_error 2 serve "--listen 'tcp:0.0.0.0:8080': '0.0.0.0' is not a loopback address (127.0.0.0/8 or ::1): plain HTTP is only served on this machine"
run "$QSJWT_BIN" serve --listen tcp:127.0.0.1:99999 --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_cli_error 2 serve "--listen 'tcp:127.0.0.1:99999': the port of a tcp listener is a number from 0 to 65535"
run "$QSJWT_BIN" serve --listen tcp:localhost --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_cli_error 2 serve "--listen 'tcp:localhost': a tcp listener is tcp:127.0.0.1:PORT"
run "$QSJWT_BIN" serve --listen https:10.0.0.1:x --audit-log "$AUDIT" --cert-privatekey-file "$KEY"
assert_cli_error 2 serve "--listen 'https:10.0.0.1:x': the port is a number from 0 to 65535"

finish
