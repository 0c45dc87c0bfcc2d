#!/usr/bin/env bash
# qs-jwt decode: the key formats it verifies with (SPKI PEM, PKCS#1 PEM,
# X.509 certificate PEM and DER, PEM text and standard input) and EC keys
# with ES256/384/512 tokens built here with openssl.
. "$(dirname "$0")/lib.sh"

K=$T_TMP/keys
mkdir -p "$K"
ALL=$(cat "$VEC/all-claims.jwt")
PRIV=$VEC/privatekey.pem
PUB=$VEC/publickey.pem
PL='{"sub":"jdoe","iat":1893456000,"exp":1893459600,"aud":"qlik-aud"}'
SIG_OK='RS256 signature verified with the key (RSA 2048 bits)'
NOT_RS='does not fit the key (RSA 2048 bits); it takes RS256, RS384 or RS512'
NOT_OURS='key; tokens are verified with RSA keys (RS256, RS384, RS512) or EC keys on P-256, P-384 or P-521 (ES256, ES384, ES512)'

# The vector key in every form.
cp "$VEC/publickey.cer" "$K/cert.pem"
openssl x509 -in "$VEC/publickey.cer" -outform DER -out "$K/cert.der"
openssl rsa -pubin -in "$PUB" -RSAPublicKey_out -out "$K/pkcs1.pem" 2>/dev/null
cp "$PUB" "$K/spki.pem"

# EC keys, their public keys and self-signed certificates.
for c in P-256 P-384 P-521; do
	openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$c" -out "$K/$c.key"
	openssl pkey -in "$K/$c.key" -pubout -out "$K/$c.pub"
	openssl req -x509 -new -key "$K/$c.key" -subj "/CN=es-$c" -days 30 -out "$K/$c.crt" 2>/dev/null
	openssl x509 -in "$K/$c.crt" -outform DER -out "$K/$c.crt.der"
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/other-P-256.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$K/other-P-384.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "$K/k1.key"
openssl pkey -in "$K/k1.key" -pubout -out "$K/k1.pub"
openssl genpkey -algorithm ED25519 -out "$K/ed.key"
openssl pkey -in "$K/ed.key" -pubout -out "$K/ed.pub"

begin "setup: the key files were made"
for f in cert.der pkcs1.pem P-256.pub P-384.pub P-521.pub P-256.crt P-256.crt.der k1.pub ed.pub; do
	[ -s "$K/$f" ] || fail "$K/$f was not made"
done
assert_contains "$K/pkcs1.pem" "-----BEGIN RSA PUBLIC KEY-----"
assert_eq 30 "$(head -c 1 "$K/cert.der" | od -An -tx1 | tr -d ' ')" "first byte of the DER certificate"

# ---- RSA: the vectors against every form of their key --------------------------------

for v in all-claims unicode; do
	for f in cert.pem spki.pem cert.der pkcs1.pem; do
		begin "vector $v with $f under the pinned clock: exit 0, checks listed"
		dec_pinned --jwt-file "$VEC/$v.jwt" --cert-publickey-file "$K/$f"
		assert_all_pass
		assert_check signature pass "$SIG_OK"
		assert_check exp pass "expires at 2030-01-01T01:00:00Z"
		assert_check nbf absent "no 'nbf' claim"
		assert_check iat pass "issued at 2030-01-01T00:00:00Z"
		assert_empty_stderr

		begin "vector $v with $f without faketime: iat in the future, exit 3"
		dec --jwt-file "$VEC/$v.jwt" --cert-publickey-file "$K/$f"
		assert_check_fails iat "issued in the future, at 2030-01-01T00:00:00Z"
		assert_check signature pass "$SIG_OK"
	done
done

begin "vectors with the unmodified publickey.cer path: exit 0"
dec_pinned --jwt-file "$VEC/unicode.jwt" --cert-publickey-file "$VEC/publickey.cer" --expected-audience aüd
assert_all_pass
assert_check aud pass "audience 'aüd'"

begin "--cert-publickey with the SPKI PEM text"
dec_pinned --jwt "$ALL" --cert-publickey "$(cat "$PUB")"
assert_all_pass
assert_check signature pass "$SIG_OK"

begin "--cert-publickey with the certificate PEM text"
dec_pinned --jwt "$ALL" --cert-publickey "$(cat "$VEC/publickey.cer")"
assert_all_pass
assert_check signature pass "$SIG_OK"

