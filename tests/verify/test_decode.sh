#!/usr/bin/env bash
# qs-jwt decode: input, text and JSON output, malformed tokens, and the
# verification of RS tokens and their claims (signature, exp, nbf, iat, aud).
. "$(dirname "$0")/lib.sh"

D=$T_TMP/decode
mkdir -p "$D"
ALL=$(cat "$VEC/all-claims.jwt")
UNI=$(cat "$VEC/unicode.jwt")
PRIV=$VEC/privatekey.pem
PUB=$VEC/publickey.pem
HDR_RS256='{"alg":"RS256","typ":"JWT"}'

ALL_HEAD_PAYLOAD='Header:
{
  "alg": "RS256",
  "typ": "JWT"
}
Payload:
{
  "userId": "jdoe",
  "userDirectory": "ACME",
  "name": "John Doe",
  "email": "john.doe@example.com",
  "group": [
    "Sales",
    "Finance"
  ],
  "iat": 1893456000 (2030-01-01T00:00:00Z),
  "exp": 1893459600 (2030-01-01T01:00:00Z),
  "aud": "qlik-aud"
}'
NOT_CHECKED='Verification: NOT CHECKED: no key was given, so the signature and the claims were not verified
(use --cert-publickey-file, --cert-publickey or --pkcs11-uri)'
ALL_NO_KEY="$ALL_HEAD_PAYLOAD
$NOT_CHECKED"

SIG_OK='RS256 signature verified with the key (RSA 2048 bits)'
SIG_BAD='the RS256 signature does not verify with the key (RSA 2048 bits)'
NOT_RS='does not fit the key (RSA 2048 bits); it takes RS256, RS384 or RS512'

# ---- input ------------------------------------------------------------------------

begin "no key, --jwt: header and payload indented, times in ISO-8601, not checked, exit 0"
dec --jwt "$ALL"
assert_rc 0
assert_stdout_is "$ALL_NO_KEY"
assert_empty_stderr

begin "no key, --jwt-file FILE: the same bytes"
dec --jwt-file "$VEC/all-claims.jwt"
assert_rc 0
assert_stdout_is "$ALL_NO_KEY"
assert_empty_stderr

begin "no key, --jwt-file - reads standard input: the same bytes"
dec_stdin "$VEC/all-claims.jwt" --jwt-file -
assert_rc 0
assert_stdout_is "$ALL_NO_KEY"
assert_empty_stderr

begin "surrounding whitespace around --jwt is ignored"
dec --jwt $' \t\n'"$ALL"$'\r\n \n'
assert_rc 0
assert_stdout_is "$ALL_NO_KEY"

begin "surrounding whitespace in --jwt-file (blank lines, CRLF) is ignored"
printf '\n\n  %s\r\n\r\n' "$ALL" >"$D/ws.jwt"
dec --jwt-file "$D/ws.jwt"
assert_rc 0
assert_stdout_is "$ALL_NO_KEY"

begin "surrounding whitespace on standard input is ignored"
dec_stdin "$D/ws.jwt" --jwt-file -
assert_rc 0
assert_stdout_is "$ALL_NO_KEY"

begin "unicode vector: UTF-8 text shown as it is"
dec --jwt "$UNI"
assert_rc 0
assert_stdout_is 'Header:
{
  "alg": "RS256",
  "typ": "JWT"
}
Payload:
{
  "userId": "göran",
  "userDirectory": "ÅÄÖ",
  "name": "Göran Sandér",
  "email": "göran@exämple.se",
  "group": [
    "Ünïcødé 😀",
    "日本語"
  ],
  "iat": 1893456000 (2030-01-01T00:00:00Z),
  "exp": 1893459600 (2030-01-01T01:00:00Z),
  "aud": "aüd"
}'"
$NOT_CHECKED"

begin "no key: nbf gets its ISO-8601 time too; the token's member order is kept"
T_NBF=$(make_jwt RS256 "$PRIV" "$HDR_RS256" '{"sub":"s","nbf":1893456060,"exp":1893459600,"iat":1893455999,"n":1.5,"b":true,"z":null,"o":{"iat":5},"e":[]}')
dec --jwt "$T_NBF"
assert_rc 0
assert_stdout_is 'Header:
{
  "alg": "RS256",
  "typ": "JWT"
}
Payload:
{
  "sub": "s",
  "nbf": 1893456060 (2030-01-01T00:01:00Z),
  "exp": 1893459600 (2030-01-01T01:00:00Z),
  "iat": 1893455999 (2029-12-31T23:59:59Z),
  "n": 1.5,
  "b": true,
  "z": null,
  "o": {
    "iat": 5
  },
  "e": []
}'"
$NOT_CHECKED"

