#!/usr/bin/env bash
# Signing mechanisms: CKM_SHA{256,384,512}_RSA_PKCS where the token has them,
# else CKM_RSA_PKCS over the DigestInfo. Both give the bytes of a file key:
# the same key in a file, on an unrestricted token and on a token restricted
# to CKM_RSA_PKCS gives byte-identical tokens under a pinned clock.
. "$(dirname "$0")/lib.sh"

PIN=8642-mech
RESTRICT='slots.mechanisms = CKM_RSA_PKCS,CKM_RSA_PKCS_KEY_PAIR_GEN'
SPY_LOG=$T_TMP/spy.log
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T_TMP/random.pem" 2>/dev/null

hsm_new full qlik "$PIN"
hsm_import "$VEC/privatekey.pem" jwt-signing 01
hsm_import "$T_TMP/random.pem" random 02
# The random key again, but CKA_ALLOWED_MECHANISMS = { CKM_RSA_PKCS } (and no
# public key object: the public half comes from the private key).
openssl pkey -in "$T_TMP/random.pem" -outform DER -out "$T_TMP/random.der"
ptool --write-object "$T_TMP/random.der" --type privkey --label only-raw --id 03 \
	--allowed-mechanisms RSA-PKCS >/dev/null 2>&1 || { echo "import with allowed mechanisms failed" >&2; exit 2; }

hsm_new restricted qlik "$PIN" "$RESTRICT"
hsm_import "$VEC/privatekey.pem" jwt-signing 01
hsm_import "$T_TMP/random.pem" random 02

# sign_on STORE ARGS...: qs_pinned on token qlik of STORE (PIN file of STORE).
sign_on() {
	local store=$1
	shift
	with_env "SOFTHSM2_CONF=$T_TMP/$store/softhsm2.conf" -- qs_pinned "$@" \
		--pkcs11-pin-file "$T_TMP/$store/pin"
}

# spy_mechanisms LOG: the mechanisms given to C_SignInit, space-separated.
spy_mechanisms() {
	awk '/^[0-9]+: C_/ { f = $2 } f == "C_SignInit" && /pMechanism->type = / { print $NF }' "$1" |
		tr '\n' ' ' | sed 's/ $//'
}
# spy_sign_lengths LOG: the data lengths given to C_Sign.
spy_sign_lengths() {
	awk '/^[0-9]+: C_/ { f = $2 } f == "C_Sign" && /pData\[ulDataLen\]/ { print $NF }' "$1" |
		tr '\n' ' ' | sed 's/ $//'
}

begin "fixture: the restricted token offers only CKM_RSA_PKCS and its key generation"
mechs=$(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label qlik -M 2>/dev/null | sed -n 's/^  \([A-Z0-9-]*\),.*$/\1/p' | tr '\n' ' ')
assert_eq "RSA-PKCS RSA-PKCS-KEY-PAIR-GEN " "$mechs" "mechanisms of the restricted token"
hsm_use full qlik "$PIN"
assert_true grep -q 'SHA256-RSA-PKCS' <(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label qlik -M 2>/dev/null)

begin "vector key on the unrestricted token: tests/data/vectors/all-claims.jwt"
sign_on full "${VEC_CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=jwt-signing'
assert_ok_token && assert_file_eq "$VEC/all-claims.jwt" "$OUT" && verify_jwt "$TOKEN" "$VEC/publickey.pem"

begin "vector key on the restricted token: tests/data/vectors/all-claims.jwt"
sign_on restricted "${VEC_CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=jwt-signing'
assert_ok_token && assert_file_eq "$VEC/all-claims.jwt" "$OUT" && verify_jwt "$TOKEN" "$VEC/publickey.pem"

for alg in RS256 RS384 RS512; do
	begin "$alg: file key, unrestricted token and restricted token give the same bytes"
	qs_pinned "${CLAIMS[@]}" --alg "$alg" --cert-privatekey-file "$T_TMP/random.pem"
	assert_ok_token || continue
	want=$TOKEN
	openssl pkey -in "$T_TMP/random.pem" -pubout -out "$T_TMP/random.pub" 2>/dev/null
	verify_jwt "$want" "$T_TMP/random.pub" "$alg"
	for store in full restricted; do
		sign_on "$store" "${CLAIMS[@]}" --alg "$alg" --pkcs11-uri 'pkcs11:token=qlik;object=random'
		assert_ok_token && assert_eq "$want" "$TOKEN" "$alg token from the $store token" &&
			verify_jwt "$TOKEN" "$T_TMP/random.pub" "$alg"
	done
	sign_on full "${CLAIMS[@]}" --alg "$alg" --pkcs11-uri 'pkcs11:token=qlik;object=only-raw'
	assert_ok_token && assert_eq "$want" "$TOKEN" "$alg token from the key allowed only CKM_RSA_PKCS"
