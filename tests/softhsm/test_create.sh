#!/usr/bin/env bash
# --cert-create with --pkcs11-uri: the key pair is generated on the token,
# the certificate is stored beside it, only the public files are written, and
# every failure leaves the token and the directory as they were.
. "$(dirname "$0")/lib.sh"

PIN=1357-create
hsm_new main qlik "$PIN"
PINF=$HSM_DIR/pin
SERIAL=$(hsm_serial)
TOKEN_URI="pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=$SERIAL;token=qlik"
CREATE=(--cert-create true --cert-create-expires-days 30 --cert-create-key-bits 2048)

# A fresh, empty output directory; sets O.
outdir() {
	O=$T_TMP/out-$1
	mkdir -p "$O"
}

# ---- the good path ----------------------------------------------------------------------

begin "--cert-create on the token: exit 0, token on stdout, exactly two files"
outdir main
qs_pinned "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=jwt-signing;id=%01' \
	--pkcs11-pin-file "$PINF" "${CREATE[@]}" --cert-file-prefix "$O/"
assert_ok_token && assert_payload "$CLAIMS_PAYLOAD"
NEW_TOKEN=$TOKEN
assert_dir_listing "$O" "publickey.cer publickey.pem"
assert_not_exists "$O/privatekey.pem"
assert_log INFO "generating an RSA-2048 key pair on token 'qlik'"
assert_log INFO "wrote '$O/publickey.pem' and '$O/publickey.cer'; the private key stays on the token"
assert_not_contains "$ERR" "privatekey.pem"
NEW_URI=$(sed -n 's/^.* INFO: the new key, for --pkcs11-uri next time: //p' "$ERR")
assert_eq "$TOKEN_URI;id=%01;object=jwt-signing;type=private" "$NEW_URI" "URI of the new key"

begin "the JWT verifies with openssl against publickey.cer and publickey.pem"
pub_of_cert "$O/publickey.cer" >"$T_TMP/cert-pub.pem"
verify_jwt "$NEW_TOKEN" "$T_TMP/cert-pub.pem"
verify_jwt "$NEW_TOKEN" "$O/publickey.pem"
assert_eq "$(cat "$T_TMP/cert-pub.pem")" "$(openssl pkey -pubin -in "$O/publickey.pem" 2>&1)" \
	"public key of publickey.cer vs publickey.pem"

begin "publickey.cer: self-signed CN=qs-jwt, 30 days from the pinned clock, CA:FALSE"
assert_eq "subject=CN = qs-jwt" "$(openssl x509 -in "$O/publickey.cer" -noout -subject)" "subject"
assert_eq "issuer=CN = qs-jwt" "$(openssl x509 -in "$O/publickey.cer" -noout -issuer)" "issuer"
assert_eq "notBefore=Jan  1 00:00:00 2030 GMT" "$(openssl x509 -in "$O/publickey.cer" -noout -startdate)" "notBefore"
assert_eq "notAfter=Jan 31 00:00:00 2030 GMT" "$(openssl x509 -in "$O/publickey.cer" -noout -enddate)" "notAfter"
assert_contains <(openssl x509 -in "$O/publickey.cer" -noout -text) "Signature Algorithm: sha256WithRSAEncryption"
assert_contains <(openssl x509 -in "$O/publickey.cer" -noout -text) "CA:FALSE"
assert_contains <(openssl x509 -in "$O/publickey.cer" -noout -text) "Public-Key: (2048 bit)"
assert_eq "$O/publickey.cer: OK" \
	"$(TZ=UTC faketime -f "$PINNED" openssl verify -check_ss_sig -partial_chain -CAfile "$O/publickey.cer" "$O/publickey.cer" 2>&1)" \
	"openssl verify of the self-signed certificate"

begin "the token holds exactly the new private key, public key and certificate"
objs=$(hsm_objects)
want=$(printf '%s\n' "$TOKEN_URI;id=%01;object=jwt-signing;type=cert" \
	"$TOKEN_URI;id=%01;object=jwt-signing;type=private" \
	"$TOKEN_URI;id=%01;object=jwt-signing;type=public" | LC_ALL=C sort)
assert_same_text "$want" "$objs" "objects on the token"
# Without a login only the public objects show: the private key is CKA_PRIVATE.
nologin=$(p11tool --provider "$SOFTHSM_MODULE" --list-all "pkcs11:token=qlik" 2>/dev/null |
	sed -n 's/^[[:space:]]*URL: //p' | LC_ALL=C sort)