begin "usage: neither --jwt nor --jwt-file"
dec --cert-publickey-file "$PUB"
assert_usage_error_of decode "give exactly one of --jwt and --jwt-file"

begin "usage: both --jwt and --jwt-file"
dec --jwt "$ALL" --jwt-file "$VEC/all-claims.jwt"
assert_usage_error_of decode "give exactly one of --jwt and --jwt-file"

begin "usage: --jwt and --jwt-file - together"
dec_stdin "$VEC/all-claims.jwt" --jwt "$ALL" --jwt-file -
assert_usage_error_of decode "give exactly one of --jwt and --jwt-file"

begin "usage: --expected-audience without a key"
dec --jwt "$ALL" --expected-audience qlik-aud
assert_usage_error_of decode "--expected-audience needs a key"

begin "usage: --clock-skew not a whole number of seconds"
for bad in -5 abc 1.5 '' 10s 31557601; do
	dec --jwt "$ALL" --cert-publickey-file "$PUB" --clock-skew "$bad"
	assert_usage_error_of decode "--clock-skew must be a whole number of seconds"
done

begin "--jwt-file that does not exist: exit 1, nothing on stdout"
dec --jwt-file "$D/nonexistent.jwt"
assert_rc 1
assert_empty_stdout
assert_log ERROR "nonexistent.jwt"

# ---- malformed tokens ---------------------------------------------------------------

H=$(printf '%s' "$HDR_RS256" | b64url)
P=$(printf '{"sub":"x"}' | b64url)
S=$(printf 'sig' | b64url)

# malformed NAME TOKEN MESSAGE: --jwt, --jwt-file and --json all exit 1 with
# MESSAGE and nothing on stdout.
malformed() {
	begin "malformed: $1"
	dec --jwt "$2"
	assert_runtime_error "malformed token: $3"
	printf '%s\n' "$2" >"$D/bad.jwt"
	dec --jwt-file "$D/bad.jwt" --json
	assert_runtime_error "malformed token: $3"
	dec --jwt "$2" --cert-publickey-file "$PUB" --minimal-output
	assert_runtime_error "malformed token: $3"
}

malformed "empty" "" "it is empty"
malformed "whitespace only" $' \n\t ' "it is empty"
malformed "one part" "$H" "it has 1 part separated by '.'; a signed JWT has three (header.payload.signature)"
malformed "two parts" "$H.$P" "it has 2 parts separated by '.'; a signed JWT has three"
malformed "four parts" "$H.$P.$S.$S" "it has 4 parts separated by '.'; a signed JWT has three"
malformed "five parts is a JWE" "$H.$P.$S.$S.$S" "it has five parts, so it is a JWE (an encrypted token)"
malformed "six parts" "$H.$P.$S.$S.$S.$S" "it has more than 5 parts separated by '.'"
malformed "header not base64url ('+')" "${H:0:5}+${H:6}.$P.$S" "the header is not valid base64url"
malformed "header with padding '='" "$(printf '{"alg":"RS25"}' | base64 -w0).$P.$S" "the header is not valid base64url"
malformed "payload not base64url ('/')" "$H.${P:0:3}/${P:4}.$S" "the payload is not valid base64url"
malformed "payload not base64url ('*')" "$H.$P*.$S" "the payload is not valid base64url"
malformed "signature not base64url (' ' inside)" "$H.$P.${S:0:2} ${S:2}" "the signature is not valid base64url"
malformed "signature with a 4n+1 length" "$H.$P.${S}A" "the signature is not valid base64url"
malformed "header is a JSON array" "$(printf '["RS256"]' | b64url).$P.$S" "the header is not a JSON object"
malformed "header is not JSON" "$(printf 'alg=RS256' | b64url).$P.$S" "the header is not a JSON object"
malformed "header is empty" ".$P.$S" "the header is not a JSON object"
malformed "payload is a JSON string" "$H.$(printf '"sub"' | b64url).$S" "the payload is not a JSON object"
malformed "payload is a number" "$H.$(printf '42' | b64url).$S" "the payload is not a JSON object"
malformed "payload with text after the object" "$H.$(printf '{"sub":"x"} x' | b64url).$S" "the payload is not a JSON object"
malformed "payload is two objects" "$H.$(printf '{"a":1}{"b":2}' | b64url).$S" "the payload is not a JSON object"
malformed "payload is truncated JSON" "$H.$(printf '{"sub":"x"' | b64url).$S" "the payload is not a JSON object"
malformed "header with a duplicate member" "$(printf '{"alg":"RS256","typ":"JWT","alg":"none"}' | b64url).$P.$S" "the header has the member 'alg' twice"
malformed "payload with a duplicate member" "$H.$(printf '{"sub":"a","aud":"x","sub":"b"}' | b64url).$S" "the payload has the member 'sub' twice"
malformed "payload not UTF-8" "$H.$(printf '{"sub":"\xff\xfe"}' | b64url).$S" "the payload is not valid UTF-8"

