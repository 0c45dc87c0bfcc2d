#!/usr/bin/env bash
# qs-jwt pkcs11 list-tokens and list-keys: exact fields in text and JSON, and
# every listed URI, pasted into --pkcs11-uri, signs.
. "$(dirname "$0")/lib.sh"

PIN=9753-list
hsm_new main qlik "$PIN"
PINF=$HSM_DIR/pin
SERIAL=$(hsm_serial)
TOKEN_URI="pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=$SERIAL;token=qlik"
FLAGS_TEXT="token-initialized, login-required, user-pin-initialized, rng"

# The keys: made by pkcs11-tool (plain, always-authenticate, extractable), by
# qs-jwt --cert-create (with a certificate), imported from a file, and an EC
# key that list-keys must leave out.
hsm_keygen jwt-signing 01
hsm_keygen auth-each 02 --usage-sign --always-auth
hsm_keygen exportable 03 --usage-sign --extractable
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T_TMP/imported.pem" 2>/dev/null
hsm_import "$T_TMP/imported.pem" imported 05
ptool --keypairgen --key-type EC:prime256v1 --label ec-key --id 06 --usage-sign >/dev/null 2>&1
mkdir "$T_TMP/created"
qs_pinned "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=with-cert;id=%04' --pkcs11-pin-file "$PINF" \
	--cert-create true --cert-create-expires-days 30 --cert-create-key-bits 2048 \
	--cert-file-prefix "$T_TMP/created/"
[ "$RC" = 0 ] || { echo "setup: --cert-create failed: $(cat "$ERR")" >&2; exit 2; }

# Sanity of the fixture, seen by pkcs11-tool.
begin "fixture: pkcs11-tool sees the attributes the listing must show"
assert_eq "always authenticate, sensitive, always sensitive, never extractable, local" \
	"$(ptool_field 'Private Key Object' auth-each Access)" "pkcs11-tool Access of auth-each"
assert_eq "sensitive, always sensitive, extractable, local" \
	"$(ptool_field 'Private Key Object' exportable Access)" "pkcs11-tool Access of exportable"
assert_eq "sensitive, always sensitive, never extractable, local" \
	"$(ptool_field 'Private Key Object' jwt-signing Access)" "pkcs11-tool Access of jwt-signing"

# key_json LABEL ID SENSITIVE EXTRACTABLE ALWAYS CERT: one key as list-keys
# --json must give it (keys sorted, python's json.dumps spacing).
key_json() {
	printf '{"always_authenticate": %s, "bits": 2048, "certificate": %s, "extractable": %s, "id": "%s", "label": "%s", "sensitive": %s, "uri": "%s"}' \
		"$5" "$6" "$4" "$2" "$1" "$3" "$TOKEN_URI;id=%$2;object=$1;type=private"
}
CERT_JSON='{"not_after": "2030-01-31T00:00:00Z", "subject": "CN=qs-jwt"}'
# The keys sorted by id without jwk and jwk_thumbprint (checked on their own
# against openssl's view of each public key).
NO_JWK='[{k: v for k, v in x.items() if k not in ("jwk", "jwk_thumbprint")} for x in sorted(d, key=lambda k: k["id"])]'
WANT_KEYS="[$(key_json jwt-signing 01 true false false null), $(key_json auth-each 02 true false true null), $(key_json exportable 03 true true false null), $(key_json with-cert 04 true false false "$CERT_JSON"), $(key_json imported 05 true false false null)]"

# ---- list-tokens -----------------------------------------------------------------------

begin "list-tokens: the text block of token qlik"
qsp11 list-tokens
if assert_rc 0; then
	block=$(grep -A6 -x 'token: qlik' "$OUT")
	assert_same_text "token: qlik
  manufacturer: SoftHSM project
  model: SoftHSM v2
  serial: $SERIAL
  module: softhsm2
  flags: $FLAGS_TEXT
  uri: $TOKEN_URI" "$block" "list-tokens block of qlik"
	assert_eq 1 "$(grep -cx 'token: qlik' "$OUT")" "number of qlik blocks"
	assert_not_contains "$ERR" "ERROR"
