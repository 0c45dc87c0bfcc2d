#!/usr/bin/env bash
# qs-jwt decode --pkcs11-uri: verification with the public key object or the
# certificate of a key on a fresh SoftHSM2 token, with no PIN when those
# objects are public.
. "$(dirname "$0")/lib.sh"

for _tool in softhsm2-util pkcs11-tool; do
	command -v "$_tool" >/dev/null || { echo "missing tool: $_tool" >&2; exit 2; }
done
# shellcheck source=../../scripts/softhsm.sh
. "$QSJWT_SOURCE_DIR/scripts/softhsm.sh"

HSM=$T_TMP/hsm
PIN=246813
softhsm_new "$HSM" T "$PIN" || { echo "cannot make a SoftHSM2 token" >&2; exit 2; }
PINFILE=$HSM/pin
P11() { pkcs11-tool --module "$SOFTHSM_MODULE" "$@"; }
P11_LOGIN() { pkcs11-tool --module "$SOFTHSM_MODULE" --login --pin "$PIN" "$@"; }

SIG_OK='RS256 signature verified with the key (RSA 2048 bits)'
SIG_BAD='the RS256 signature does not verify with the key (RSA 2048 bits)'
URI='pkcs11:token=T;object=jwt'

# ---- a key made by create-qseow --cert-create on the token ---------------------------

begin "setup: create-qseow --cert-create makes a 2048-bit key on the token and signs"
run "$QSJWT_BIN" create-qseow --cert-create --cert-create-key-bits 2048 \
	--cert-create-expires-days 30 --cert-file-prefix "$HSM/jwt_" --pkcs11-uri "$URI" \
	--pkcs11-pin-file "$PINFILE" --userdir ACME --userid jdoe --username 'John Doe' \
	--useremail jdoe@example.com --expires 60m --audience qlik-aud
assert_rc 0
assert_token_stdout
TOK1=$TOKEN
assert_openssl_verifies "$TOK1" "$HSM/jwt_publickey.pem" RS256
KEY_ID=$(grep -o ';id=[^;]*;object=jwt;' "$ERR" | head -1 | sed 's/^;id=//;s/;object=jwt;$//')
assert_match '^(%[0-9A-F]{2})+$' "$KEY_ID" "id of the new key"
P11 -O >"$T_TMP/objects" 2>&1
assert_contains "$T_TMP/objects" "Public Key Object; RSA 2048 bits"
assert_contains "$T_TMP/objects" "Certificate Object"

begin "decode --pkcs11-uri with no PIN source and stdin not a terminal: exit 0, valid"
dec --jwt "$TOK1" --pkcs11-uri "$URI"
assert_all_pass
assert_check signature pass "$SIG_OK"
assert_check iat pass "issued at $(date -u -d "@$(jwt_payload "$TOK1" | sed 's/.*"iat":\([0-9]*\).*/\1/')" +%Y-%m-%dT%H:%M:%SZ)"
assert_contains "$OUT" '"userId": "jdoe"'
assert_empty_stderr

begin "the key is found as the public key object, no login"
dec --jwt "$TOK1" --pkcs11-uri "$URI" --loglevel verbose
assert_all_pass
assert_log VERBOSE "verification key: the public key object on token 'T'"
assert_not_contains "$ERR" "PIN"
assert_not_contains "$ERR" "logged in"

begin "the token read from standard input, key on the token: no PIN asked from stdin"
printf '%s\n' "$TOK1" >"$T_TMP/tok1"
dec_stdin "$T_TMP/tok1" --jwt-file - --pkcs11-uri "$URI" --expected-audience qlik-aud
assert_all_pass
assert_check aud pass "audience 'qlik-aud'"

begin "the key by id= alone"
dec --jwt "$TOK1" --pkcs11-uri "pkcs11:token=T;id=$KEY_ID"
assert_all_pass
assert_check signature pass "$SIG_OK"

begin "the key's certificate (type=cert): exit 0"
dec --jwt "$TOK1" --pkcs11-uri "$URI;type=cert" --loglevel verbose
assert_all_pass
assert_log VERBOSE "verification key: the certificate on token 'T'"

begin "--json through the token: valid, RS256, checks"
dec --jwt "$TOK1" --pkcs11-uri "$URI" --expected-audience qlik-aud --json
assert_rc 0
if json_flatten "$OUT"; then
	assert_field .header '{"alg":"RS256","typ":"JWT"}'
	assert_field .payload "$(jwt_payload "$TOK1")"
	assert_field .verification.status '"valid"'
	assert_field .verification.algorithm '"RS256"'
	assert_field '.verification.checks.{}' 'signature,exp,nbf,iat,aud'
	assert_field .verification.checks.signature "{\"result\":\"pass\",\"detail\":\"$SIG_OK\"}"
	assert_field .verification.checks.aud.result '"pass"'
	assert_field .verification.reason null
