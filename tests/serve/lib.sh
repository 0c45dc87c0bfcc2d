# shellcheck shell=bash
# Helpers for the tests of `qs-jwt serve`: the batch suite's cases, runs and
# assertions (tests/batch/lib.sh), plus a service started for real in the
# background and stopped by its PID, and requests made with curl.
#
#   serve_start [--pinned] ARGS...   start; waits (bounded) for "ready"
#   req METHOD PATH [BODY] [CURL ARGS...]  $STATUS, body in $BODY_FILE
#   serve_stop                       SIGTERM, wait (bounded); $SERVE_RC
# shellcheck source=../batch/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../batch/lib.sh"

for _tool in curl setpriv; do
	command -v "$_tool" >/dev/null || { echo "missing tool: $_tool" >&2; exit 2; }
done

FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -f "$FAKETIME_LIB" ] || { echo "missing $FAKETIME_LIB (package libfaketime)" >&2; exit 2; }
SOCK=$T_TMP/serve.sock
AUDIT=$T_TMP/audit.jsonl
SERVE_LOG=$T_TMP/serve.log
SERVE_PID=
SERVE_RC=
BODY_FILE=$T_TMP/body
STATUS=

# serve_start [--pinned] ARGS...: qs-jwt serve ARGS in the background (with
# --pinned under the reference clock, slowed 1000 times so that every
# request of a case gets iat 1893456000; monotonic clocks stay real). Fails
# the script when it is not ready within 20 s.
serve_start() {
	local pre=() i
	if [ "${1:-}" = --pinned ]; then
		shift
		# libfaketime preloaded directly: the faketime command would stay
		# the parent, and a signal to it would not reach the service.
		pre=(env TZ=UTC FAKETIME_DONT_FAKE_MONOTONIC=1 "$(_faketime_env)"
			LD_PRELOAD=$FAKETIME_LIB "FAKETIME=$PINNED_SLOW")
	fi
	: >"$SERVE_LOG"
	env "${RUN_ENV[@]}" "${pre[@]}" "$QSJWT_BIN" serve "$@" >"$T_TMP/serve.out" 2>"$SERVE_LOG" </dev/null &
	SERVE_PID=$!
	at_exit "kill -9 $SERVE_PID"
	for i in $(seq 1 200); do
		grep -q 'INFO: ready' "$SERVE_LOG" && return 0
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "qs-jwt serve did not start: $(head -c 2000 "$SERVE_LOG")" >&2
	return 1
}

# serve_stop [SIGNAL]: stop the service (SIGTERM by default) and wait for it
# (at most 30 s, then SIGKILL); its exit code in $SERVE_RC.
serve_stop() {
	local sig=${1:-TERM} i
	[ -n "$SERVE_PID" ] || return 0
	kill -"$sig" "$SERVE_PID" 2>/dev/null
	for i in $(seq 1 300); do
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SERVE_PID" 2>/dev/null; then
		fail "the service did not stop within 30 s of SIG$sig"
		kill -9 "$SERVE_PID"
	fi
	wait "$SERVE_PID"
	SERVE_RC=$?
	SERVE_PID=
}

# req METHOD PATH [BODY [CURL ARGS...]]: one request on $SOCK; the status in
# $STATUS, the body in $BODY_FILE. A BODY other than "-" is sent as JSON.
req() {
	local m=$1 path=$2 body=${3:--} args=()
	shift 2
	[ $# -gt 0 ] && shift
	if [ "$body" != - ]; then
		args=(-H 'Content-Type: application/json' --data-binary "$body")
	fi
	STATUS=$(curl -s -m 20 --unix-socket "$SOCK" -X "$m" -o "$BODY_FILE" -w '%{http_code}' \
		"${args[@]}" "$@" "http://qs-jwt$path")
}

# assert_status CODE [ERROR]: the last answer's status, and its body
# {"error":ERROR} when ERROR is given.
assert_status() {
	if [ "$STATUS" != "$1" ]; then
		fail "HTTP status: expected $1, got $STATUS: $(head -c 300 "$BODY_FILE")"
		return 1
	fi
	if [ $# -gt 1 ]; then
		local want
		want=$(python3 -c 'import json,sys; print(json.dumps({"error": sys.argv[1]}, ensure_ascii=False, separators=(",",":")))' "$2")
		assert_eq "$want" "$(cat "$BODY_FILE")" "error body"
	fi
	[ "$1" = 200 ] || assert_not_contains "$BODY_FILE" '"token"'
}

# body_field NAME: a top-level field of the last answer.
body_field() {
	python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$BODY_FILE" "$1"
}

# audit_last FIELD...: fields of the last audit line (caller.uid for nested).
audit_last() {
	python3 - "$AUDIT" "$@" <<'EOF_PY'
import json, sys
lines = open(sys.argv[1], encoding='utf-8').read().splitlines()
r = json.loads(lines[-1]) if lines else {}
out = []
for f in sys.argv[2:]:
    v = r
    for k in f.split('.'):
        v = v.get(k) if isinstance(v, dict) else None
    out.append('' if v is None else str(v))
print(' '.join(out))
EOF_PY
}

audit_lines() { [ -f "$AUDIT" ] && wc -l <"$AUDIT" || echo 0; }

# The SHA-256 of a token, as the audit line gives it.
sha256_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# The claims of a reference vector's command (tests/data/vectors/NAME.cmd)
# as a POST /v1/qseow body.
vector_body() {
	python3 - "$VEC/$1.cmd" <<'EOF_PY'
import json, shlex, sys
args = shlex.split(open(sys.argv[1], encoding='utf-8').read())[1:]
names = {'--userdir': 'userdir', '--userid': 'userid', '--username': 'username',
         '--useremail': 'useremail', '--expires': 'expires', '--audience': 'audience'}
body, i = {}, 0
while i < len(args):
    a = args[i]
    if a in names:
        body[names[a]] = args[i + 1]; i += 2
    elif a == '--groups':
        i += 1
        g = []
        while i < len(args) and not args[i].startswith('--'):
            g.append(args[i]); i += 1
        body['groups'] = g
    elif a in ('--cert-privatekey-file', '--loglevel'):
        i += 2
    else:
        i += 1
print(json.dumps(body, ensure_ascii=False))
EOF_PY
}