fi

begin "list-tokens --json: exact fields of token qlik"
qsp11 list-tokens --json
if assert_rc 0; then
	assert_eq "{\"flags\": \"$FLAGS_TEXT\", \"label\": \"qlik\", \"manufacturer\": \"SoftHSM project\", \"model\": \"SoftHSM v2\", \"module\": \"softhsm2\", \"serial\": \"$SERIAL\", \"uri\": \"$TOKEN_URI\"}" \
		"$(json_get "$OUT" '[t for t in d if t["label"] == "qlik"][0]')" "JSON of token qlik"
	assert_eq '["flags", "label", "manufacturer", "model", "module", "serial", "uri"]' \
		"$(json_get "$OUT" 'sorted(set(k for t in d for k in t))')" "fields of every token"
	assert_eq 1 "$(json_get "$OUT" 'len([t for t in d if t["label"] == "qlik"])')" "entries of qlik"
fi

begin "list-tokens --pkcs11-uri 'pkcs11:token=qlik': only that token"
qsp11 list-tokens --pkcs11-uri 'pkcs11:token=qlik' --json
assert_rc 0 && assert_eq "[\"$TOKEN_URI\"]" "$(json_get "$OUT" '[t["uri"] for t in d]')" "URIs listed"

begin "the listed token URI with object= pasted into --pkcs11-uri signs"
uri=$(json_get "$OUT" 'd[0]["uri"]')
qs "${CLAIMS[@]}" --pkcs11-uri "$uri;object=jwt-signing" --pkcs11-pin-file "$PINF"
assert_ok_token && verify_jwt "$TOKEN" "$(hsm_pubkey 01)"

begin "list-tokens with --pkcs11-module: module path in the URI, and that URI signs"
qsp11 list-tokens --pkcs11-module "$SOFTHSM_MODULE" --json
if assert_rc 0; then
	enc=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$SOFTHSM_MODULE")
	assert_eq "$TOKEN_URI?module-path=$enc" "$(json_get "$OUT" '[t for t in d if t["label"] == "qlik"][0]["uri"]')" "URI with module-path"
	assert_eq "$SOFTHSM_MODULE" "$(json_get "$OUT" '[t for t in d if t["label"] == "qlik"][0]["module"]')" "module"
	assert_eq '["SoftHSM project"]' "$(json_get "$OUT" 'sorted(set(t["manufacturer"] for t in d))')" "only SoftHSM2 tokens"
	qs "${CLAIMS[@]}" --pkcs11-uri "$TOKEN_URI;object=jwt-signing?module-path=$enc" --pkcs11-pin-file "$PINF"
	assert_ok_token && verify_jwt "$TOKEN" "$(hsm_pubkey 01)"
fi

begin "list-tokens matching nothing: exit 0, nothing listed"
qsp11 list-tokens --pkcs11-uri 'pkcs11:token=nope'
assert_rc 0 && assert_empty_stdout
assert_log INFO "no token found"
qsp11 list-tokens --pkcs11-uri 'pkcs11:token=nope' --json
assert_rc 0 && assert_eq "[]" "$(json_get "$OUT" d)" "JSON of no token"

begin "list-tokens with an unsupported URI attribute: exit 2 naming it"
qsp11 list-tokens --pkcs11-uri 'pkcs11:slot-id=3'
assert_fails 2 "the PKCS#11 URI has the path attribute 'slot-id'" "see 'qs-jwt pkcs11 list-tokens --help'"

# ---- list-keys ---------------------------------------------------------------------------

begin "list-keys --json: every RSA key with exact fields; the EC key left out"
qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-pin-file "$PINF" --json
if assert_rc 0; then
	assert_same_text "$WANT_KEYS" "$(json_get "$OUT" "$NO_JWK")" "list-keys --json"
	assert_not_contains "$OUT" "ec-key"
