#!/usr/bin/env bash
# qs-jwt create-qscloud: header and payload byte for byte (jti/sub
# substituted) under a pinned clock, member order and types, random jti/sub,
# options and their usage errors, and signing with a file key, a new key and
# a SoftHSM2 key; every token verified by decode and by openssl.
. "$(dirname "$0")/lib.sh"

Q=$T_TMP/qsc
mkdir -p "$Q"
PRIV=$VEC/privatekey.pem
PUB=$VEC/publickey.pem
AUD=qlik.api/login/jwt-session
B64URL_RE='[A-Za-z0-9_-]'
FULL=(--issuer my-issuer --keyid my-key --sub jdoe --username 'John Doe'
	--useremail jdoe@example.com --useremail-verified true --groups Sales Finance --expires 60m)
REQ=(--issuer my-issuer --keyid my-key --expires 60m)

# in_dir DIR CMD...: CMD run in DIR (not in a subshell, so RC is kept).
in_dir() {
	local back=$PWD
	cd "$1" || return 1
	shift
	"$@"
	cd "$back" || return 1
}

# payload_json: the payload of $TOKEN, into $Q/payload (one line).
payload_file() {
	jwt_payload "$TOKEN" >"$Q/payload"
	printf '\n' >>"$Q/payload"
}

# take_jti: JTI from the payload of $TOKEN (and checks its form: 43
# base64url characters, 32 bytes).
take_jti() {
	JTI=$(jwt_payload "$TOKEN" | sed -n 's/^{"jti":"\([^"]*\)".*/\1/p')
	assert_match "^$B64URL_RE{43}\$" "$JTI" "jti"
	assert_eq 32 "$(b64url_decode "$JTI" | wc -c)" "bytes of the jti"
}

# assert_verified ALG PUBFILE [IAT_ISO EXP_ISO]: the token in $TOKEN passes
# decode --cert-publickey-file (under the pinned clock, with every check
# listed) and openssl dgst -verify.
assert_verified() {
	local alg=$1 pub=$2 iat=${3:-2030-01-01T00:00:00Z} exp=${4:-2030-01-01T01:00:00Z}
	local tok=$TOKEN
	assert_openssl_verifies "$tok" "$pub" "$alg"
	run_at "$(date -u -d "$iat" '+%Y-%m-%d %H:%M:%S')" "$QSJWT_BIN" decode --jwt "$tok" \
		--cert-publickey-file "$pub" --expected-audience "$AUD"
	assert_all_pass
	assert_check signature pass "$alg signature verified with the key (RSA 2048 bits)"
	assert_check exp pass "expires at $exp"
	assert_check nbf pass "valid since $iat"
	assert_check iat pass "issued at $iat"
	assert_check aud pass "audience '$AUD'"
	TOKEN=$tok
}

# ---- every claim ------------------------------------------------------------------------

begin "every claim: header and payload byte for byte under the pinned clock"
qsc_pinned "${FULL[@]}" --cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
assert_eq '{"alg":"RS256","typ":"JWT","kid":"my-key"}' "$(jwt_header "$TOKEN")" "header"
take_jti
assert_eq "{\"jti\":\"$JTI\",\"sub\":\"jdoe\",\"subType\":\"user\",\"name\":\"John Doe\",\"email\":\"jdoe@example.com\",\"groups\":[\"Sales\",\"Finance\"],\"email_verified\":true,\"iat\":1893456000,\"nbf\":1893456000,\"exp\":1893459600,\"aud\":\"$AUD\",\"iss\":\"my-issuer\"}" \
	"$(jwt_payload "$TOKEN")" "payload"
assert_log INFO "JWT for subject 'jdoe' signed RS256 (kid 'my-key')"
assert_no_log_level WARN
assert_no_log_level ERROR
FULL_TOKEN=$TOKEN

begin "every claim: member order and JSON types"
TOKEN=$FULL_TOKEN
payload_file
if json_flatten "$Q/payload"; then
	assert_field '.{}' 'jti,sub,subType,name,email,groups,email_verified,iat,nbf,exp,aud,iss'
	assert_field .jti "\"$JTI\""
	assert_field .subType '"user"'
	assert_field .groups '["Sales","Finance"]'
	assert_field .email_verified true
	assert_field .iat 1893456000
	assert_field .nbf 1893456000
	assert_field .exp 1893459600
	assert_field .aud "\"$AUD\""
	assert_field .iss '"my-issuer"'