want=$(printf '%s\n' "$TOKEN_URI;id=%01;object=jwt-signing;type=cert" \
	"$TOKEN_URI;id=%01;object=jwt-signing;type=public" | LC_ALL=C sort)
assert_same_text "$want" "$nologin" "objects visible without a login"

begin "private key: sign only, sensitive, never extractable (pkcs11-tool, p11tool)"
assert_eq "sign" "$(ptool_field 'Private Key Object' jwt-signing Usage)" "Usage of the private key"
assert_eq "sensitive, always sensitive, never extractable, local" \
	"$(ptool_field 'Private Key Object' jwt-signing Access)" "Access of the private key"
assert_eq "01" "$(ptool_field 'Private Key Object' jwt-signing ID)" "ID of the private key"
flags=$(GNUTLS_PIN=$PIN p11tool --provider "$SOFTHSM_MODULE" --login --list-all-privkeys \
	"pkcs11:token=qlik;object=jwt-signing" 2>/dev/null | sed -n 's/^[[:space:]]*Flags: //p')
assert_eq "CKA_PRIVATE; CKA_NEVER_EXTRACTABLE; CKA_SENSITIVE; " "$flags" "p11tool flags of the private key"

begin "public key: verify only; certificate: same label and id"
assert_eq "verify" "$(ptool_field 'Public Key Object' jwt-signing Usage)" "Usage of the public key"
assert_eq "01" "$(ptool_field 'Public Key Object' jwt-signing ID)" "ID of the public key"
assert_eq "01" "$(ptool_field 'Certificate Object' jwt-signing ID)" "ID of the certificate"
assert_eq "DN: CN=qs-jwt" "$(ptool_field 'Certificate Object' jwt-signing subject)" "subject of the stored certificate"

begin "the certificate on the token is publickey.cer byte for byte (DER)"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label qlik --read-object --type cert --id 01 \
	-o "$T_TMP/token-cert.der" >/dev/null 2>&1
openssl x509 -in "$O/publickey.cer" -outform DER -out "$T_TMP/file-cert.der"
assert_file_eq "$T_TMP/file-cert.der" "$T_TMP/token-cert.der"

begin "the public key on the token is publickey.pem"
tpub=$(hsm_pubkey 01)
assert_file_eq "$O/publickey.pem" "$tpub"

begin "the new key signs later through the URI it was announced with"
qs_pinned "${CLAIMS[@]}" --pkcs11-uri "$NEW_URI" --pkcs11-pin-file "$PINF"
assert_ok_token && verify_jwt "$TOKEN" "$O/publickey.pem"
# RS256 is deterministic: same key, same clock, same claims, same token.
assert_eq "$NEW_TOKEN" "$TOKEN" "token signed later with the new key"

begin "list-keys shows the new key with its certificate"
qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-pin-file "$PINF" --json
if assert_rc 0; then
	assert_eq '[{"always_authenticate": false, "bits": 2048, "certificate": {"not_after": "2030-01-31T00:00:00Z", "subject": "CN=qs-jwt"}, "extractable": false, "id": "01", "label": "jwt-signing", "sensitive": true, "uri": "'"$TOKEN_URI"';id=%01;object=jwt-signing;type=private"}]' \
		"$(json_get "$OUT" '[{k: v for k, v in x.items() if k not in ("jwk", "jwk_thumbprint")} for x in d]')" "list-keys --json"
	# jwk and jwk_thumbprint: those of the key's public half, as openssl reads it.
	pem=$(hsm_pubkey 01)
	mod=$(openssl rsa -pubin -in "$pem" -noout -modulus | sed 's/^Modulus=//')
	assert_eq "$(python3 -c '
import base64, hashlib, json, sys
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
n = b64(bytes.fromhex(sys.argv[1]))
canon = "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"%s\"}" % n
print(json.dumps({"e": "AQAB", "kty": "RSA", "n": n}, sort_keys=True), b64(hashlib.sha256(canon.encode()).digest()))' "$mod")" \
		"$(json_get "$OUT" 'json.dumps(d[0]["jwk"], sort_keys=True) + " " + d[0]["jwk_thumbprint"]')" "jwk and jwk_thumbprint"
fi

# ---- a random id, RS512 ------------------------------------------------------------------

begin "no id in the URI: a random 16-byte id shared by key, public key and certificate"
outdir rand
qs "${CLAIMS[@]}" --alg RS512 --pkcs11-uri 'pkcs11:token=qlik;object=rand-id' --pkcs11-pin-file "$PINF" \
	"${CREATE[@]}" --cert-file-prefix "$O/"