fi
cp "$OUT" "$T_TMP/keys.json"

begin "list-keys --json: each key's JWK and RFC 7638 thumbprint, as openssl sees the public key"
for id in 01 02 03 04 05; do
	pem=$(hsm_pubkey "$id") || { fail "no public key $id"; continue; }
	want=$(want_jwk "$pem")
	[ -n "$want" ] || fail "no JWK computed for key $id"
	assert_eq "$(printf '%s' "$want" | sed -n 1p)" \
		"$(json_get "$T_TMP/keys.json" "json.dumps([k for k in d if k['id'] == '$id'][0]['jwk'], separators=(',', ':'), sort_keys=True)")" \
		"jwk of key $id"
	assert_eq "$(printf '%s' "$want" | sed -n 2p)" \
		"$(json_get "$T_TMP/keys.json" "[k for k in d if k['id'] == '$id'][0]['jwk_thumbprint']")" "jwk_thumbprint of key $id"
done
[[ $(json_get "$T_TMP/keys.json" 'd[0]["jwk_thumbprint"]') =~ ^[A-Za-z0-9_-]{43}$ ]] ||
	fail "jwk_thumbprint is not 43 base64url characters"

begin "list-keys text: exact blocks"
qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-pin-file "$PINF"
if assert_rc 0; then
	assert_same_text "key: jwt-signing
  id: 01
  bits: 2048
  sensitive: yes
  extractable: no
  always-authenticate: no
  certificate: none with the same id
  uri: $TOKEN_URI;id=%01;object=jwt-signing;type=private" "$(grep -A7 -x 'key: jwt-signing' "$OUT")" "block of jwt-signing"
	assert_same_text "key: auth-each
  id: 02
  bits: 2048
  sensitive: yes
  extractable: no
  always-authenticate: yes
  certificate: none with the same id
  uri: $TOKEN_URI;id=%02;object=auth-each;type=private" "$(grep -A7 -x 'key: auth-each' "$OUT")" "block of auth-each"
	assert_same_text "key: exportable
  id: 03
  bits: 2048
  sensitive: yes
  extractable: yes
  always-authenticate: no
  certificate: none with the same id
  uri: $TOKEN_URI;id=%03;object=exportable;type=private" "$(grep -A7 -x 'key: exportable' "$OUT")" "block of exportable"
	assert_same_text "key: with-cert
  id: 04
  bits: 2048
  sensitive: yes
  extractable: no
  always-authenticate: no
  certificate: CN=qs-jwt, valid until 2030-01-31T00:00:00Z
  uri: $TOKEN_URI;id=%04;object=with-cert;type=private" "$(grep -A7 -x 'key: with-cert' "$OUT")" "block of with-cert"
	assert_eq 5 "$(grep -c '^key: ' "$OUT")" "number of keys listed"
fi

begin "the certificate expiry listed is the one openssl reads"
end=$(openssl x509 -in "$T_TMP/created/publickey.cer" -noout -enddate | sed 's/^notAfter=//')
assert_eq "$(date -u -d "$end" +%Y-%m-%dT%H:%M:%SZ)" "$(json_get "$T_TMP/keys.json" '[k for k in d if k["id"] == "04"][0]["certificate"]["not_after"]')" "not_after"

begin "every listed key URI, pasted into --pkcs11-uri, signs with that key"
json_get "$T_TMP/keys.json" '"\n".join(k["id"] + " " + k["uri"] for k in d)' >"$T_TMP/uris"
n=0
while read -r id uri; do
	n=$((n + 1))
	qs "${CLAIMS[@]}" --pkcs11-uri "$uri" --pkcs11-pin-file "$PINF"
	if [ "$id" = 05 ]; then
		openssl pkey -in "$T_TMP/imported.pem" -pubout -out "$T_TMP/imported.pub" 2>/dev/null
		pub=$T_TMP/imported.pub
	else
		pub=$(hsm_pubkey "$id")
	fi
	assert_ok_token && verify_jwt "$TOKEN" "$pub"
