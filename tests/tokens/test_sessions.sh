#!/usr/bin/env bash
# Tokens with few sessions (a smartcard, an HSM partition): the default
# --jobs of --batch fits the token's ulMaxSessionCount; a token that answers
# CKR_SESSION_COUNT while the workers' sessions are opened gets fewer
# workers and one warning (--batch and serve); a token with no session to
# spare beside the login's fails with a clear error.
#
# No real module can be given a session limit (SoftHSM2 has none; tpm2-pkcs11
# allows 1024, more than --jobs takes; openCryptoki and NSS report none), so
# the token is SoftHSM2 behind tests/tokens/fwd_module.c, which counts the
# sessions and refuses the one over QSJWT_FWD_SESSIONS.
. "$QSJWT_SOURCE_DIR/tests/serve/lib.sh"
# shellcheck source=../../scripts/softhsm.sh
. "$QSJWT_SOURCE_DIR/scripts/softhsm.sh"
[ -e "${QSJWT_FWD_MODULE:-}" ] || { echo "QSJWT_FWD_MODULE must name the forwarding module" >&2; exit 2; }
[ -e "$SOFTHSM_MODULE" ] || { echo "SoftHSM2 module not found: $SOFTHSM_MODULE" >&2; exit 2; }

PIN=8642-sessions
FWD_LOG=$T_TMP/fwd.log
export QSJWT_FWD_TARGET=$SOFTHSM_MODULE QSJWT_FWD_LOG=$FWD_LOG

# SoftHSM2 itself makes the key.
token_key_setup "$PIN" lim --pkcs11-module "$SOFTHSM_MODULE"
TOKARGS=(--pkcs11-module "$QSJWT_FWD_MODULE" --pkcs11-uri 'pkcs11:token=lim;object=jwt'
	--pkcs11-pin-file "$PINF")
IN=$T_TMP/in.jsonl
for i in 1 2 3 4 5 6 7 8; do
	printf '{"userid":"u%d","userdir":"D","username":"U %d","useremail":"u%d@example.com"}\n' \
		"$i" "$i" "$i"
done >"$IN"

# with_env NAME=VALUE... -- FUNCTION ARGS...: FUNCTION with these variables
# set for qs-jwt only.
with_env() {
	RUN_ENV=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		RUN_ENV+=("$1")
		shift
	done
	shift
	"$@"
	RUN_ENV=()
}

# fwd_count WORDS: how many lines of the forwarder's log are exactly WORDS.
fwd_count() { grep -cxF -- "$*" "$FWD_LOG"; }

# assert_batch_tokens N: N lines on stdout, each with a token that verifies
# with the key's public half, in input order.
assert_batch_tokens() {
	local n i=0 tok
	n=$(wc -l <"$OUT")
	assert_eq "$1" "$n" "lines on stdout"
	while IFS= read -r line; do
		i=$((i + 1))
		tok=$(printf '%s' "$line" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["token"] if d.get("userid") == "u'"$i"'" else "")')
		[ -n "$tok" ] || { fail "line $i is not the token of u$i: $line"; continue; }
		verify_jwt "$tok" "$PUBK"
	done <"$OUT"
}

batch() { qs --batch "$IN" --expires 1h --audience qlik "${TOKARGS[@]}" "$@"; }

begin "--batch, default --jobs: a token that takes 2 sessions gets 1 worker beside the login, no CKR_SESSION_COUNT"
rm -f "$FWD_LOG"
with_env QSJWT_FWD_SESSIONS=2 -- batch --loglevel verbose
assert_rc 0
assert_batch_tokens 8
assert_log VERBOSE "key 'jwt' on token 'lim': the token takes 1 more session at a time"
assert_log VERBOSE "batch from $IN with 1 job"
assert_not_contains "$ERR" "WARN"
assert_eq 2 "$(fwd_count C_OpenSession CKR_OK)" "sessions opened"
assert_eq 0 "$(fwd_count C_OpenSession CKR_SESSION_COUNT)" "sessions refused"
assert_eq 1 "$(fwd_count C_Login CKU_USER CKR_OK)" "C_Login calls"

begin "--batch, default --jobs: a limit above the CPU count changes nothing"
rm -f "$FWD_LOG"
with_env QSJWT_FWD_SESSIONS=1000 -- batch --loglevel verbose
assert_rc 0
assert_batch_tokens 8
assert_log VERBOSE "key 'jwt' on token 'lim': the token takes 999 more sessions at a time"
assert_eq 0 "$(fwd_count C_OpenSession CKR_SESSION_COUNT)" "sessions refused"