fi
"$PY" -c '
import json, sys
p = json.loads(open(sys.argv[1]).read())
assert type(p["email_verified"]) is bool, "email_verified is not a boolean"
assert type(p["groups"]) is list, "groups is not an array"
assert "group" not in p, "a group claim (ignored by Qlik Cloud) is there"
for k in ("iat", "nbf", "exp"):
    assert type(p[k]) is int, k + " is not an integer"
for k in ("jti", "sub", "subType", "name", "email", "aud", "iss"):
    assert type(p[k]) is str, k + " is not a string"
' "$Q/payload" 2>"$Q/py.err" || fail "types: $(tail -1 "$Q/py.err")"

begin "every claim: verified by decode (all checks) and by openssl"
TOKEN=$FULL_TOKEN
assert_verified RS256 "$PUB"
assert_verified RS256 "$VEC/publickey.cer"

begin "every claim: the RS256 signature is exactly openssl's over header.payload"
printf '%s' "${FULL_TOKEN%.*}" | openssl dgst -sha256 -sign "$PRIV" | b64url >"$Q/sig"
assert_eq "$(cat "$Q/sig")" "${FULL_TOKEN##*.}" "signature"

begin "every claim: decode --json shows header, payload and a valid verification"
dec_pinned --jwt "$FULL_TOKEN" --cert-publickey-file "$PUB" --json
assert_rc 0
if json_flatten "$OUT"; then
	assert_field .header '{"alg":"RS256","typ":"JWT","kid":"my-key"}'
	assert_field .payload "$(jwt_payload "$FULL_TOKEN")"
	assert_field .payload.email_verified true
	assert_field .verification.status '"valid"'
	assert_field .verification.checks.nbf '{"result":"pass","detail":"valid since 2030-01-01T00:00:00Z"}'
fi

begin "email_verified false is the JSON boolean false"
qsc_pinned --issuer i --keyid k --sub s --useremail a@b --useremail-verified false --expires 60m \
	--cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
take_jti
assert_eq "{\"jti\":\"$JTI\",\"sub\":\"s\",\"subType\":\"user\",\"email\":\"a@b\",\"email_verified\":false,\"iat\":1893456000,\"nbf\":1893456000,\"exp\":1893459600,\"aud\":\"$AUD\",\"iss\":\"i\"}" \
	"$(jwt_payload "$TOKEN")" "payload"
assert_verified RS256 "$PUB"

# ---- only the required options: random sub -------------------------------------------------

begin "required options only: random 56-character sub, warning, no name/email/group/email_verified"
qsc_pinned "${REQ[@]}" --cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
assert_eq '{"alg":"RS256","typ":"JWT","kid":"my-key"}' "$(jwt_header "$TOKEN")" "header"
take_jti
SUB=$(jwt_payload "$TOKEN" | sed -n 's/.*,"sub":"\([^"]*\)".*/\1/p')
assert_match "^$B64URL_RE{56}\$" "$SUB" "sub"
assert_eq 42 "$(b64url_decode "$SUB" | wc -c)" "bytes of the random sub"
assert_eq "{\"jti\":\"$JTI\",\"sub\":\"$SUB\",\"subType\":\"user\",\"iat\":1893456000,\"nbf\":1893456000,\"exp\":1893459600,\"aud\":\"$AUD\",\"iss\":\"my-issuer\"}" \
	"$(jwt_payload "$TOKEN")" "payload"
assert_log WARN "no --sub given: the subject is random"
assert_log WARN "give --sub with a stable user ID"
assert_log INFO "JWT for subject '$SUB' signed RS256 (kid 'my-key')"
assert_verified RS256 "$PUB"
FIRST_JTI=$JTI
FIRST_SUB=$SUB