done

begin "unrestricted token: C_SignInit with CKM_SHA{256,384,512}_RSA_PKCS over the JWT input"
for alg in RS256 RS384 RS512; do
	with_env "SOFTHSM2_CONF=$T_TMP/full/softhsm2.conf" -- spy "$SPY_LOG" qs "${CLAIMS[@]}" --alg "$alg" \
		--pkcs11-uri 'pkcs11:token=qlik;object=random' --pkcs11-module "$SPY_MODULE" \
		--pkcs11-pin-file "$T_TMP/full/pin" --loglevel verbose
	assert_ok_token || continue
	assert_eq "CKM_SHA${alg#RS}_RSA_PKCS" "$(spy_mechanisms "$SPY_LOG")" "$alg mechanism"
	assert_log VERBOSE "token 'qlik' signs $alg with CKM_SHA${alg#RS}_RSA_PKCS"
	assert_eq 1 "$(grep -c "signs $alg with" "$ERR")" "lines that say which mechanism signed"
	input=${TOKEN%.*}
	assert_eq "${#input}" "$(spy_sign_lengths "$SPY_LOG")" "$alg C_Sign input length (header.payload)"
done

begin "restricted token: C_SignInit with CKM_RSA_PKCS over the DigestInfo"
for alg in RS256 RS384 RS512; do
	with_env "SOFTHSM2_CONF=$T_TMP/restricted/softhsm2.conf" -- spy "$SPY_LOG" qs "${CLAIMS[@]}" --alg "$alg" \
		--pkcs11-uri 'pkcs11:token=qlik;object=random' --pkcs11-module "$SPY_MODULE" \
		--pkcs11-pin-file "$T_TMP/restricted/pin" --loglevel verbose
	assert_ok_token || continue
	assert_eq "CKM_RSA_PKCS" "$(spy_mechanisms "$SPY_LOG")" "$alg mechanism"
	assert_log VERBOSE "token 'qlik' signs $alg with CKM_RSA_PKCS over the SHA-${alg#RS} DigestInfo (it has no usable CKM_SHA${alg#RS}_RSA_PKCS)"
	# DigestInfo: 19 bytes of prefix and the digest.
	case $alg in RS256) len=51 ;; RS384) len=67 ;; RS512) len=83 ;; esac
	assert_eq "$len" "$(spy_sign_lengths "$SPY_LOG")" "$alg C_Sign input length (DigestInfo)"
done

begin "key allowed only CKM_RSA_PKCS on an unrestricted token: CKM_RSA_PKCS"
with_env "SOFTHSM2_CONF=$T_TMP/full/softhsm2.conf" -- spy "$SPY_LOG" qs "${CLAIMS[@]}" \
	--pkcs11-uri 'pkcs11:token=qlik;object=only-raw' --pkcs11-module "$SPY_MODULE" \
	--pkcs11-pin-file "$T_TMP/full/pin"
assert_ok_token && assert_eq "CKM_RSA_PKCS" "$(spy_mechanisms "$SPY_LOG")" "mechanism"

begin "--cert-create on the restricted token: key made there, certificate and JWT verify"
hsm_use restricted qlik "$PIN"
mkdir "$T_TMP/created"
sign_on restricted "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=made-here;id=%0c' \
	--cert-create true --cert-create-expires-days 30 --cert-create-key-bits 2048 \
	--cert-file-prefix "$T_TMP/created/"
if assert_ok_token; then
	verify_jwt "$TOKEN" "$T_TMP/created/publickey.pem"
	assert_eq "$T_TMP/created/publickey.cer: OK" \
		"$(TZ=UTC faketime -f "$PINNED" openssl verify -check_ss_sig -partial_chain \
			-CAfile "$T_TMP/created/publickey.cer" "$T_TMP/created/publickey.cer" 2>&1)" \
		"openssl verify of the certificate signed through CKM_RSA_PKCS"
fi

begin "a token with no RSA signing mechanism: exit 1 saying so, before any C_SignInit"
hsm_new nosign qlik "$PIN" 'slots.mechanisms = CKM_RSA_PKCS_KEY_PAIR_GEN,CKM_SHA256'
hsm_import "$T_TMP/random.pem" random 02
with_env "SOFTHSM2_CONF=$T_TMP/nosign/softhsm2.conf" -- spy "$SPY_LOG" qs "${CLAIMS[@]}" \
	--pkcs11-uri 'pkcs11:token=qlik;object=random' --pkcs11-module "$SPY_MODULE" \
	--pkcs11-pin-file "$T_TMP/nosign/pin"
assert_fails 1 "token 'qlik' offers neither CKM_SHA256_RSA_PKCS nor CKM_RSA_PKCS for signing with this key"
assert_spy_count "$SPY_LOG" C_SignInit 0

finish
