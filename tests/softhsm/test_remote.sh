#!/usr/bin/env bash
# A remote token through p11-kit's own remoting: `p11-kit server` exports the
# SoftHSM2 token on a unix socket, qs-jwt loads p11-kit-client.so. The server
# is stopped on every exit path of this script (trap in lib.sh).
. "$(dirname "$0")/lib.sh"

PIN=1470-remote
SPY_LOG=$T_TMP/spy.log
[ -e "$CLIENT_MODULE" ] || { echo "missing $CLIENT_MODULE" >&2; exit 2; }

hsm_new main qlik "$PIN"
PINF=$HSM_DIR/pin
hsm_import "$VEC/privatekey.pem" jwt-signing 01
hsm_keygen auth-each 02 --usage-sign --always-auth
AUTH_PUB=$(hsm_pubkey 02)
openssl pkey -in "$VEC/privatekey.pem" -pubout -out "$T_TMP/vec.pub" 2>/dev/null
SERIAL=$(hsm_serial)
TOKEN_URI="pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=$SERIAL;token=qlik"
# A second token in the same store that the server does not export.
softhsm_add_token hidden "$PIN"
HSM_LABEL=hidden
hsm_keygen jwt-signing 01
HSM_LABEL=qlik
ENC_CLIENT=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$CLIENT_MODULE")

# ---- the server -------------------------------------------------------------------------