begin "--batch --jobs 4 on a token that takes 3 sessions: CKR_SESSION_COUNT, one warning, 2 workers sign everything"
rm -f "$FWD_LOG"
with_env QSJWT_FWD_SESSIONS=3 -- batch --jobs 4
assert_rc 0
assert_batch_tokens 8
assert_log WARN "key 'jwt' on token 'lim': the token opens no more sessions (CKR_SESSION_COUNT); signing with 2 workers instead of 4"
assert_eq 1 "$(grep -c 'WARN: ' "$ERR")" "warnings"
assert_eq 1 "$(fwd_count C_OpenSession CKR_SESSION_COUNT)" "sessions refused"
assert_eq 8 "$(fwd_count C_Sign CKR_OK)" "signatures"

begin "--batch --jobs 8 on a token that refuses the 4th session without reporting a limit: 2 workers"
rm -f "$FWD_LOG"
with_env QSJWT_FWD_SESSIONS=3 QSJWT_FWD_REPORT_SESSIONS=0 -- batch --jobs 8
assert_rc 0
assert_batch_tokens 8
assert_log WARN "key 'jwt' on token 'lim': the token opens no more sessions (CKR_SESSION_COUNT); signing with 2 workers instead of 8"
assert_eq 1 "$(grep -c 'WARN: ' "$ERR")" "warnings"

begin "--batch --jobs 2 on a token that takes 2 sessions: 1 worker, one warning"
rm -f "$FWD_LOG"
with_env QSJWT_FWD_SESSIONS=2 -- batch --jobs 2
assert_rc 0
assert_batch_tokens 8
assert_log WARN "signing with 1 worker instead of 2"

for jobs in default 3; do
	begin "--batch (--jobs $jobs) on a token with no session beside the login's: exit 1, a clear error, nothing on stdout"
	rm -f "$FWD_LOG"
	extra=()
	[ "$jobs" = default ] || extra=(--jobs "$jobs")
	with_env QSJWT_FWD_SESSIONS=1 -- batch "${extra[@]}"
	assert_rc 1
	assert_empty_stdout
	assert_log ERROR "key 'jwt' on token 'lim': the token opens no session for a signing worker beside the one that logged in (CKR_SESSION_COUNT); close the other sessions on it (other programs using the token) and run again"
	assert_eq 1 "$(fwd_count C_OpenSession CKR_SESSION_COUNT)" "sessions refused"
	assert_eq 1 "$(fwd_count C_Login CKU_USER CKR_OK)" "C_Login calls"
done

U='{"userid":"jdoe","userdir":"ACME","username":"John Doe","useremail":"j@example.com","expires":"60m","audience":"qlik-aud"}'
begin "serve --jobs 4 on a token that takes 3 sessions: one warning, 2 workers, tokens verify"
rm -f "$FWD_LOG"
RUN_ENV=(QSJWT_FWD_SESSIONS=3)
serve_start --listen "unix:$SOCK" --audit-log "$AUDIT" --jobs 4 "${TOKARGS[@]}" || exit 1
RUN_ENV=()
for i in 1 2 3; do
	req POST /v1/qseow "$U"
	assert_status 200
	verify_jwt "$(body_field token)" "$PUBK"
done
serve_stop
assert_eq 0 "$SERVE_RC" "exit code of serve"
ERR=$SERVE_LOG
assert_log WARN "key 'jwt' on token 'lim': the token opens no more sessions (CKR_SESSION_COUNT); signing with 2 workers instead of 4"
assert_log INFO "ready: 2 signing workers, "
assert_eq 1 "$(grep -c 'WARN: ' "$SERVE_LOG")" "warnings"

begin "serve on a token with no session beside the login's: a clear error, the service does not start"
rm -f "$FWD_LOG"
with_env QSJWT_FWD_SESSIONS=1 -- run "$QSJWT_BIN" serve --listen "unix:$SOCK" --audit-log "$AUDIT" "${TOKARGS[@]}"
assert_rc 1
assert_empty_stdout
assert_log ERROR "key 'jwt' on token 'lim': the token opens no session for a signing worker beside the one that logged in (CKR_SESSION_COUNT)"
assert_false test -e "$SOCK"

finish