# A token of exactly N bytes: the RS256 header, a payload padded to fit, and
# signature "sig".
token_of_length() {
	"$PY" - "$1" "$H" "$S" <<'EOF'
import base64, sys
n, h, s = int(sys.argv[1]), sys.argv[2], sys.argv[3]
est = max(0, (n - len(h) - len(s) - 2) * 3 // 4 - 10)
for pad in range(max(0, est - 8), n):
    p = base64.urlsafe_b64encode(('{"pad":"%s"}' % ("x" * pad)).encode()).rstrip(b"=").decode()
    t = "%s.%s.%s" % (h, p, s)
    if len(t) == n:
        print(t, end=""); break
    if len(t) > n:
        sys.exit("cannot make a token of %d bytes" % n)
EOF
}

begin "a token of exactly 64 KiB decodes"
token_of_length 65536 >"$D/64k.jwt"
assert_eq 65536 "$(wc -c <"$D/64k.jwt")" "size of the 64 KiB token"
dec --jwt-file "$D/64k.jwt"
assert_rc 0
assert_contains "$OUT" '  "pad": "xxxxxxxx'
assert_empty_stderr
assert_contains "$OUT" "$NOT_CHECKED"

begin "a token one byte over 64 KiB: malformed, exit 1"
token_of_length 65537 >"$D/64k1.jwt"
assert_eq 65537 "$(wc -c <"$D/64k1.jwt")" "size of the token"
dec --jwt-file "$D/64k1.jwt"
assert_runtime_error "malformed token: it is larger than 64 KiB"
dec_stdin "$D/64k1.jwt" --jwt-file - --json
assert_runtime_error "malformed token: it is larger than 64 KiB"

begin "a token one byte over 64 KiB given with --jwt: exit 1 (malformed input), nothing on stdout"
dec --jwt "$(cat "$D/64k1.jwt")"
assert_rc 1
assert_empty_stdout
assert_contains "$ERR" "64 KiB"

begin "a 64 KiB token with whitespace around it in a file still decodes"
{ printf '\n%.0s' $(seq 1 100); cat "$D/64k.jwt"; printf ' \n%.0s' $(seq 1 100); } >"$D/64k-ws.jwt"
dec --jwt-file "$D/64k-ws.jwt"
assert_rc 0
assert_contains "$OUT" "$NOT_CHECKED"

begin "a 1 MiB JWT file: exit 1, nothing on stdout"
head -c 1048576 /dev/zero | tr '\0' 'A' >"$D/1m.jwt"
dec --jwt-file "$D/1m.jwt"
assert_rc 1
assert_empty_stdout
assert_log ERROR "larger than"

# ---- verification: signature --------------------------------------------------------

begin "vector all-claims with publickey.pem under the pinned clock: exit 0, every check named"
dec_pinned --jwt "$ALL" --cert-publickey-file "$PUB"
assert_rc 0
assert_stdout_is "$ALL_HEAD_PAYLOAD
Verification: valid
  signature pass   $SIG_OK
  exp       pass   expires at 2030-01-01T01:00:00Z
  nbf       absent no 'nbf' claim
  iat       pass   issued at 2030-01-01T00:00:00Z"
assert_empty_stderr

begin "vector all-claims without faketime: iat lies in the future, exit 3"
dec --jwt "$ALL" --cert-publickey-file "$PUB"
assert_check_fails iat "issued in the future, at 2030-01-01T00:00:00Z"
assert_check signature pass "$SIG_OK"
assert_check exp pass "expires at 2030-01-01T01:00:00Z"
assert_contains "$OUT" "$ALL_HEAD_PAYLOAD"
assert_log ERROR "verification failed: issued in the future, at 2030-01-01T00:00:00Z"

begin "vector unicode without faketime: exit 3, iat failing"
dec --jwt "$UNI" --cert-publickey-file "$PUB"
assert_check_fails iat "issued in the future, at 2030-01-01T00:00:00Z"
assert_check signature pass "$SIG_OK"

begin "tampered payload: signature fails, exit 3"
dec_pinned --jwt "$(tamper_payload "$ALL" '"userId":"jdoe"' '"userId":"root"')" --cert-publickey-file "$PUB"
assert_check_fails signature "$SIG_BAD"
assert_contains "$OUT" '"userId": "root"'
assert_check exp pass "expires at 2030-01-01T01:00:00Z"
assert_check iat pass "issued at 2030-01-01T00:00:00Z"
assert_log ERROR "verification failed: $SIG_BAD"

begin "tampered payload (one byte of aud): signature fails, exit 3"
dec_pinned --jwt "$(tamper_payload "$ALL" qlik-aud qlik-auc)" --cert-publickey-file "$PUB" \
	--expected-audience qlik-auc
assert_check_fails signature "$SIG_BAD"
assert_check aud pass "audience 'qlik-auc'"

begin "tampered header (alg kept, member added): signature fails, exit 3"
H2=$(printf '{"alg":"RS256","typ":"JWT","kid":"x"}' | b64url)
dec_pinned --jwt "$H2.${ALL#*.}" --cert-publickey-file "$PUB"
assert_check_fails signature "$SIG_BAD"

begin "tampered signature: signature fails, exit 3"
dec_pinned --jwt "$(tamper_signature "$ALL")" --cert-publickey-file "$PUB"
assert_check_fails signature "$SIG_BAD"

begin "signature cut short: signature fails, exit 3"
dec_pinned --jwt "${ALL%????}" --cert-publickey-file "$PUB"
assert_check_fails signature "$SIG_BAD"

begin "empty signature: signature fails, exit 3"
dec_pinned --jwt "${ALL%.*}." --cert-publickey-file "$PUB"
assert_check_fails signature "$SIG_BAD"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/other.pem" 2>/dev/null
openssl pkey -in "$D/other.pem" -pubout -out "$D/other.pub"

begin "wrong key: signature fails, exit 3"
dec_pinned --jwt "$ALL" --cert-publickey-file "$D/other.pub"
assert_check_fails signature "$SIG_BAD"
assert_check iat pass "issued at 2030-01-01T00:00:00Z"

begin "token made with another key, checked with the vector key: exit 3"
dec_pinned --jwt "$(make_jwt RS256 "$D/other.pem" "$HDR_RS256" "$(jwt_payload "$ALL")")" \
	--cert-publickey-file "$PUB"
assert_check_fails signature "$SIG_BAD"

begin "RS384 and RS512 tokens verify (exit 0)"
PL='{"sub":"s","iat":1893456000,"exp":1893459600}'
for alg in RS384 RS512; do
	tok=$(make_jwt "$alg" "$PRIV" "{\"alg\":\"$alg\",\"typ\":\"JWT\"}" "$PL")
	assert_openssl_verifies "$tok" "$PUB" "$alg"
	dec_pinned --jwt "$tok" --cert-publickey-file "$PUB"
	assert_all_pass
	assert_check signature pass "$alg signature verified with the key (RSA 2048 bits)"
done

begin "RS512 header on an RS256 signature: signature fails"
tok=$(make_jwt RS256 "$PRIV" "$HDR_RS256" "$PL")
h512=$(printf '{"alg":"RS512","typ":"JWT"}' | b64url)
dec_pinned --jwt "$h512.${tok#*.}" --cert-publickey-file "$PUB"
assert_check_fails signature "the RS512 signature does not verify with the key (RSA 2048 bits)"

begin "alg none (empty signature, the vector's payload): fails, exit 3"
tok=$(make_jwt none "" '{"alg":"none","typ":"JWT"}' "$(jwt_payload "$ALL")")
assert_eq "." "${tok: -1}" "the alg none token ends with '.'"
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB"
assert_check_fails signature "alg 'none' $NOT_RS"

begin "alg none with the original signature kept: fails, exit 3"
hnone=$(printf '{"alg":"none","typ":"JWT"}' | b64url)
dec_pinned --jwt "$hnone.${ALL#*.}" --cert-publickey-file "$PUB"
assert_check_fails signature "alg 'none' $NOT_RS"

begin "alg 'None' (case): fails"
tok=$(make_jwt none "" '{"alg":"None","typ":"JWT"}' "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB"
assert_check_fails signature "alg 'None' $NOT_RS"

begin "HS256 made with publickey.pem as the HMAC secret: fails, exit 3"
tok=$(make_jwt HS256 "$PUB" '{"alg":"HS256","typ":"JWT"}' "$(jwt_payload "$ALL")")
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB"
assert_check_fails signature "alg 'HS256' $NOT_RS"
dec_pinned --jwt "$tok" --cert-publickey-file "$VEC/publickey.cer"
assert_check_fails signature "alg 'HS256' $NOT_RS"

begin "HS256 made with publickey.cer as the HMAC secret, checked against the certificate: fails"
tok=$(make_jwt HS256 "$VEC/publickey.cer" '{"alg":"HS256","typ":"JWT"}' "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$VEC/publickey.cer"
assert_check_fails signature "alg 'HS256' $NOT_RS"

begin "HS512 with the public key: fails"
tok=$(make_jwt HS512 "$PUB" '{"alg":"HS512","typ":"JWT"}' "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB"
assert_check_fails signature "alg 'HS512' $NOT_RS"

begin "header without alg: fails"
tok=$(make_jwt RS256 "$PRIV" '{"typ":"JWT"}' "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB"
assert_check_fails signature "the header has no 'alg' string"

begin "alg not a string: fails"
tok=$(make_jwt RS256 "$PRIV" '{"alg":256,"typ":"JWT"}' "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB"
assert_check_fails signature "the header has no 'alg' string"

begin "header with crit: fails even though the signature is good"
tok=$(make_jwt RS256 "$PRIV" '{"alg":"RS256","typ":"JWT","crit":["exp"]}' "$PL")
assert_openssl_verifies "$tok" "$PUB" RS256
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB"
assert_check_fails signature "the header has 'crit' extensions, which qs-jwt does not understand"

begin "RSA key of 1024 bits: fails"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$D/rsa1024.pem" 2>/dev/null
openssl pkey -in "$D/rsa1024.pem" -pubout -out "$D/rsa1024.pub"
tok=$(make_jwt RS256 "$D/rsa1024.pem" "$HDR_RS256" "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$D/rsa1024.pub"
assert_check_fails signature "the RSA key has 1024 bits; RS algorithms need 2048 or more (RFC 7518 section 3.3)"

# ---- verification: claims -------------------------------------------------------------

begin "audience: --expected-audience equal to aud passes"
dec_pinned --jwt "$ALL" --cert-publickey-file "$PUB" --expected-audience qlik-aud
assert_all_pass
assert_check aud pass "audience 'qlik-aud'"

begin "audience: unicode aud matches --expected-audience aüd"
dec_pinned --jwt "$UNI" --cert-publickey-file "$PUB" --expected-audience aüd
assert_all_pass
assert_check aud pass "audience 'aüd'"

begin "audience: wrong audience fails, exit 3"
dec_pinned --jwt "$ALL" --cert-publickey-file "$PUB" --expected-audience other-aud
assert_check_fails aud "audience 'qlik-aud', expected 'other-aud'"
assert_check signature pass "$SIG_OK"
assert_log ERROR "verification failed: audience 'qlik-aud', expected 'other-aud'"

begin "audience: compared exactly (case, prefix, unicode normal form)"
for want in QLIK-AUD qlik qlik-aud- ' qlik-aud'; do
	dec_pinned --jwt "$ALL" --cert-publickey-file "$PUB" --expected-audience "$want"
	assert_check_fails aud "audience 'qlik-aud', expected '$want'"
done
dec_pinned --jwt "$UNI" --cert-publickey-file "$PUB" --expected-audience $'au\xcc\x88d'
assert_check_fails aud "audience 'aüd', expected '"$'au\xcc\x88d'"'"

begin "audience: an aud array holding the expected audience passes"
tok=$(make_jwt RS256 "$PRIV" "$HDR_RS256" '{"sub":"s","iat":1893456000,"exp":1893459600,"aud":["other","qlik-aud"]}')
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB" --expected-audience qlik-aud
assert_all_pass
assert_check aud pass "audience list holds 'qlik-aud'"

begin "audience: an aud array without the expected audience fails"
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB" --expected-audience qlik
assert_check_fails aud "audience list does not hold 'qlik'"

begin "audience: no aud claim fails when an audience is expected"
tok=$(make_jwt RS256 "$PRIV" "$HDR_RS256" "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB" --expected-audience qlik-aud
assert_check_fails aud "no 'aud' claim; expected 'qlik-aud'"

begin "audience: aud a number fails"
tok=$(make_jwt RS256 "$PRIV" "$HDR_RS256" '{"iat":1893456000,"exp":1893459600,"aud":7}')
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB" --expected-audience 7
assert_check_fails aud "'aud' is neither a string nor an array"

begin "audience: without --expected-audience aud is not checked"
dec_pinned --jwt "$ALL" --cert-publickey-file "$PUB"
assert_all_pass
assert_no_check aud

begin "expired: exactly at exp, exit 3"
dec_at '2030-01-01 01:00:00' --jwt "$ALL" --cert-publickey-file "$PUB"
assert_check_fails exp "expired at 2030-01-01T01:00:00Z"
assert_check signature pass "$SIG_OK"
assert_check iat pass "issued at 2030-01-01T00:00:00Z"

begin "expired: a day later, exit 3"
dec_at '2030-01-02 00:00:00' --jwt "$UNI" --cert-publickey-file "$PUB"
assert_check_fails exp "expired at 2030-01-01T01:00:00Z"

begin "not expired: 30 s before exp, exit 0"
dec_at '2030-01-01 00:59:30' --jwt "$ALL" --cert-publickey-file "$PUB"
assert_all_pass
assert_check exp pass "expires at 2030-01-01T01:00:00Z"

begin "--clock-skew 60 makes a token expired 30 s ago pass"
dec_at '2030-01-01 01:00:30' --jwt "$ALL" --cert-publickey-file "$PUB" --clock-skew 60
assert_all_pass
assert_check exp pass "expires at 2030-01-01T01:00:00Z"

begin "--clock-skew 10 does not: the token expired 30 s ago fails"
dec_at '2030-01-01 01:00:30' --jwt "$ALL" --cert-publickey-file "$PUB" --clock-skew 10
assert_check_fails exp "expired at 2030-01-01T01:00:00Z"

begin "--clock-skew 0 (the default, given): expired fails"
dec_at '2030-01-01 01:00:30' --jwt "$ALL" --cert-publickey-file "$PUB" --clock-skew 0
assert_check_fails exp "expired at 2030-01-01T01:00:00Z"

begin "issued in the future (60 s ahead): iat fails, exit 3"
dec_at '2029-12-31 23:59:00' --jwt "$ALL" --cert-publickey-file "$PUB"
assert_check_fails iat "issued in the future, at 2030-01-01T00:00:00Z"
assert_check exp pass "expires at 2030-01-01T01:00:00Z"

begin "--clock-skew 120 makes a token issued 60 s ahead pass"
dec_at '2029-12-31 23:59:00' --jwt "$ALL" --cert-publickey-file "$PUB" --clock-skew 120
assert_all_pass
assert_check iat pass "issued at 2030-01-01T00:00:00Z"

begin "--clock-skew 30 does not: issued 60 s ahead fails"
dec_at '2029-12-31 23:59:00' --jwt "$ALL" --cert-publickey-file "$PUB" --clock-skew 30
assert_check_fails iat "issued in the future, at 2030-01-01T00:00:00Z"

# A create-qscloud token issued at 2030-06-01T00:00:00Z: nbf = iat.
run_at '2030-06-01 00:00:00' "$QSJWT_BIN" create-qscloud --issuer iss --keyid kid --sub jdoe \
	--expires 1h --cert-privatekey-file "$PRIV" --minimal-output
QSC_RC=$RC
QSC=$(cat "$OUT")

begin "not yet valid: a create-qscloud token (nbf = iat) checked 10 min early, exit 3"
assert_eq 0 "$QSC_RC" "exit code of create-qscloud"
assert_contains <(jwt_payload "$QSC") '"iat":1906502400,"nbf":1906502400,"exp":1906506000'
dec_at '2030-05-31 23:50:00' --jwt "$QSC" --cert-publickey-file "$PUB"
assert_check_fails nbf "not valid before 2030-06-01T00:00:00Z"
assert_check iat fail "issued in the future, at 2030-06-01T00:00:00Z"
assert_check signature pass "$SIG_OK"
assert_check exp pass "expires at 2030-06-01T01:00:00Z"
assert_log ERROR "verification failed: not valid before 2030-06-01T00:00:00Z"

begin "not yet valid: --clock-skew 900 lets it pass; at its time it passes without"
dec_at '2030-05-31 23:50:00' --jwt "$QSC" --cert-publickey-file "$PUB" --clock-skew 900
assert_all_pass
assert_check nbf pass "valid since 2030-06-01T00:00:00Z"
dec_at '2030-06-01 00:00:00' --jwt "$QSC" --cert-publickey-file "$PUB"
assert_all_pass
assert_check nbf pass "valid since 2030-06-01T00:00:00Z"
assert_check iat pass "issued at 2030-06-01T00:00:00Z"

begin "not yet valid: nbf in the future alone fails (iat in the past)"
tok=$(make_jwt RS256 "$PRIV" "$HDR_RS256" '{"sub":"s","iat":1893452400,"nbf":1893456600,"exp":1893459600}')
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB"
assert_check_fails nbf "not valid before 2030-01-01T00:10:00Z"
assert_check iat pass "issued at 2029-12-31T23:00:00Z"
assert_check exp pass "expires at 2030-01-01T01:00:00Z"
assert_eq 1 "$(grep -cE '^  [a-z]+ +fail ' "$OUT")" "number of failing checks"

begin "claims: exp, nbf, iat that are not numbers fail"
tok=$(make_jwt RS256 "$PRIV" "$HDR_RS256" '{"iat":"1893456000","nbf":null,"exp":"never"}')
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB"
assert_check_fails exp "'exp' is not a number"
assert_check nbf fail "'nbf' is not a number"
assert_check iat fail "'iat' is not a number"
assert_check signature pass "$SIG_OK"

begin "claims: none of exp, nbf, iat present: all absent, signature alone decides (exit 0)"
tok=$(make_jwt RS256 "$PRIV" "$HDR_RS256" '{"sub":"s"}')
dec --jwt "$tok" --cert-publickey-file "$PUB"
assert_all_pass
assert_check exp absent "no 'exp' claim"
assert_check nbf absent "no 'nbf' claim"
assert_check iat absent "no 'iat' claim"

begin "several failures: all named, exit 3"
dec_at '2030-01-02 00:00:00' --jwt "$(tamper_signature "$ALL")" --cert-publickey-file "$PUB" \
	--expected-audience nope
assert_check_fails signature "$SIG_BAD"
assert_check exp fail "expired at 2030-01-01T01:00:00Z"
assert_check aud fail "audience 'qlik-aud', expected 'nope'"
assert_log ERROR "verification failed: $SIG_BAD"

# ---- --json / --minimal-output --------------------------------------------------------

begin "--json without a key: one object, status not-checked, header and payload as in the token"
dec --jwt "$ALL" --json
assert_rc 0
assert_empty_stderr
if json_flatten "$OUT"; then
	assert_field '.{}' 'header,payload,verification'
	assert_field .header "$(jwt_header "$ALL")"
	assert_field .payload "$(jwt_payload "$ALL")"
	assert_field .payload.iat 1893456000
	assert_field .payload.group '["Sales","Finance"]'
	assert_field .verification.status '"not-checked"'
	assert_field .verification.algorithm null
	assert_field .verification.checks '{}'
	assert_field .verification.reason '"no key given: signature not checked"'
	assert_field '.verification.{}' 'status,algorithm,checks,reason'
fi

begin "--json, valid: status, algorithm, every check with result and detail, reason null"
dec_pinned --jwt "$ALL" --cert-publickey-file "$PUB" --expected-audience qlik-aud --json
assert_rc 0
assert_empty_stderr
if json_flatten "$OUT"; then
	assert_field '.{}' 'header,payload,verification'
	assert_field .header '{"alg":"RS256","typ":"JWT"}'
	assert_field .payload "$(jwt_payload "$ALL")"
	assert_field .verification.status '"valid"'
	assert_field .verification.algorithm '"RS256"'
	assert_field '.verification.checks.{}' 'signature,exp,nbf,iat,aud'
	assert_field .verification.checks.signature "{\"result\":\"pass\",\"detail\":\"$SIG_OK\"}"
	assert_field .verification.checks.exp '{"result":"pass","detail":"expires at 2030-01-01T01:00:00Z"}'
	assert_field .verification.checks.nbf "{\"result\":\"absent\",\"detail\":\"no 'nbf' claim\"}"
	assert_field .verification.checks.iat '{"result":"pass","detail":"issued at 2030-01-01T00:00:00Z"}'
	assert_field .verification.checks.aud "{\"result\":\"pass\",\"detail\":\"audience 'qlik-aud'\"}"
	assert_field .verification.reason null
fi

begin "--json, unicode vector: payload strings kept"
dec_pinned --jwt "$UNI" --cert-publickey-file "$PUB" --json
assert_rc 0
if json_flatten "$OUT"; then
	assert_field .payload "$(jwt_payload "$UNI")"
	assert_field .payload.name '"Göran Sandér"'
	assert_field .payload.group '["Ünïcødé 😀","日本語"]'
	assert_field .verification.status '"valid"'
fi

begin "--json, invalid (iat in the future): exit 3, status invalid, reason the failing check"
dec --jwt "$ALL" --cert-publickey-file "$PUB" --json
assert_rc 3
if json_flatten "$OUT"; then
	assert_field .verification.status '"invalid"'
	assert_field .verification.algorithm '"RS256"'
	assert_field .verification.checks.iat '{"result":"fail","detail":"issued in the future, at 2030-01-01T00:00:00Z"}'
	assert_field .verification.checks.signature.result '"pass"'
	assert_field .verification.reason '"issued in the future, at 2030-01-01T00:00:00Z"'
	assert_field .payload "$(jwt_payload "$ALL")"
	assert_no_field .verification.checks.aud
fi

begin "--json, tampered signature and wrong audience: both fail, reason the signature"
dec_pinned --jwt "$(tamper_signature "$ALL")" --cert-publickey-file "$PUB" --expected-audience x --json
assert_rc 3
if json_flatten "$OUT"; then
	assert_field .verification.status '"invalid"'
	assert_field .verification.checks.signature "{\"result\":\"fail\",\"detail\":\"$SIG_BAD\"}"
	assert_field .verification.checks.aud "{\"result\":\"fail\",\"detail\":\"audience 'qlik-aud', expected 'x'\"}"
	assert_field .verification.checks.exp.result '"pass"'
	assert_field .verification.reason "\"$SIG_BAD\""
fi

begin "--json, alg none: algorithm as in the header, signature fails"
tok=$(make_jwt none "" '{"alg":"none","typ":"JWT"}' "$PL")
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB" --json
assert_rc 3
if json_flatten "$OUT"; then
	assert_field .header '{"alg":"none","typ":"JWT"}'
	assert_field .verification.status '"invalid"'
	assert_field .verification.algorithm '"none"'
	assert_field .verification.checks.signature.result '"fail"'
	assert_field .verification.checks.signature.detail "\"alg 'none' $NOT_RS\""
	assert_field .verification.reason "\"alg 'none' $NOT_RS\""
fi

begin "--json, nbf not yet valid: nbf fails, other checks pass"
tok=$(make_jwt RS256 "$PRIV" "$HDR_RS256" '{"sub":"s","iat":1893452400,"nbf":1893456600,"exp":1893459600}')
dec_pinned --jwt "$tok" --cert-publickey-file "$PUB" --json
assert_rc 3
if json_flatten "$OUT"; then
	assert_field .verification.checks.nbf '{"result":"fail","detail":"not valid before 2030-01-01T00:10:00Z"}'
	assert_field .verification.checks.iat '{"result":"pass","detail":"issued at 2029-12-31T23:00:00Z"}'
	assert_field .verification.reason '"not valid before 2030-01-01T00:10:00Z"'
	assert_field .payload.nbf 1893456600
fi

begin "--minimal-output prints the same bytes as --json"
dec_pinned --jwt "$ALL" --cert-publickey-file "$PUB" --json
cp "$OUT" "$D/json.out"
dec_pinned --jwt "$ALL" --cert-publickey-file "$PUB" --minimal-output
assert_rc 0
assert_file_eq "$D/json.out" "$OUT"
dec --jwt "$ALL" --minimal-output
cp "$OUT" "$D/min-nokey.out"
dec --jwt "$ALL" --json
assert_file_eq "$D/min-nokey.out" "$OUT"

begin "--json from standard input, with whitespace"
dec_stdin "$D/ws.jwt" --jwt-file - --json
assert_rc 0
if json_flatten "$OUT"; then
	assert_field .payload "$(jwt_payload "$ALL")"
	assert_field .verification.status '"not-checked"'
fi

finish