if assert_ok_token; then
	verify_jwt "$TOKEN" "$O/publickey.pem" RS512
	assert_dir_listing "$O" "publickey.cer publickey.pem"
	ids=$(ptool --list-objects 2>/dev/null | awk '/^[^ \t]/ { c = $1 } /^  label:/ { l = $2 } /^  ID:/ && l == "rand-id" { print c, $2 }' | LC_ALL=C sort)
	id=$(echo "$ids" | head -1 | cut -d' ' -f2)
	assert_eq 32 "${#id}" "hex length of the random id"
	assert_same_text "$(printf 'Certificate %s\nPrivate %s\nPublic %s' "$id" "$id" "$id")" "$ids" "classes and ids of rand-id"
fi

# ---- refusals: nothing is created -----------------------------------------------------------

BEFORE=$(hsm_objects)

begin "label already on the token: exit 1, nothing created"
outdir dup-label
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=jwt-signing;id=%02' --pkcs11-pin-file "$PINF" \
	"${CREATE[@]}" --cert-file-prefix "$O/"
assert_fails 1 "token 'qlik' already holds an object labelled 'jwt-signing'; nothing was created"
assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token"
assert_dir_listing "$O" ""

begin "id already on the token: exit 1, nothing created"
outdir dup-id
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=other;id=%01' --pkcs11-pin-file "$PINF" \
	"${CREATE[@]}" --cert-file-prefix "$O/"
assert_fails 1 "token 'qlik' already holds an object with this id; nothing was created"
assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token"
assert_dir_listing "$O" ""

begin "no object= in the URI: exit 2, the command's error, nothing created"
outdir no-object
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;id=%07' --pkcs11-pin-file "$PINF" \
	"${CREATE[@]}" --cert-file-prefix "$O/"
assert_cli_error 2 create-qseow "--pkcs11-uri: to create a key on a token, the URI must name it with object=, e.g. 'pkcs11:token=qlik;object=jwt-signing'"
assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token"
assert_dir_listing "$O" ""

begin "wrong PIN: exit 5, nothing created"
outdir wrong-pin
(umask 077 && echo "0000-wrong" >"$T_TMP/wrong-pin")
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=new-key;id=%07' --pkcs11-pin-file "$T_TMP/wrong-pin" \
	"${CREATE[@]}" --cert-file-prefix "$O/"
assert_fails 5 "wrong PIN for token 'qlik'"
assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token"
assert_dir_listing "$O" ""

begin "publickey.pem exists already: exit 1 before any key is made"
outdir exists
echo "keep me" >"$O/publickey.pem"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=new-key;id=%07' --pkcs11-pin-file "$PINF" \
	"${CREATE[@]}" --cert-file-prefix "$O/"
assert_fails 1 "'$O/publickey.pem' exists already; not overwriting it"
assert_not_contains "$ERR" "generating"
assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token"
assert_dir_listing "$O" "publickey.pem"
assert_eq "keep me" "$(cat "$O/publickey.pem")" "the existing publickey.pem"

begin "--cert-create with a key file and a token URI: exit 2"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=new-key' --pkcs11-pin-file "$PINF" \
	--cert-privatekey-file "$VEC/privatekey.pem" "${CREATE[@]}"
assert_fails 2 "are both key sources"

# ---- failures after the key pair was generated ------------------------------------------------

begin "the certificate cannot be built (not after beyond year 9999): new objects removed, no files"
# The key pair is generated, then the certificate (notAfter in year 10000)
# cannot be encoded: a failure after generation with no race.
outdir late
run env TZ=UTC "$(_faketime_env)" faketime -f '@9999-12-20 00:00:00' "$QSJWT_BIN" create-qseow \
	"${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=late-key;id=%08' --pkcs11-pin-file "$PINF" \
	"${CREATE[@]}" --cert-file-prefix "$O/"
assert_fails 1 "cannot build the certificate"
assert_log INFO "generating an RSA-2048 key pair on token 'qlik'"
assert_log INFO "removed the new objects from token 'qlik'"
assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token"
assert_dir_listing "$O" ""

