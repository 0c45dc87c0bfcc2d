#!/usr/bin/env bash
# qs-jwt on a TPM 2.0: tpm2-pkcs11 1.9 (loaded by path from a private copy,
# never registered with p11-kit) on swtpm, through tpm2-abrmd. Every
# signature is verified with openssl; the token's objects are read with
# pkcs11-tool.
. "$(dirname "$0")/lib.sh"

PIN=2468-tpm
tpm_new tpm "$PIN"
MOD=(--pkcs11-module "$TPM_MODULE")
KEYDIR=$T_TMP/key
mkdir -p "$KEYDIR"

begin "list-tokens: the initialised token, with its URI"
qsp11 list-tokens "${MOD[@]}"
assert_rc 0
assert_contains "$OUT" "token: tpm"
assert_contains "$OUT" "manufacturer: IBM"
assert_contains "$OUT" "flags: token-initialized, login-required, user-pin-initialized, rng"
assert_contains "$OUT" ";token=tpm?module-path="

BEFORE=$(tpm_objects)

begin "--cert-create on the TPM: the minimal public template after the full one is refused; RSA-3072 (the largest)"
qs "${CLAIMS[@]}" "${MOD[@]}" --pkcs11-uri 'pkcs11:token=tpm;object=jwt' \
	--pkcs11-pin-file "$TPM_PINF" --cert-create --cert-create-expires-days 30 \
	--cert-file-prefix "$KEYDIR/" --loglevel verbose
assert_ok_token
assert_log INFO "token 'tpm' makes RSA keys of at most 3072 bits; using 3072"
assert_log VERBOSE "token 'tpm' refused the public key template (CKR_GENERAL_ERROR); generating again without CKA_VERIFY, CKA_ENCRYPT and CKA_WRAP on the public key"
assert_log INFO "wrote '$KEYDIR/publickey.pem' and '$KEYDIR/publickey.cer'; the private key stays on the token"
assert_dir_listing "$KEYDIR" "publickey.cer publickey.pem"
verify_jwt "$TOKEN" "$KEYDIR/publickey.pem"
assert_eq "$(cat "$KEYDIR/publickey.pem")" "$(pub_of_cert "$KEYDIR/publickey.cer")" \
	"the certificate's public key"
assert_true openssl verify -CAfile "$KEYDIR/publickey.cer" "$KEYDIR/publickey.cer"
assert_contains <(openssl x509 -in "$KEYDIR/publickey.cer" -noout -text) "Public-Key: (3072 bit)"

begin "the new private key, read by pkcs11-tool: sign only, sensitive, never extractable"
PRIV=$(pkcs11-tool --module "$TPM_MODULE" --token-label tpm --login --pin "$PIN" \
	--list-objects --type privkey 2>/dev/null)
assert_contains <(printf '%s\n' "$PRIV") "label:      jwt"
assert_eq "  Usage:      sign" "$(printf '%s\n' "$PRIV" | grep 'Usage:')" "private key usage"
assert_contains <(printf '%s\n' "$PRIV") "Access:     sensitive, always sensitive, never extractable, local"
assert_eq 1 "$(printf '%s\n' "$PRIV" | grep -c '^Private Key Object')" "private keys on the token"
assert_eq 1 "$(tpm_objects | grep -c '^Certificate Object')" "certificates on the token"

begin "list-keys: the new key, with a URI that names it"
qsp11 list-keys "${MOD[@]}" --pkcs11-uri 'pkcs11:token=tpm' --pkcs11-pin-file "$TPM_PINF"
assert_rc 0
assert_contains "$OUT" "key: jwt"
assert_contains "$OUT" ";object=jwt;type=private?module-path="

begin "sign with the key on the TPM: openssl verifies the token"
qs "${CLAIMS[@]}" "${MOD[@]}" --pkcs11-uri 'pkcs11:token=tpm;object=jwt' \
	--pkcs11-pin-file "$TPM_PINF" --loglevel verbose
assert_ok_token
verify_jwt "$TOKEN" "$KEYDIR/publickey.pem"
SIGNED=$TOKEN
# tpm2-pkcs11 1.9 has CKM_SHA256_RSA_PKCS.
assert_log VERBOSE "signing with RS256, key 'jwt' on token 'tpm'"

begin "--alg RS512 on the TPM"
qs "${CLAIMS[@]}" "${MOD[@]}" --pkcs11-uri 'pkcs11:token=tpm;object=jwt' \
	--pkcs11-pin-file "$TPM_PINF" --alg RS512
assert_ok_token
verify_jwt "$TOKEN" "$KEYDIR/publickey.pem" RS512

begin "decode verifies with the token's public key (no PIN)"
printf '%s\n' "$SIGNED" >"$T_TMP/signed.jwt"
run "$QSJWT_BIN" decode --jwt-file "$T_TMP/signed.jwt" "${MOD[@]}" \
	--pkcs11-uri 'pkcs11:token=tpm;object=jwt' --minimal-output