fi

begin "tampered payload, key on the token: exit 3"
dec --jwt "$(tamper_payload "$TOK1" '"userId":"jdoe"' '"userId":"root"')" --pkcs11-uri "$URI"
assert_check_fails signature "$SIG_BAD"

begin "wrong audience, key on the token: exit 3"
dec --jwt "$TOK1" --pkcs11-uri "$URI" --expected-audience other
assert_check_fails aud "audience 'qlik-aud', expected 'other'"
assert_check signature pass "$SIG_OK"

begin "the vector (another key) against the token's key: exit 3"
dec_pinned --jwt-file "$VEC/all-claims.jwt" --pkcs11-uri "$URI"
assert_check_fails signature "$SIG_BAD"

# ---- a key made by pkcs11-tool --keypairgen (no certificate) --------------------------

begin "setup: pkcs11-tool --keypairgen rsa:2048, create-qscloud signs with it"
P11_LOGIN --keypairgen --key-type rsa:2048 --label k2 --id 02 >"$T_TMP/gen" 2>&1
assert_contains "$T_TMP/gen" "Public Key Object; RSA 2048 bits"
run "$QSJWT_BIN" create-qscloud --issuer iss --keyid k2 --sub jdoe --expires 5m \
	--pkcs11-uri 'pkcs11:token=T;object=k2' --pkcs11-pin-file "$PINFILE"
assert_rc 0
assert_token_stdout
TOK2=$TOKEN
P11 --read-object --type pubkey --id 02 -o "$T_TMP/k2.der" >/dev/null 2>&1
openssl pkey -pubin -inform DER -in "$T_TMP/k2.der" -out "$T_TMP/k2.pem"
assert_openssl_verifies "$TOK2" "$T_TMP/k2.pem" RS256

begin "keypairgen key: decode --pkcs11-uri with no PIN: exit 0 through the public key object"
dec --jwt "$TOK2" --pkcs11-uri 'pkcs11:token=T;object=k2' --loglevel verbose
assert_all_pass
assert_not_contains "$ERR" "logged in"
assert_check signature pass "$SIG_OK"
assert_check nbf pass "valid since $(date -u -d "@$(jwt_payload "$TOK2" | sed 's/.*"nbf":\([0-9]*\).*/\1/')" +%Y-%m-%dT%H:%M:%SZ)"
assert_log VERBOSE "verification key: the public key object on token 'T'"
assert_no_log_level ERROR

begin "keypairgen key by id=%02: exit 0"
dec --jwt "$TOK2" --pkcs11-uri 'pkcs11:token=T;id=%02'
assert_all_pass

begin "a token signed by one key, checked with the other: exit 3"
dec --jwt "$TOK1" --pkcs11-uri 'pkcs11:token=T;object=k2'
assert_check_fails signature "$SIG_BAD"
dec --jwt "$TOK2" --pkcs11-uri "$URI"
assert_check_fails signature "$SIG_BAD"

# ---- a certificate alone on the token ------------------------------------------------------

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T_TMP/c.key" 2>/dev/null
openssl req -x509 -new -key "$T_TMP/c.key" -subj /CN=certonly -days 3 -outform DER -out "$T_TMP/c.der"

begin "a certificate alone (no key objects): verified without a PIN"
P11_LOGIN --write-object "$T_TMP/c.der" --type cert --label certonly --id 04 >/dev/null 2>&1
run "$QSJWT_BIN" create-qscloud --issuer iss --keyid c --sub jdoe --expires 5m \
	--cert-privatekey-file "$T_TMP/c.key"
assert_rc 0
assert_token_stdout
dec --jwt "$TOKEN" --pkcs11-uri 'pkcs11:token=T;object=certonly' --loglevel verbose
assert_all_pass
assert_check signature pass "$SIG_OK"
assert_log VERBOSE "verification key: the certificate on token 'T'"

# ---- a public key object that is private (needs a login) --------------------------------------

openssl pkey -in "$T_TMP/c.key" -pubout -outform DER -out "$T_TMP/cpub.der"
P11_LOGIN --write-object "$T_TMP/cpub.der" --type pubkey --label privpub --id 05 --private >/dev/null 2>&1
run "$QSJWT_BIN" create-qscloud --issuer iss --keyid c --sub jdoe --expires 5m \
	--cert-privatekey-file "$T_TMP/c.key"
TOK3=$(cat "$OUT")

begin "a private public key object without a PIN: exit 5, nothing on stdout"
dec --jwt "$TOK3" --pkcs11-uri 'pkcs11:token=T;object=privpub'
assert_rc 5
assert_empty_stdout
assert_log ERROR "token 'T' needs a PIN and none was given"

begin "a private public key object with --pkcs11-pin-file: exit 0"
dec --jwt "$TOK3" --pkcs11-uri 'pkcs11:token=T;object=privpub' --pkcs11-pin-file "$PINFILE" \
	--loglevel verbose