# bg_create DIR URI [ARGS...]: start a --cert-create with the default key size
# (4096 bits) in the background; sets BG_PID, BG_OUT, BG_ERR.
bg_create() {
	local dir=$1 uri=$2
	shift 2
	BG_OUT=$T_TMP/bg.out
	BG_ERR=$T_TMP/bg.err
	: >"$BG_ERR"
	"$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --pkcs11-uri "$uri" --pkcs11-pin-file "$PINF" \
		--cert-create true --cert-create-expires-days 30 --cert-file-prefix "$dir/" "$@" \
		>"$BG_OUT" 2>"$BG_ERR" </dev/null &
	BG_PID=$!
	BG_RUNNING=1
}
# bg_wait: wait for the background run; its exit code to RC, its output to
# $OUT and $ERR.
bg_wait() {
	wait "$BG_PID"
	RC=$?
	BG_RUNNING=0
	cp "$BG_OUT" "$OUT"
	cp "$BG_ERR" "$ERR"
}
# Only a run still going (never a recycled pid) is killed at exit.
BG_RUNNING=0
# shellcheck disable=SC2317 # called from the exit trap
_kill_bg() { [ "$BG_RUNNING" = 1 ] && kill -9 "$BG_PID"; }
at_exit _kill_bg

begin "SIGTERM during generation of a 4096-bit key: dies of SIGTERM, no objects, no files"
outdir sigterm
bg_create "$O" 'pkcs11:token=qlik;object=term-key;id=%09'
if wait_for_file_text "$BG_ERR" "generating an RSA-4096 key pair on token 'qlik'" 30; then
	kill -TERM "$BG_PID"
	bg_wait
	assert_fails 143 "interrupted; nothing was written or kept" "removed the new objects from token 'qlik'"
	assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token"
	assert_dir_listing "$O" ""
else
	fail "no 'generating an RSA-4096' line within 30 s: $(cat "$BG_ERR")"
	kill -9 "$BG_PID" 2>/dev/null
	bg_wait 2>/dev/null
fi

# Whatever signal ends the run during the generation: 128+N, no objects, no
# files, no temporaries (SIGHUP: a dropped SSH session; SIGQUIT: Ctrl-\).
declare -A SIGNUM=([INT]=2 [TERM]=15 [HUP]=1 [QUIT]=3)
for sig in INT TERM HUP QUIT; do
	want=$((128 + SIGNUM[$sig]))
	begin "SIG$sig during generation of a 4096-bit key: exit $want, no objects, no files"
	outdir "sig-$sig"
	bg_create "$O" "pkcs11:token=qlik;object=sig-$sig-key;id=%0b"
	if wait_for_file_text "$BG_ERR" "generating an RSA-4096 key pair on token 'qlik'" 30; then
		kill "-$sig" "$BG_PID"
		bg_wait
		assert_fails "$want" "interrupted; nothing was written or kept"
		assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token"
		assert_dir_listing "$O" ""
	else
		fail "no 'generating an RSA-4096' line within 30 s: $(cat "$BG_ERR")"
		kill -9 "$BG_PID" 2>/dev/null
		bg_wait 2>/dev/null
	fi
done

begin "Ctrl-C at the PIN prompt of --cert-create on a token: exit 130, no objects, no files"
outdir ctrl-c
run_tty 'PIN for token' $'\003' "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" \
	--pkcs11-uri 'pkcs11:token=qlik;object=ctrl-c-key' --cert-create true \
	--cert-create-expires-days 30 --cert-file-prefix "$O/"
assert_rc 130
assert_empty_stdout
assert_contains "$TTY_LOG" "PIN for token 'qlik': "
assert_contains "$ERR" "interrupted; nothing was written or kept"
assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token"
assert_dir_listing "$O" ""

begin "a file appears during generation: exit 1, new objects removed, that file untouched"
outdir race
bg_create "$O" 'pkcs11:token=qlik;object=race-key;id=%0a'
if wait_for_file_text "$BG_ERR" "generating an RSA-4096 key pair on token 'qlik'" 30; then
	echo "someone else's" >"$O/publickey.cer"
	bg_wait
	assert_fails 1 "'$O/publickey.cer' appeared while it was being made; not overwriting it" \
		"removed the new objects from token 'qlik'"
	assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token"
	assert_dir_listing "$O" "publickey.cer"
	assert_eq "someone else's" "$(cat "$O/publickey.cer")" "the file that appeared"
else
	fail "no 'generating an RSA-4096' line within 30 s: $(cat "$BG_ERR")"
	kill -9 "$BG_PID" 2>/dev/null
	bg_wait 2>/dev/null
fi

finish