done <"$T_TMP/uris"
assert_eq 5 "$n" "listed URIs tried"

begin "list-keys with the PIN from QSJWT_PKCS11_PIN and from pin-source"
with_env "QSJWT_PKCS11_PIN=$PIN" -- qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --json
assert_rc 0 && assert_same_text "$WANT_KEYS" "$(json_get "$OUT" "$NO_JWK")" "list-keys (env PIN)"
qsp11 list-keys --pkcs11-uri "pkcs11:token=qlik?pin-source=$PINF" --json
assert_rc 0 && assert_same_text "$WANT_KEYS" "$(json_get "$OUT" "$NO_JWK")" "list-keys (pin-source)"

begin "list-keys through --pkcs11-module: URIs carry module-path and sign"
qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-module "$SOFTHSM_MODULE" --pkcs11-pin-file "$PINF" --json
if assert_rc 0; then
	uri=$(json_get "$OUT" '[k for k in d if k["id"] == "01"][0]["uri"]')
	assert_eq "$TOKEN_URI;id=%01;object=jwt-signing;type=private?module-path=$enc" "$uri" "URI with module-path"
	qs "${CLAIMS[@]}" --pkcs11-uri "$uri" --pkcs11-pin-file "$PINF"
	assert_ok_token && verify_jwt "$TOKEN" "$(hsm_pubkey 01)"
fi

begin "list-keys without --pkcs11-uri: exit 2"
qsp11 list-keys --pkcs11-pin-file "$PINF"
assert_fails 2 "list-keys needs --pkcs11-uri naming the token"

begin "list-keys without a PIN source: exit 5"
qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik'
assert_fails 5 "token 'qlik' needs a PIN and none was given"

begin "list-keys with a URI matching no token: exit 4 listing the tokens"
qsp11 list-keys --pkcs11-uri 'pkcs11:token=nope' --pkcs11-pin-file "$PINF"
assert_fails 4 "the PKCS#11 URI matches no token" "  $TOKEN_URI"

softhsm_add_token other "$PIN"
HSM_LABEL=other
ptool --keypairgen --key-type EC:prime256v1 --label ec-only --id 01 --usage-sign >/dev/null 2>&1
OTHER_URI="pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=$(hsm_serial);token=other"
HSM_LABEL=qlik

begin "list-keys with a URI matching two tokens: exit 4 listing both"
qsp11 list-keys --pkcs11-uri 'pkcs11:model=SoftHSM%20v2' --pkcs11-pin-file "$PINF"
assert_fails 4 "the PKCS#11 URI matches 2 tokens" "  $TOKEN_URI" "  $OTHER_URI"

begin "list-tokens lists both tokens"
qsp11 list-tokens --pkcs11-uri 'pkcs11:manufacturer=SoftHSM%20project' --json
assert_rc 0 && assert_eq '["other", "qlik"]' "$(json_get "$OUT" 'sorted(t["label"] for t in d if t["label"])')" "labels"

begin "list-keys on a token with no RSA key: exit 0, nothing listed"
qsp11 list-keys --pkcs11-uri 'pkcs11:token=other' --pkcs11-pin-file "$PINF"
assert_rc 0 && assert_empty_stdout
assert_log INFO "no RSA private key on this token"
qsp11 list-keys --pkcs11-uri 'pkcs11:token=other' --pkcs11-pin-file "$PINF" --json
assert_rc 0 && assert_eq "[]" "$(json_get "$OUT" d)" "JSON of no key"

begin "list-keys with an unsupported URI attribute: exit 2 naming it"
qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik?slot-id=1' --pkcs11-pin-file "$PINF"
assert_fails 2 "the PKCS#11 URI has the query attribute 'slot-id'" "see 'qs-jwt pkcs11 list-keys --help'"

finish