begin "--cert-publickey with the PKCS#1 PEM text"
dec_pinned --jwt "$ALL" --cert-publickey "$(cat "$K/pkcs1.pem")"
assert_all_pass
assert_check signature pass "$SIG_OK"

begin "--cert-publickey - reads the certificate from standard input"
run_at_stdin "$PINNED" "$VEC/publickey.cer" "$QSJWT_BIN" decode --jwt "$ALL" --cert-publickey -
assert_all_pass
assert_check signature pass "$SIG_OK"

begin "--cert-publickey - reads the SPKI PEM from standard input"
run_at_stdin "$PINNED" "$PUB" "$QSJWT_BIN" decode --jwt "$ALL" --cert-publickey - --json
assert_rc 0
if json_flatten "$OUT"; then
	assert_field .verification.status '"valid"'
	assert_field .verification.checks.signature.detail "\"$SIG_OK\""
fi

begin "--cert-publickey with a wrong key's text: signature fails"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/other.key" 2>/dev/null
dec_pinned --jwt "$ALL" --cert-publickey "$(openssl pkey -in "$K/other.key" -pubout)"
assert_check_fails signature "the RS256 signature does not verify with the key (RSA 2048 bits)"

begin "usage: --jwt-file - and --cert-publickey - together"
dec_stdin "$VEC/all-claims.jwt" --jwt-file - --cert-publickey -
assert_usage_error_of decode "--jwt-file - and --cert-publickey - cannot both read standard input"

begin "usage: two keys"
dec --jwt "$ALL" --cert-publickey-file "$PUB" --cert-publickey "$(cat "$PUB")"
assert_usage_error_of decode "give at most one key"
dec --jwt "$ALL" --cert-publickey-file "$PUB" --pkcs11-uri 'pkcs11:token=T;object=jwt'
assert_usage_error_of decode "give at most one key"

begin "usage: PKCS#11 options without --pkcs11-uri"
dec --jwt "$ALL" --cert-publickey-file "$PUB" --pkcs11-pin-file "$K/pin"
assert_usage_error_of decode "the PKCS#11 options only apply with --pkcs11-uri"
dec --jwt "$ALL" --pkcs11-module /nonexistent.so
assert_usage_error_of decode "the PKCS#11 options only apply with --pkcs11-uri"

# ---- key files that do not work ---------------------------------------------------------

# bad_key NAME FILE NEEDLE: exit 1, nothing on stdout, an ERROR with NEEDLE.
bad_key() {
	begin "key file: $1"
	dec_pinned --jwt "$ALL" --cert-publickey-file "$2"
	assert_rc 1
	assert_empty_stdout
	assert_log ERROR "$3"
}

bad_key "the private key instead of the public one" "$PRIV" \
	"public key file '$PRIV' holds a private key; give the public key or the certificate"
printf 'hello, not a key\n' >"$K/garbage"
bad_key "garbage" "$K/garbage" \
	"public key file '$K/garbage' holds no public key or certificate that can be read"
: >"$K/empty"
bad_key "empty" "$K/empty" "public key file '$K/empty' is empty"
head -c 300 "$K/cert.der" >"$K/cut.der"
bad_key "a truncated DER certificate" "$K/cut.der" "holds no public key or certificate that can be read"
head -n 8 "$VEC/publickey.cer" >"$K/cut.pem"
bad_key "a truncated PEM certificate" "$K/cut.pem" "holds no public key or certificate that can be read"
bad_key "missing" "$K/nonexistent.pem" "nonexistent.pem"
bad_key "an Ed25519 public key" "$K/ed.pub" "$NOT_OURS"
bad_key "an EC key on secp256k1" "$K/k1.pub" "$NOT_OURS"

begin "key text: the private key given with --cert-publickey"
dec_pinned --jwt "$ALL" --cert-publickey "$(cat "$PRIV")"
assert_rc 1
assert_empty_stdout
assert_log ERROR "the public key given with --cert-publickey holds a private key"

begin "key text: a private key on standard input"
run_at_stdin "$PINNED" "$PRIV" "$QSJWT_BIN" decode --jwt "$ALL" --cert-publickey -
assert_rc 1
assert_empty_stdout
assert_log ERROR "the public key read from standard input holds a private key"

# ---- EC keys and ES tokens --------------------------------------------------------------

ES256=$(make_jwt ES256 "$K/P-256.key" '{"alg":"ES256","typ":"JWT"}' "$PL")
ES384=$(make_jwt ES384 "$K/P-384.key" '{"alg":"ES384","typ":"JWT"}' "$PL")
ES512=$(make_jwt ES512 "$K/P-521.key" '{"alg":"ES512","typ":"JWT"}' "$PL")