SOCK=$T_TMP/p11.sock
if [ ${#SOCK} -gt 100 ]; then
	# A unix socket path has room for about 108 bytes.
	SOCK_DIR=$(mktemp -d /tmp/qsjwt-sock.XXXXXX)
	at_exit "rm -rf '$SOCK_DIR'"
	SOCK=$SOCK_DIR/p11.sock
fi
# Registered before the start, so no window is left in which the script could
# exit with the server running. -t: should this script die without its trap
# (SIGKILL), the server still exits once idle.
# shellcheck disable=SC2317 # called from the exit trap
_stop_server() {
	local pid
	pid=$(sed -n 's/^P11_KIT_SERVER_PID=\([0-9]*\);.*$/\1/p' "$T_TMP/server.env" 2>/dev/null)
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
}
at_exit _stop_server
# start_server: p11-kit server exporting qlik on $SOCK; sets SERVER_PID and
# ADDRESS.
start_server() {
	local rc
	rm -f "$SOCK"
	p11-kit server --provider "$SOFTHSM_MODULE" --name "$SOCK" -s -t 120 'pkcs11:token=qlik' \
		>"$T_TMP/server.env" 2>"$T_TMP/server.err"
	rc=$?
	SERVER_PID=$(sed -n 's/^P11_KIT_SERVER_PID=\([0-9]*\);.*$/\1/p' "$T_TMP/server.env")
	ADDRESS=$(sed -n 's/^P11_KIT_SERVER_ADDRESS=\([^;]*\);.*$/\1/p' "$T_TMP/server.env")
	if [ "$rc" != 0 ] || [ -z "$SERVER_PID" ] || [ -z "$ADDRESS" ]; then
		echo "p11-kit server did not start (exit $rc): $(cat "$T_TMP/server.env" "$T_TMP/server.err")" >&2
		exit 2
	fi
	for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
}
start_server

# On the client side no local SoftHSM2 store exists: whatever signs is remote.
CLIENT_ENV=("P11_KIT_SERVER_ADDRESS=$ADDRESS" "SOFTHSM2_CONF=$T_TMP/none/softhsm2.conf")

begin "the server announced its socket"
assert_eq "unix:path=$SOCK" "$ADDRESS" "P11_KIT_SERVER_ADDRESS"
assert_true kill -0 "$SERVER_PID"

# ---- signing through the client ------------------------------------------------------

begin "module-path=p11-kit-client.so in the URI: the vector token, byte for byte"
with_env "${CLIENT_ENV[@]}" -- qs_pinned "${VEC_CLAIMS[@]}" \
	--pkcs11-uri "pkcs11:token=qlik;object=jwt-signing?module-path=$CLIENT_MODULE" --pkcs11-pin-file "$PINF"
if assert_ok_token; then
	assert_file_eq "$VEC/all-claims.jwt" "$OUT"
	verify_jwt "$TOKEN" "$T_TMP/vec.pub"
fi

begin "--pkcs11-module p11-kit-client.so: signs, RS512 too"
for alg in RS256 RS512; do
	with_env "${CLIENT_ENV[@]}" -- qs "${CLAIMS[@]}" --alg "$alg" --pkcs11-uri 'pkcs11:token=qlik;object=jwt-signing' \
		--pkcs11-module "$CLIENT_MODULE" --pkcs11-pin-file "$PINF"
	assert_ok_token && verify_jwt "$TOKEN" "$T_TMP/vec.pub" "$alg"
done

begin "always-authenticate key through the client: signs and verifies"
with_env "${CLIENT_ENV[@]}" -- qs "${CLAIMS[@]}" \
	--pkcs11-uri "pkcs11:token=qlik;object=auth-each?module-path=$CLIENT_MODULE" --pkcs11-pin-file "$PINF"
assert_ok_token && verify_jwt "$TOKEN" "$AUTH_PUB"

begin "PIN from QSJWT_PKCS11_PIN through the client"
with_env "${CLIENT_ENV[@]}" "QSJWT_PKCS11_PIN=$PIN" -- qs "${CLAIMS[@]}" \
	--pkcs11-uri "pkcs11:token=qlik;object=jwt-signing?module-path=$CLIENT_MODULE"
assert_ok_token && verify_jwt "$TOKEN" "$T_TMP/vec.pub"

begin "wrong PIN through the client: exit 5, exactly one C_Login"
(umask 077 && echo "9999-wrong" >"$T_TMP/wrong")
SPY_TARGET=$CLIENT_MODULE
with_env "${CLIENT_ENV[@]}" -- spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=jwt-signing' \
	--pkcs11-module "$SPY_MODULE" --pkcs11-pin-file "$T_TMP/wrong"
assert_fails 5 "wrong PIN for token 'qlik'"
assert_spy_count "$SPY_LOG" C_Login 1
assert_not_contains "$ERR" "9999-wrong"
unset SPY_TARGET

begin "a token the server does not export is not seen: exit 4 listing only qlik"
with_env "${CLIENT_ENV[@]}" -- qs "${CLAIMS[@]}" \
	--pkcs11-uri "pkcs11:token=hidden;object=jwt-signing?module-path=$CLIENT_MODULE" --pkcs11-pin-file "$PINF"
assert_fails 4 "the PKCS#11 URI matches no token" "tokens seen:" "  $TOKEN_URI?module-path=$ENC_CLIENT"
assert_not_contains "$ERR" "token=hidden"

# ---- listing through the client --------------------------------------------------------

begin "list-tokens through the client: qlik only, URI with the client's module-path"
with_env "${CLIENT_ENV[@]}" -- qsp11 list-tokens --pkcs11-module "$CLIENT_MODULE" --json
if assert_rc 0; then
	assert_eq "[\"$TOKEN_URI?module-path=$ENC_CLIENT\"]" "$(json_get "$OUT" '[t["uri"] for t in d]')" "listed URIs"
	assert_eq "$CLIENT_MODULE" "$(json_get "$OUT" 'd[0]["module"]')" "module"
fi

begin "list-keys through the client; each listed URI signs through the client"
with_env "${CLIENT_ENV[@]}" -- qsp11 list-keys --pkcs11-uri "pkcs11:token=qlik?module-path=$CLIENT_MODULE" \
	--pkcs11-pin-file "$PINF" --json
if assert_rc 0; then
	assert_eq "[\"$TOKEN_URI;id=%01;object=jwt-signing;type=private?module-path=$ENC_CLIENT\", \"$TOKEN_URI;id=%02;object=auth-each;type=private?module-path=$ENC_CLIENT\"]" \
		"$(json_get "$OUT" 'sorted(k["uri"] for k in d)')" "listed key URIs"
	json_get "$OUT" '"\n".join(k["id"] + " " + k["uri"] for k in d)' >"$T_TMP/uris"
	while read -r id uri; do
		with_env "${CLIENT_ENV[@]}" -- qs "${CLAIMS[@]}" --pkcs11-uri "$uri" --pkcs11-pin-file "$PINF"
		if [ "$id" = 01 ]; then pub=$T_TMP/vec.pub; else pub=$AUTH_PUB; fi
		assert_ok_token && verify_jwt "$TOKEN" "$pub"
	done <"$T_TMP/uris"
fi

# ---- creating a key on the remote token ------------------------------------------------------

begin "--cert-create through the client: key pair and certificate made on the remote token"
mkdir "$T_TMP/created"
with_env "${CLIENT_ENV[@]}" -- qs "${CLAIMS[@]}" \
	--pkcs11-uri "pkcs11:token=qlik;object=made-remote;id=%0d?module-path=$CLIENT_MODULE" \
	--pkcs11-pin-file "$PINF" --cert-create true --cert-create-expires-days 30 --cert-create-key-bits 2048 \
	--cert-file-prefix "$T_TMP/created/"
if assert_ok_token; then
	verify_jwt "$TOKEN" "$T_TMP/created/publickey.pem"
	assert_dir_listing "$T_TMP/created" "publickey.cer publickey.pem"
	objs=$(hsm_objects | grep 'object=made-remote')
	assert_same_text "$TOKEN_URI;id=%0D;object=made-remote;type=cert
$TOKEN_URI;id=%0D;object=made-remote;type=private
$TOKEN_URI;id=%0D;object=made-remote;type=public" "$objs" "objects of made-remote on the token (seen locally)"
	assert_eq "sign" "$(ptool_field 'Private Key Object' made-remote Usage)" "Usage of the remote-made key"
	assert_eq "sensitive, always sensitive, never extractable, local" \
		"$(ptool_field 'Private Key Object' made-remote Access)" "Access of the remote-made key"
fi

# ---- the server goes away ----------------------------------------------------------------

begin "server stopped with 'p11-kit server -k': the client finds no token (exit 4)"
P11_KIT_SERVER_PID=$SERVER_PID P11_KIT_SERVER_ADDRESS=$ADDRESS p11-kit server -k >/dev/null 2>&1
for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
assert_false kill -0 "$SERVER_PID" 2>/dev/null
with_env "${CLIENT_ENV[@]}" -- qs "${CLAIMS[@]}" \
	--pkcs11-uri "pkcs11:token=qlik;object=jwt-signing?module-path=$CLIENT_MODULE" --pkcs11-pin-file "$PINF"
assert_fails 4 "the PKCS#11 URI matches no token" "no token is present in the PKCS#11 module(s) searched"

begin "the server dies while qs-jwt waits at the PIN prompt: exit 1 (a token failure, not a PIN problem)"
start_server
CLIENT_ENV=("P11_KIT_SERVER_ADDRESS=$ADDRESS" "SOFTHSM2_CONF=$T_TMP/none/softhsm2.conf")
# The server and the child serving the connection, killed once the prompt shows.
with_env "${CLIENT_ENV[@]}" "TTY_RUN_BEFORE=pkill -9 -P $SERVER_PID; kill -9 $SERVER_PID; sleep 0.3" -- \
	run_tty 'PIN for token' "$PIN" "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" \
	--pkcs11-uri "pkcs11:token=qlik;object=jwt-signing?module-path=$CLIENT_MODULE"
assert_fails 1 "token 'qlik' failed during the login: CKR_DEVICE_" "a token or connection failure, not a wrong PIN"
assert_not_contains "$ERR" "wrong PIN for token"
assert_eq 1 "$(grep -c "PIN for token 'qlik'" "$TTY_LOG")" "prompts on the terminal"

finish