begin "two runs: jti and the random sub differ"
qsc_pinned "${REQ[@]}" --cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
take_jti
SUB=$(jwt_payload "$TOKEN" | sed -n 's/.*,"sub":"\([^"]*\)".*/\1/p')
assert_ne "$FIRST_JTI" "$JTI" "jti of the second run"
assert_ne "$FIRST_SUB" "$SUB" "sub of the second run"
assert_match "^$B64URL_RE{56}\$" "$SUB" "sub of the second run"

begin "two runs with --sub: the sub stays, the jti differs"
qsc_pinned "${FULL[@]}" --cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
TOKEN_A=$TOKEN
qsc_pinned "${FULL[@]}" --cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
assert_ne "$(jwt_payload "$TOKEN_A" | cut -c1-60)" "$(jwt_payload "$TOKEN" | cut -c1-60)" "start of the payload (jti)"
assert_eq "$(jwt_payload "$TOKEN_A" | sed 's/^{"jti":"[^"]*"//')" \
	"$(jwt_payload "$TOKEN" | sed 's/^{"jti":"[^"]*"//')" "payload after the jti"

begin "--sub is honoured, no warning"
qsc_pinned "${REQ[@]}" --sub 'user/42' --cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
take_jti
assert_eq "{\"jti\":\"$JTI\",\"sub\":\"user/42\",\"subType\":\"user\",\"iat\":1893456000,\"nbf\":1893456000,\"exp\":1893459600,\"aud\":\"$AUD\",\"iss\":\"my-issuer\"}" \
	"$(jwt_payload "$TOKEN")" "payload"
assert_no_log_level WARN

begin "--subject is the same as --sub"
qsc_pinned "${REQ[@]}" --subject jdoe --cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
assert_contains <(jwt_payload "$TOKEN") '"sub":"jdoe","subType":"user",'
assert_no_log_level WARN

# ---- groups, text ------------------------------------------------------------------------------

begin "one group is still an array"
qsc_pinned "${REQ[@]}" --sub s --groups Sales --cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
take_jti
assert_eq "{\"jti\":\"$JTI\",\"sub\":\"s\",\"subType\":\"user\",\"groups\":[\"Sales\"],\"iat\":1893456000,\"nbf\":1893456000,\"exp\":1893459600,\"aud\":\"$AUD\",\"iss\":\"my-issuer\"}" \
	"$(jwt_payload "$TOKEN")" "payload"

begin "--groups takes the words up to the next option; repeating it appends"
qsc_pinned --groups A B --issuer my-issuer --groups C --keyid my-key --sub s --expires 60m \
	--cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
assert_contains <(jwt_payload "$TOKEN") '"subType":"user","groups":["A","B","C"],"iat":1893456000,'
assert_eq '{"alg":"RS256","typ":"JWT","kid":"my-key"}' "$(jwt_header "$TOKEN")" "header"

begin "UTF-8 kept in kid, issuer, name, email, groups; quotes and backslashes escaped"
qsc_pinned --issuer 'iss-ü' --keyid 'clé-🔑' --sub 'göran' --username 'Göran "G" \Sandér' \
	--useremail 'göran@exämple.se' --useremail-verified true --groups 'Ünïcødé 😀' '日本語' \
	--expires 60m --cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
assert_eq '{"alg":"RS256","typ":"JWT","kid":"clé-🔑"}' "$(jwt_header "$TOKEN")" "header"
take_jti
assert_eq "{\"jti\":\"$JTI\",\"sub\":\"göran\",\"subType\":\"user\",\"name\":\"Göran \\\"G\\\" \\\\Sandér\",\"email\":\"göran@exämple.se\",\"groups\":[\"Ünïcødé 😀\",\"日本語\"],\"email_verified\":true,\"iat\":1893456000,\"nbf\":1893456000,\"exp\":1893459600,\"aud\":\"$AUD\",\"iss\":\"iss-ü\"}" \
	"$(jwt_payload "$TOKEN")" "payload"
assert_verified RS256 "$PUB"
payload_file
if json_flatten "$Q/payload"; then
	assert_field .name '"Göran \"G\" \\Sandér"'
fi

# ---- --alg, --expires ------------------------------------------------------------------------

for alg in RS384 RS512; do
	begin "--alg $alg: header alg, verified by decode and openssl"
	qsc_pinned "${FULL[@]}" --alg "$alg" --cert-privatekey-file "$PRIV"
	assert_rc 0
	assert_token_stdout
	assert_eq "{\"alg\":\"$alg\",\"typ\":\"JWT\",\"kid\":\"my-key\"}" "$(jwt_header "$TOKEN")" "header"
	assert_log INFO "signed $alg (kid 'my-key')"
	assert_verified "$alg" "$PUB"
done

begin "--alg RS256 given explicitly: the default header"
qsc_pinned "${FULL[@]}" --alg RS256 --cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
assert_eq '{"alg":"RS256","typ":"JWT","kid":"my-key"}' "$(jwt_header "$TOKEN")" "header"

begin "--expires 30s, 3600s, 60m, 1h, 3600999ms: exp = iat + the span, up to Qlik Cloud's 3600 s"
for pair in 30s:1893456030 3600s:1893459600 60m:1893459600 1h:1893459600 3600999ms:1893459600 \
	'1 hour:1893459600' 59.5m:1893459570; do
	qsc_pinned --issuer i --keyid k --sub s --expires "${pair%%:*}" --cert-privatekey-file "$PRIV"
	assert_rc 0
	assert_token_stdout
	assert_contains <(jwt_payload "$TOKEN") "\"iat\":1893456000,\"nbf\":1893456000,\"exp\":${pair#*:},"
done

begin "--expires over 3600 s: refused (exit 2) naming Qlik Cloud's rule, nothing on stdout"
for pair in 3601s:3601 2h:7200 61m:3660 3601000ms:3601 8h:28800 7d:604800 1y:31557600; do
	qsc_pinned --issuer i --keyid k --sub s --expires "${pair%%:*}" --cert-privatekey-file "$PRIV"
	assert_usage_error_of create-qscloud "--expires '${pair%%:*}': Qlik Cloud rejects a token whose exp is more than 3600 s after nbf (this one: ${pair#*:} s)"
done

begin "--expires 2h with --cert-create: refused before any key or file is made"
mkdir -p "$Q/refused"
in_dir "$Q/refused" qsc_pinned --issuer i --keyid k --sub s --expires 2h --cert-create --cert-create-expires-days 30 \
	--cert-create-key-bits 2048
assert_usage_error_of create-qscloud "Qlik Cloud rejects a token whose exp is more than 3600 s after nbf"
assert_eq "" "$(ls -A "$Q/refused")" "files in the directory"

begin "--expires without a unit is milliseconds, with a warning"
qsc_pinned --issuer i --keyid k --sub s --expires 5000 --cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
assert_contains <(jwt_payload "$TOKEN") '"iat":1893456000,"nbf":1893456000,"exp":1893456005,'
assert_log WARN "--expires '5000' has no unit and is read as milliseconds"

# ---- output and logs ----------------------------------------------------------------------------

begin "--minimal-output: the token alone on stdout, nothing on stderr"
qsc_pinned "${FULL[@]}" --cert-privatekey-file "$PRIV" --minimal-output
assert_rc 0
assert_token_stdout
assert_empty_stderr
assert_verified RS256 "$PUB"

begin "--minimal-output keeps the random-sub warning"
qsc_pinned "${REQ[@]}" --cert-privatekey-file "$PRIV" --minimal-output
assert_rc 0
assert_token_stdout
assert_log WARN "no --sub given: the subject is random"
assert_no_log_level INFO

begin "--loglevel error: nothing on stderr, the token on stdout"
qsc_pinned "${REQ[@]}" --cert-privatekey-file "$PRIV" --loglevel error
assert_rc 0
assert_token_stdout
assert_empty_stderr

# ---- usage errors -------------------------------------------------------------------------------

begin "usage: --issuer missing"
qsc --keyid k --expires 60m --cert-privatekey-file "$PRIV"
assert_usage_error_of create-qscloud "required option '--issuer <issuer>' not specified"

begin "usage: --keyid missing"
qsc --issuer i --expires 60m --cert-privatekey-file "$PRIV"
assert_usage_error_of create-qscloud "required option '--keyid <keyid> (or --keyid-from-key)' not specified"

begin "usage: --expires missing"
qsc --issuer i --keyid k --cert-privatekey-file "$PRIV"
assert_usage_error_of create-qscloud "required option '--expires <expires>' not specified"

begin "usage: --useremail without --useremail-verified"
qsc --issuer i --keyid k --expires 60m --useremail a@b --cert-privatekey-file "$PRIV"
assert_usage_error_of create-qscloud "--useremail needs --useremail-verified true|false"

begin "usage: --useremail-verified without --useremail"
qsc --issuer i --keyid k --expires 60m --useremail-verified true --cert-privatekey-file "$PRIV"
assert_usage_error_of create-qscloud "--useremail-verified only applies with --useremail"
qsc --issuer i --keyid k --expires 60m --useremail-verified false --cert-privatekey-file "$PRIV"
assert_usage_error_of create-qscloud "--useremail-verified only applies with --useremail"

begin "usage: --useremail-verified takes true or false only"
for bad in yes TRUE 1 ''; do
	qsc --issuer i --keyid k --expires 60m --useremail a@b --useremail-verified "$bad" \
		--cert-privatekey-file "$PRIV"
	assert_usage_error_of create-qscloud "--useremail-verified takes 'true' or 'false', not '$bad'"
done

begin "usage: --alg not RS256/384/512"
for bad in ES256 HS256 none rs256; do
	qsc "${FULL[@]}" --alg "$bad" --cert-privatekey-file "$PRIV"
	assert_usage_error_of create-qscloud "$bad"
done

begin "usage: no key source"
qsc "${FULL[@]}"
assert_usage_error_of create-qscloud "no signing key: give one of --cert-privatekey-file, --cert-privatekey, --pkcs11-uri or --cert-create"

begin "usage: a bad --expires"
qsc --issuer i --keyid k --expires soon --cert-privatekey-file "$PRIV"
assert_usage_error_of create-qscloud "--expires 'soon' is not a timespan"

# ---- key sources ------------------------------------------------------------------------------

begin "--cert-privatekey - reads the key from standard input"
run_at_stdin "$PINNED" "$PRIV" "$QSJWT_BIN" create-qscloud "${FULL[@]}" --cert-privatekey -
assert_rc 0
assert_token_stdout
take_jti
assert_eq "{\"jti\":\"$JTI\",\"sub\":\"jdoe\",\"subType\":\"user\",\"name\":\"John Doe\",\"email\":\"jdoe@example.com\",\"groups\":[\"Sales\",\"Finance\"],\"email_verified\":true,\"iat\":1893456000,\"nbf\":1893456000,\"exp\":1893459600,\"aud\":\"$AUD\",\"iss\":\"my-issuer\"}" \
	"$(jwt_payload "$TOKEN")" "payload"
assert_verified RS256 "$PUB"

begin "--cert-create: a new 2048-bit key signs; verified with the written files"
mkdir -p "$Q/new"
in_dir "$Q/new" qsc_pinned "${FULL[@]}" --cert-create --cert-create-key-bits 2048 \
	--cert-create-expires-days 30
assert_rc 0
assert_token_stdout
assert_mode_600() { [ "$(stat -c %a "$1" 2>/dev/null)" = 600 ] || fail "mode of $1: expected 600, got $(stat -c %a "$1" 2>&1)"; }
for f in publickey.pem publickey.cer privatekey.pem; do
	[ -s "$Q/new/$f" ] || fail "$f was not written"
done
assert_mode_600 "$Q/new/privatekey.pem"
assert_eq '{"alg":"RS256","typ":"JWT","kid":"my-key"}' "$(jwt_header "$TOKEN")" "header"
assert_verified RS256 "$Q/new/publickey.pem"
assert_verified RS256 "$Q/new/publickey.cer"
dec_pinned --jwt "$TOKEN" --cert-publickey-file "$PUB"
assert_check_fails signature "the RS256 signature does not verify with the key (RSA 2048 bits)"

# ---- the Qlik Cloud identity provider ------------------------------------------------------------

# thumbprint_of PEM: the RFC 7638 thumbprint of an RSA public key or
# certificate, computed here from openssl's modulus and exponent.
thumbprint_of() {
	local pub=$T_TMP/thumb.pub mod exp
	if grep -q 'BEGIN CERTIFICATE' "$1"; then
		openssl x509 -in "$1" -noout -pubkey >"$pub"
	else
		cp "$1" "$pub"
	fi
	mod=$(openssl rsa -pubin -in "$pub" -noout -modulus | sed 's/^Modulus=//')
	exp=$(openssl rsa -pubin -in "$pub" -noout -text | sed -n 's/^Exponent: \([0-9]*\) .*/\1/p')
	"$PY" -c '
import base64, hashlib, sys
def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def big(i):
    return i.to_bytes((i.bit_length() + 7) // 8, "big")
canon = "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}" % (b64(big(int(sys.argv[2]))), b64(big(int(sys.argv[1], 16))))
print(b64(hashlib.sha256(canon.encode()).digest()))' "$mod" "$exp"
}

# check_idp FILE ISSUER KID CERT: FILE is the identity-provider request
# (exact members and values, the pem the certificate's bytes), and the
# certificate in it verifies $TOKEN.
check_idp() {
	local f=$1
	assert_eq 644 "$(stat -c %a "$f" 2>/dev/null)" "mode of $(basename "$f")"
	"$PY" - "$f" "$2" "$3" "$4" "$Q/idp-cert.pem" 2>"$Q/idp.err" <<'EOF' || fail "identity provider JSON: $(tail -1 "$Q/idp.err")"
import json, sys
d = json.load(open(sys.argv[1]))
assert list(d) == ["provider", "protocol", "description", "options"], list(d)
assert d["provider"] == "external" and d["protocol"] == "jwtAuth", d
assert d["description"] == "qs-jwt create-qscloud", d["description"]
o = d["options"]
assert list(o) == ["issuer", "staticKeys"], list(o)
assert o["issuer"] == sys.argv[2], o["issuer"]
assert len(o["staticKeys"]) == 1, o["staticKeys"]
k = o["staticKeys"][0]
assert list(k) == ["kid", "pem"], list(k)
assert k["kid"] == sys.argv[3], k["kid"]
assert k["pem"] == open(sys.argv[4]).read(), "pem is not the certificate file"
open(sys.argv[5], "w").write(k["pem"])
EOF
	openssl x509 -in "$Q/idp-cert.pem" -noout 2>/dev/null || fail "the pem is not an X.509 certificate"
	assert_openssl_verifies "$TOKEN" "$Q/idp-cert.pem" RS256
}

begin "--cert-create: qscloud-idp.json holds the issuer, the kid and the certificate that verifies the token"
mkdir -p "$Q/idp"
in_dir "$Q/idp" qsc_pinned "${FULL[@]}" --cert-create --cert-create-key-bits 2048 \
	--cert-create-expires-days 30 --cert-file-prefix out_
assert_rc 0
assert_token_stdout
assert_eq "out_privatekey.pem out_publickey.cer out_publickey.pem out_qscloud-idp.json" \
	"$(cd "$Q/idp" && echo *)" "files written"
check_idp "$Q/idp/out_qscloud-idp.json" my-issuer my-key "$Q/idp/out_publickey.cer"
assert_log INFO "wrote 'out_qscloud-idp.json'; create the Qlik Cloud JWT identity provider with 'qlik identity-provider create jwtauth --file out_qscloud-idp.json'"
dec_pinned --jwt "$TOKEN" --cert-publickey-file "$Q/idp-cert.pem" --profile qscloud \
	--expected-issuer my-issuer --expected-keyid my-key
assert_all_pass

begin "--cert-create --keyid-from-key: the kid is the new key's RFC 7638 thumbprint, in the token and the IdP"
mkdir -p "$Q/thumb"
in_dir "$Q/thumb" qsc_pinned --issuer my-issuer --keyid-from-key --sub jdoe --expires 60m \
	--cert-create --cert-create-key-bits 2048 --cert-create-expires-days 30
assert_rc 0
assert_token_stdout
KID=$(thumbprint_of "$Q/thumb/publickey.cer")
assert_match '^[A-Za-z0-9_-]{43}$' "$KID" "thumbprint"
assert_eq "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"$KID\"}" "$(jwt_header "$TOKEN")" "header"
check_idp "$Q/thumb/qscloud-idp.json" my-issuer "$KID" "$Q/thumb/publickey.cer"
assert_log INFO "kid: '$KID', the RFC 7638 thumbprint of the key"

begin "--keyid-from-key with a key file: the test key's thumbprint, no files written"
mkdir -p "$Q/thumbfile"
in_dir "$Q/thumbfile" qsc_pinned --issuer my-issuer --keyid-from-key --sub jdoe --expires 60m \
	--cert-privatekey-file "$PRIV"
assert_rc 0
assert_token_stdout
KID=$(thumbprint_of "$PUB")
assert_eq "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"$KID\"}" "$(jwt_header "$TOKEN")" "header"
assert_eq "" "$(ls -A "$Q/thumbfile")" "files in the directory"
assert_verified RS256 "$PUB"

begin "--cert-create: an existing qscloud-idp.json is refused, nothing else written"
mkdir -p "$Q/idpexists"
printf 'old\n' >"$Q/idpexists/qscloud-idp.json"
in_dir "$Q/idpexists" qsc_pinned "${FULL[@]}" --cert-create --cert-create-key-bits 2048 \
	--cert-create-expires-days 30
assert_rc 1
assert_empty_stdout
assert_log ERROR "'qscloud-idp.json'"
assert_eq "qscloud-idp.json" "$(cd "$Q/idpexists" && echo *)" "files in the directory"
assert_eq old "$(cat "$Q/idpexists/qscloud-idp.json")" "content of qscloud-idp.json"

begin "--cert-create --force: an existing qscloud-idp.json is replaced with the new key's"
in_dir "$Q/idpexists" qsc_pinned "${FULL[@]}" --cert-create --cert-create-key-bits 2048 \
	--cert-create-expires-days 30 --force
assert_rc 0
assert_token_stdout
check_idp "$Q/idpexists/qscloud-idp.json" my-issuer my-key "$Q/idpexists/publickey.cer"

begin "--cert-create: an existing publickey.pem is refused, and no qscloud-idp.json written"
mkdir -p "$Q/pubexists"
printf 'old\n' >"$Q/pubexists/publickey.pem"
in_dir "$Q/pubexists" qsc_pinned "${FULL[@]}" --cert-create --cert-create-key-bits 2048 \
	--cert-create-expires-days 30
assert_rc 1
assert_empty_stdout
assert_eq "publickey.pem" "$(cd "$Q/pubexists" && echo *)" "files in the directory"

begin "usage: --keyid and --keyid-from-key together, or neither"
qsc --issuer i --keyid k --keyid-from-key --expires 60m --cert-privatekey-file "$PRIV"
assert_usage_error_of create-qscloud "give --keyid or --keyid-from-key, not both"
qsc --issuer i --expires 60m --cert-privatekey-file "$PRIV"
assert_usage_error_of create-qscloud "required option '--keyid <keyid> (or --keyid-from-key)' not specified"

# ---- a SoftHSM2 key ----------------------------------------------------------------------------

for _tool in softhsm2-util pkcs11-tool; do
	command -v "$_tool" >/dev/null || { echo "missing tool: $_tool" >&2; exit 2; }
done
# shellcheck source=../../scripts/softhsm.sh
. "$QSJWT_SOURCE_DIR/scripts/softhsm.sh"
HSM=$T_TMP/hsm
softhsm_new "$HSM" Q 135790 || { echo "cannot make a SoftHSM2 token" >&2; exit 2; }
HSM_URI='pkcs11:token=Q;object=qsc'

begin "SoftHSM2: --cert-create on the token, payload byte for byte, verified"
qsc_pinned "${FULL[@]}" --cert-create --cert-create-key-bits 2048 --cert-create-expires-days 30 \
	--cert-file-prefix "$HSM/qsc_" --pkcs11-uri "$HSM_URI" --pkcs11-pin-file "$HSM/pin"
assert_rc 0
assert_token_stdout
assert_eq '{"alg":"RS256","typ":"JWT","kid":"my-key"}' "$(jwt_header "$TOKEN")" "header"
take_jti
assert_eq "{\"jti\":\"$JTI\",\"sub\":\"jdoe\",\"subType\":\"user\",\"name\":\"John Doe\",\"email\":\"jdoe@example.com\",\"groups\":[\"Sales\",\"Finance\"],\"email_verified\":true,\"iat\":1893456000,\"nbf\":1893456000,\"exp\":1893459600,\"aud\":\"$AUD\",\"iss\":\"my-issuer\"}" \
	"$(jwt_payload "$TOKEN")" "payload"
[ -e "$HSM/qsc_privatekey.pem" ] && fail "a private key file was written for a token key"
assert_verified RS256 "$HSM/qsc_publickey.pem"
assert_verified RS256 "$HSM/qsc_publickey.cer"
check_idp "$HSM/qsc_qscloud-idp.json" my-issuer my-key "$HSM/qsc_publickey.cer"

begin "SoftHSM2: the existing token key signs again; verified by decode --pkcs11-uri without a PIN"
qsc_pinned "${REQ[@]}" --sub jdoe --alg RS512 --pkcs11-uri "$HSM_URI" --pkcs11-pin-file "$HSM/pin"
assert_rc 0
assert_token_stdout
assert_eq '{"alg":"RS512","typ":"JWT","kid":"my-key"}' "$(jwt_header "$TOKEN")" "header"
assert_verified RS512 "$HSM/qsc_publickey.pem"
HSM_TOKEN=$TOKEN
dec_pinned --jwt "$HSM_TOKEN" --pkcs11-uri "$HSM_URI" --expected-audience "$AUD"
assert_all_pass
assert_check signature pass "RS512 signature verified with the key (RSA 2048 bits)"
assert_check nbf pass "valid since 2030-01-01T00:00:00Z"
dec_pinned --jwt "$HSM_TOKEN" --cert-publickey-file "$PUB"
assert_check_fails signature "the RS512 signature does not verify with the key (RSA 2048 bits)"

begin "SoftHSM2: a pkcs11-tool --keypairgen key signs; verified by openssl and decode"
pkcs11-tool --module "$SOFTHSM_MODULE" --login --pin 135790 --keypairgen --key-type rsa:2048 \
	--label gen --id 0a >/dev/null 2>&1
pkcs11-tool --module "$SOFTHSM_MODULE" --read-object --type pubkey --id 0a -o "$HSM/gen.der" >/dev/null 2>&1
openssl pkey -pubin -inform DER -in "$HSM/gen.der" -out "$HSM/gen.pem"
qsc_pinned "${FULL[@]}" --pkcs11-uri 'pkcs11:token=Q;object=gen' --pkcs11-pin-file "$HSM/pin"
assert_rc 0
assert_token_stdout
take_jti
assert_eq "{\"jti\":\"$JTI\",\"sub\":\"jdoe\",\"subType\":\"user\",\"name\":\"John Doe\",\"email\":\"jdoe@example.com\",\"groups\":[\"Sales\",\"Finance\"],\"email_verified\":true,\"iat\":1893456000,\"nbf\":1893456000,\"exp\":1893459600,\"aud\":\"$AUD\",\"iss\":\"my-issuer\"}" \
	"$(jwt_payload "$TOKEN")" "payload"
assert_verified RS256 "$HSM/gen.pem"

begin "SoftHSM2: --keyid-from-key on a token key: its thumbprint, the same as list-keys --json shows"
qsc_pinned --issuer my-issuer --keyid-from-key --sub jdoe --expires 60m \
	--pkcs11-uri 'pkcs11:token=Q;object=gen' --pkcs11-pin-file "$HSM/pin"
assert_rc 0
assert_token_stdout
KID=$(thumbprint_of "$HSM/gen.pem")
assert_eq "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"$KID\"}" "$(jwt_header "$TOKEN")" "header"
assert_verified RS256 "$HSM/gen.pem"
run "$QSJWT_BIN" pkcs11 list-keys --pkcs11-uri 'pkcs11:token=Q' --pkcs11-pin-file "$HSM/pin" --json
assert_rc 0
assert_eq "$KID" "$("$PY" -c 'import json, sys; print([k for k in json.load(open(sys.argv[1])) if k["label"] == "gen"][0]["jwk_thumbprint"])' "$OUT")" \
	"list-keys jwk_thumbprint of gen"

finish