assert_rc 0
assert_eq valid "$(json_get "$OUT" 'd["verification"]["status"]')" "verification status"
assert_contains "$OUT" "RS256 signature verified with the key (RSA 3072 bits)"

begin "decode of a token signed by another key: exit 3"
run "$QSJWT_BIN" decode --jwt-file "$VEC/all-claims.jwt" "${MOD[@]}" \
	--pkcs11-uri 'pkcs11:token=tpm;object=jwt' --minimal-output
assert_rc 3
assert_eq invalid "$(json_get "$OUT" 'd["verification"]["status"]')" "verification status"

begin "batch, --jobs 2 (a TPM session each): every token verifies"
USERS=$T_TMP/users.jsonl
for i in 1 2 3 4 5 6 7 8; do
	printf '{"userid":"u%d","userdir":"ACME","username":"User %d","useremail":"u%d@example.com"}\n' \
		"$i" "$i" "$i"
done >"$USERS"
qs --batch "$USERS" --jobs 2 --expires 10m --audience qlik-aud "${MOD[@]}" \
	--pkcs11-uri 'pkcs11:token=tpm;object=jwt' --pkcs11-pin-file "$TPM_PINF"
assert_rc 0
assert_eq 8 "$(wc -l <"$OUT")" "output lines"
assert_log INFO "batch: 8 tokens issued, 0 lines failed"
n=0
while IFS= read -r line; do
	tok=$(printf '%s' "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
	jwt_verifies "$tok" "$KEYDIR/publickey.pem" RS256 && n=$((n + 1))
done <"$OUT"
assert_eq 8 "$n" "batch tokens verified by openssl"

begin "wrong PIN through pkcs11-spy: exit 5, exactly one C_Login, nothing on stdout"
BAD=$T_TMP/bad.pin
(umask 077 && echo 1357-bad >"$BAD")
SPY_TARGET=$TPM_MODULE spy "$T_TMP/spy.log" qs "${CLAIMS[@]}" --pkcs11-module "$SPY_MODULE" \
	--pkcs11-uri 'pkcs11:token=tpm;object=jwt' --pkcs11-pin-file "$BAD"
assert_fails 5 "wrong PIN for token 'tpm'. It was tried once and is not retried"
assert_spy_count "$T_TMP/spy.log" C_Login 1
assert_nowhere 1357-bad "$OUT" "$ERR"

begin "the right PIN still works after one wrong try"
qs "${CLAIMS[@]}" "${MOD[@]}" --pkcs11-uri 'pkcs11:token=tpm;object=jwt' \
	--pkcs11-pin-file "$TPM_PINF"
assert_ok_token
verify_jwt "$TOKEN" "$KEYDIR/publickey.pem"

begin "--cert-create for a label already on the TPM: exit 1, nothing made"
AFTER=$(tpm_objects)
mkdir -p "$T_TMP/dup"
qs "${CLAIMS[@]}" "${MOD[@]}" --pkcs11-uri 'pkcs11:token=tpm;object=jwt' \
	--pkcs11-pin-file "$TPM_PINF" --cert-create --cert-create-expires-days 30 \
	--cert-file-prefix "$T_TMP/dup/"
assert_fails 1 "token 'tpm' already holds an object labelled 'jwt'; nothing was created"
assert_same_text "$AFTER" "$(tpm_objects)" "objects on the token"
assert_dir_listing "$T_TMP/dup" ""

begin "SIGINT during generation on the TPM: dies of SIGINT, no new objects, no files"
mkdir -p "$T_TMP/int"
BG_ERR=$T_TMP/bg.err
: >"$BG_ERR"
"$QSJWT_BIN" create-qseow "${CLAIMS[@]}" "${MOD[@]}" --pkcs11-uri 'pkcs11:token=tpm;object=int-key' \
	--pkcs11-pin-file "$TPM_PINF" --cert-create --cert-create-expires-days 30 \
	--cert-file-prefix "$T_TMP/int/" >"$T_TMP/bg.out" 2>"$BG_ERR" </dev/null &
BG_PID=$!
if wait_for_file_text "$BG_ERR" "generating an RSA-3072 key pair on token 'tpm'" 30; then
	kill -INT "$BG_PID"
	wait "$BG_PID"
	RC=$?
	cp "$T_TMP/bg.out" "$OUT"
	cp "$BG_ERR" "$ERR"
	assert_fails 130 "interrupted; nothing was written or kept"
	assert_same_text "$AFTER" "$(tpm_objects)" "objects on the token"
	assert_dir_listing "$T_TMP/int" ""
else
	fail "no 'generating an RSA-3072' line within 30 s: $(cat "$BG_ERR")"
	kill -9 "$BG_PID" 2>/dev/null
	wait "$BG_PID" 2>/dev/null
fi

finish