begin "setup: the ES tokens have raw R||S signatures that openssl verifies"
assert_eq 64 "$(b64url_decode "${ES256##*.}" | wc -c)" "ES256 signature bytes"
assert_eq 96 "$(b64url_decode "${ES384##*.}" | wc -c)" "ES384 signature bytes"
assert_eq 132 "$(b64url_decode "${ES512##*.}" | wc -c)" "ES512 signature bytes"
assert_openssl_verifies "$ES256" "$K/P-256.pub" ES256
assert_openssl_verifies "$ES384" "$K/P-384.pub" ES384
assert_openssl_verifies "$ES512" "$K/P-521.pub" ES512
if jwt_verifies "$(tamper_signature "$ES256")" "$K/P-256.pub" ES256; then
	fail "openssl verifies a tampered ES256 signature: the helper is broken"
fi

# es_ok TOKEN ALG CURVE KEYFILE
es_ok() {
	dec_pinned --jwt "$1" --cert-publickey-file "$4"
	assert_all_pass
	assert_check signature pass "$2 signature verified with the key (EC $3)"
	assert_check exp pass "expires at 2030-01-01T01:00:00Z"
	assert_check iat pass "issued at 2030-01-01T00:00:00Z"
	assert_empty_stderr
}

begin "ES256 with the P-256 public key (SPKI PEM): exit 0"
es_ok "$ES256" ES256 P-256 "$K/P-256.pub"

begin "ES256 with the P-256 certificate, PEM and DER: exit 0"
es_ok "$ES256" ES256 P-256 "$K/P-256.crt"
es_ok "$ES256" ES256 P-256 "$K/P-256.crt.der"

begin "ES384 with the P-384 public key (SPKI PEM): exit 0"
es_ok "$ES384" ES384 P-384 "$K/P-384.pub"

begin "ES384 with the P-384 certificate, PEM and DER: exit 0"
es_ok "$ES384" ES384 P-384 "$K/P-384.crt"
es_ok "$ES384" ES384 P-384 "$K/P-384.crt.der"

begin "ES512 with the P-521 public key: exit 0"
es_ok "$ES512" ES512 P-521 "$K/P-521.pub"

begin "ES256 with --cert-publickey text and --expected-audience: exit 0"
dec_pinned --jwt "$ES256" --cert-publickey "$(cat "$K/P-256.pub")" --expected-audience qlik-aud
assert_all_pass
assert_check aud pass "audience 'qlik-aud'"

begin "ES256 --json: algorithm ES256, status valid"
dec_pinned --jwt "$ES256" --cert-publickey-file "$K/P-256.pub" --json
assert_rc 0
if json_flatten "$OUT"; then
	assert_field .header '{"alg":"ES256","typ":"JWT"}'
	assert_field .payload "$PL"
	assert_field .verification.status '"valid"'
	assert_field .verification.algorithm '"ES256"'
	assert_field .verification.checks.signature '{"result":"pass","detail":"ES256 signature verified with the key (EC P-256)"}'
	assert_field .verification.reason null
fi

begin "ES384 --json: algorithm ES384, status valid"
dec_pinned --jwt "$ES384" --cert-publickey-file "$K/P-384.pub" --json
assert_rc 0
if json_flatten "$OUT"; then
	assert_field .verification.status '"valid"'
	assert_field .verification.algorithm '"ES384"'
	assert_field .verification.checks.signature '{"result":"pass","detail":"ES384 signature verified with the key (EC P-384)"}'
fi

begin "ES256 against a P-384 key: fails, exit 3"
dec_pinned --jwt "$ES256" --cert-publickey-file "$K/P-384.pub"
assert_check_fails signature "alg 'ES256' does not fit the key (EC P-384); it takes ES384"

begin "ES384 against a P-256 key: fails, exit 3"
dec_pinned --jwt "$ES384" --cert-publickey-file "$K/P-256.pub"
assert_check_fails signature "alg 'ES384' does not fit the key (EC P-256); it takes ES256"

begin "ES512 against a P-384 key: fails, exit 3"
dec_pinned --jwt "$ES512" --cert-publickey-file "$K/P-384.pub"
assert_check_fails signature "alg 'ES512' does not fit the key (EC P-384); it takes ES384"

begin "ES384 header on a P-384 signature, checked against a P-521 key: fails"
dec_pinned --jwt "$ES384" --cert-publickey-file "$K/P-521.pub"
assert_check_fails signature "alg 'ES384' does not fit the key (EC P-521); it takes ES512"

begin "ES256 with a tampered payload: fails, exit 3"
dec_pinned --jwt "$(tamper_payload "$ES256" jdoe root)" --cert-publickey-file "$K/P-256.pub"
assert_check_fails signature "the ES256 signature does not verify with the key (EC P-256)"

begin "ES384 with a tampered payload: fails, exit 3"
dec_pinned --jwt "$(tamper_payload "$ES384" jdoe root)" --cert-publickey-file "$K/P-384.pub"
assert_check_fails signature "the ES384 signature does not verify with the key (EC P-384)"

begin "ES384 with a tampered signature: fails, exit 3"
dec_pinned --jwt "$(tamper_signature "$ES384")" --cert-publickey-file "$K/P-384.pub"
assert_check_fails signature "the ES384 signature does not verify with the key (EC P-384)"

begin "ES384 signed by another P-384 key: fails, exit 3"
tok=$(make_jwt ES384 "$K/other-P-384.key" '{"alg":"ES384","typ":"JWT"}' "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$K/P-384.pub"
assert_check_fails signature "the ES384 signature does not verify with the key (EC P-384)"

begin "ES256 signed by another P-256 key: fails, exit 3"
tok=$(make_jwt ES256 "$K/other-P-256.key" '{"alg":"ES256","typ":"JWT"}' "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$K/P-256.pub"
assert_check_fails signature "the ES256 signature does not verify with the key (EC P-256)"

# es_der ALG MD KEY: a token whose signature is openssl's DER, not R||S.
es_der() {
	local h p
	h=$(printf '{"alg":"%s","typ":"JWT"}' "$1" | b64url)
	p=$(printf '%s' "$PL" | b64url)
	printf '%s.%s' "$h" "$p" | openssl dgst "-$2" -sign "$3" -out "$K/der.sig"
	printf '%s.%s.%s' "$h" "$p" "$(b64url <"$K/der.sig")"
}

begin "ES384 with a DER signature instead of R||S: fails, exit 3"
tok=$(es_der ES384 sha384 "$K/P-384.key")
n=$(wc -c <"$K/der.sig")
dec_pinned --jwt "$tok" --cert-publickey-file "$K/P-384.pub"
assert_check_fails signature "the ES384 signature has $n bytes; it must have 96"

begin "ES256 with a DER signature instead of R||S: fails, exit 3"
tok=$(es_der ES256 sha256 "$K/P-256.key")
n=$(wc -c <"$K/der.sig")
dec_pinned --jwt "$tok" --cert-publickey-file "$K/P-256.pub"
assert_check_fails signature "the ES256 signature has $n bytes; it must have 64"

begin "RS256 vector with a P-256 key: fails, exit 3"
dec_pinned --jwt "$ALL" --cert-publickey-file "$K/P-256.pub"
assert_check_fails signature "alg 'RS256' does not fit the key (EC P-256); it takes ES256"
assert_check iat pass "issued at 2030-01-01T00:00:00Z"

begin "RS256 vector with a P-384 key (certificate): fails, exit 3"
dec_pinned --jwt "$ALL" --cert-publickey-file "$K/P-384.crt"
assert_check_fails signature "alg 'RS256' does not fit the key (EC P-384); it takes ES384"

begin "ES384 token with the RSA key: fails, exit 3"
dec_pinned --jwt "$ES384" --cert-publickey-file "$PUB"
assert_check_fails signature "alg 'ES384' $NOT_RS"

begin "ES256 token with the RSA certificate: fails, exit 3"
dec_pinned --jwt "$ES256" --cert-publickey-file "$VEC/publickey.cer"
assert_check_fails signature "alg 'ES256' $NOT_RS"

begin "HS384 made with the EC public key PEM as the HMAC secret: fails, exit 3"
tok=$(make_jwt HS384 "$K/P-384.pub" '{"alg":"HS384","typ":"JWT"}' "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$K/P-384.pub"
assert_check_fails signature "alg 'HS384' does not fit the key (EC P-384); it takes ES384"

begin "alg none with an EC key: fails, exit 3"
tok=$(make_jwt none "" '{"alg":"none","typ":"JWT"}' "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$K/P-384.pub" --json
assert_rc 3
if json_flatten "$OUT"; then
	assert_field .verification.status '"invalid"'
	assert_field .verification.checks.signature '{"result":"fail","detail":"alg '"'none'"' does not fit the key (EC P-384); it takes ES384"}'
fi

finish