assert_all_pass
assert_check signature pass "$SIG_OK"
assert_log VERBOSE "logged in to token 'T'"
assert_log VERBOSE "verification key: the public key object on token 'T'"

begin "a private public key object with QSJWT_PKCS11_PIN: exit 0"
run env QSJWT_PKCS11_PIN="$PIN" "$QSJWT_BIN" decode --jwt "$TOK3" --pkcs11-uri 'pkcs11:token=T;object=privpub'
assert_all_pass

# ---- EC keys on the token --------------------------------------------------------------------

# es_on_token ALG MD CURVE ID LABEL: an ES token signed on the token (raw
# ECDSA over the digest; SoftHSM2 returns R || S).
es_on_token() {
	local h p
	h=$(printf '{"alg":"%s","typ":"JWT"}' "$1" | b64url)
	p=$(printf '{"sub":"ec","iat":1893456000,"exp":1893459600}' | b64url)
	printf '%s.%s' "$h" "$p" | openssl dgst "-$2" -binary >"$T_TMP/$5.hash"
	P11_LOGIN --sign -m ECDSA --id "$4" -i "$T_TMP/$5.hash" -o "$T_TMP/$5.sig" >/dev/null 2>&1
	printf '%s.%s.%s' "$h" "$p" "$(b64url <"$T_TMP/$5.sig")"
}

P11_LOGIN --keypairgen --key-type EC:secp384r1 --label ec384 --id 07 >/dev/null 2>&1
P11_LOGIN --keypairgen --key-type EC:prime256v1 --label ec256 --id 06 >/dev/null 2>&1
ES384=$(es_on_token ES384 sha384 P-384 07 ec384)
ES256=$(es_on_token ES256 sha256 P-256 06 ec256)

begin "setup: ES signatures made on the token have R||S sizes"
assert_eq 96 "$(wc -c <"$T_TMP/ec384.sig")" "ES384 signature bytes"
assert_eq 64 "$(wc -c <"$T_TMP/ec256.sig")" "ES256 signature bytes"

begin "ES384 with the token's P-384 public key object, no PIN: exit 0"
dec_pinned --jwt "$ES384" --pkcs11-uri 'pkcs11:token=T;object=ec384'
assert_all_pass
assert_check signature pass "ES384 signature verified with the key (EC P-384)"

begin "ES256 with the token's P-256 public key object, no PIN: exit 0"
dec_pinned --jwt "$ES256" --pkcs11-uri 'pkcs11:token=T;object=ec256'
assert_all_pass
assert_check signature pass "ES256 signature verified with the key (EC P-256)"

begin "ES256 token against the token's P-384 key: exit 3"
dec_pinned --jwt "$ES256" --pkcs11-uri 'pkcs11:token=T;object=ec384'
assert_check_fails signature "alg 'ES256' does not fit the key (EC P-384); it takes ES384"

begin "RS token against the token's EC key: exit 3"
dec --jwt "$TOK1" --pkcs11-uri 'pkcs11:token=T;object=ec384'
assert_check_fails signature "alg 'RS256' does not fit the key (EC P-384); it takes ES384"

begin "ES384 tampered, key on the token: exit 3"
dec_pinned --jwt "$(tamper_payload "$ES384" '"sub":"ec"' '"sub":"ed"')" --pkcs11-uri 'pkcs11:token=T;object=ec384'
assert_check_fails signature "the ES384 signature does not verify with the key (EC P-384)"

# ---- not found, usage ---------------------------------------------------------------------------

begin "no object with that label (PIN given): exit 4, nothing on stdout"
dec --jwt "$TOK1" --pkcs11-uri 'pkcs11:token=T;object=nope' --pkcs11-pin-file "$PINFILE"
assert_rc 4
assert_empty_stdout
assert_log ERROR "the PKCS#11 URI matches no public key, certificate or private key on token 'T'"

begin "no such token: exit 4, nothing on stdout"
dec --jwt "$TOK1" --pkcs11-uri 'pkcs11:token=Nope;object=jwt'
assert_rc 4
assert_empty_stdout
assert_log ERROR "the PKCS#11 URI matches no token"

begin "a URI matching several keys: exit 4"
dec --jwt "$TOK1" --pkcs11-uri 'pkcs11:token=T;type=public'
assert_rc 4
assert_empty_stdout
assert_log ERROR "the PKCS#11 URI matches several keys on token 'T'"

begin "pin-value in the URI without --allow-pin-in-uri: usage error"
dec --jwt "$TOK1" --pkcs11-uri "pkcs11:token=T;object=jwt?pin-value=$PIN"
assert_rc 2
assert_empty_stdout
assert_contains "$ERR" "see 'qs-jwt decode --help'"

finish
