#!/usr/bin/env bash
# Signing with an RSA key on a real SoftHSM2 token: URIs, modules, token and
# key selection, error listings with paste-able URIs.
. "$(dirname "$0")/lib.sh"

PIN=2468-sign
hsm_new main qlik "$PIN"
hsm_keygen jwt-signing 01
PUB01=$(hsm_pubkey 01) || exit 2
SERIAL=$(hsm_serial)
[ -n "$SERIAL" ] || { echo "no serial for token qlik" >&2; exit 2; }
TOKEN_URI="pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=$SERIAL;token=qlik"
PINF=$HSM_DIR/pin
KEY_URI='pkcs11:token=qlik;object=jwt-signing'

# ---- signing ---------------------------------------------------------------------

begin "RS256 with a pkcs11-tool key, module from the p11-kit registry"
qs_pinned "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF"
if assert_ok_token; then
	verify_jwt "$TOKEN" "$PUB01" RS256
	assert_payload "$CLAIMS_PAYLOAD"
	assert_log INFO 'JWT for ACME\jdoe signed RS256'
fi

for alg in RS384 RS512; do
	begin "--alg $alg with the token key"
	qs_pinned "${CLAIMS[@]}" --alg "$alg" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF"
	if assert_ok_token; then
		verify_jwt "$TOKEN" "$PUB01" "$alg"
		assert_payload "$CLAIMS_PAYLOAD"
	fi
done

begin "a token key signs the same bytes as the same key in a file (RS256, RS384, RS512)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T_TMP/same.pem" 2>/dev/null
hsm_import "$T_TMP/same.pem" same-key 0a
for alg in RS256 RS384 RS512; do
	qs_pinned "${CLAIMS[@]}" --alg "$alg" --cert-privatekey-file "$T_TMP/same.pem"
	assert_ok_token || continue
	want=$TOKEN
	qs_pinned "${CLAIMS[@]}" --alg "$alg" --pkcs11-uri 'pkcs11:token=qlik;object=same-key' \
		--pkcs11-pin-file "$PINF"
	assert_ok_token && assert_eq "$want" "$TOKEN" "$alg token of the token key vs the file key"
	[ -n "$TOKEN" ] && verify_jwt "$TOKEN" "$(hsm_pubkey 0a)" "$alg"
done

begin "the reference vector key on the token gives tests/data/vectors/all-claims.jwt"
hsm_import "$VEC/privatekey.pem" vector-key 0b
qs_pinned "${VEC_CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=vector-key' \
	--pkcs11-pin-file "$PINF" --minimal-output --loglevel error
assert_rc 0 && assert_file_eq "$VEC/all-claims.jwt" "$OUT"
assert_token_stdout && verify_jwt "$TOKEN" "$VEC/publickey.pem"

begin "URI naming the key by id only"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;id=%01' --pkcs11-pin-file "$PINF"
assert_ok_token && verify_jwt "$TOKEN" "$PUB01"

LIB_VERSION=$(pkcs11-tool --module "$SOFTHSM_MODULE" -I 2>/dev/null |
	sed -nE 's/^Library .*\(ver ([0-9.]+)\)$/\1/p')
LIB_DESC=$(pkcs11-tool --module "$SOFTHSM_MODULE" -I 2>/dev/null |
	sed -nE 's/^Library +(.*) \(ver [0-9.]+\)$/\1/p')
LIB_MANUF=$(pkcs11-tool --module "$SOFTHSM_MODULE" -I 2>/dev/null |
	sed -nE 's/^Manufacturer +(.*)$/\1/p')

begin "URI with every supported path attribute"
full="pkcs11:token=qlik;manufacturer=SoftHSM%20project;serial=$SERIAL;model=SoftHSM%20v2"
full="$full;library-manufacturer=${LIB_MANUF// /%20};library-description=${LIB_DESC// /%20}"
full="$full;library-version=$LIB_VERSION;object=jwt-signing;id=%01;type=private"
assert_true test -n "$LIB_VERSION"
qs "${CLAIMS[@]}" --pkcs11-uri "$full" --pkcs11-pin-file "$PINF"
assert_ok_token && verify_jwt "$TOKEN" "$PUB01"

begin "a library attribute that matches no module: exit 4"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:library-manufacturer=Nobody;token=qlik;object=jwt-signing' \
	--pkcs11-pin-file "$PINF"
assert_fails 4 'the PKCS#11 URI matches no token'

begin "a serial that matches no token: exit 4, the tokens seen are listed"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;serial=0000000000000000;object=jwt-signing' \
	--pkcs11-pin-file "$PINF"
assert_fails 4 'the PKCS#11 URI matches no token' 'tokens seen:' "  $TOKEN_URI"

begin "module-path in the URI"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?module-path=$SOFTHSM_MODULE" --pkcs11-pin-file "$PINF"
assert_ok_token && verify_jwt "$TOKEN" "$PUB01"

begin "module-path in the URI wins over --pkcs11-module (with a warning)"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?module-path=$SOFTHSM_MODULE" --pkcs11-pin-file "$PINF" \
	--pkcs11-module /nonexistent/module.so
assert_ok_token && verify_jwt "$TOKEN" "$PUB01"
assert_log WARN "--pkcs11-module '/nonexistent/module.so' is ignored"

begin "module-name in the URI (the p11-kit registry name)"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?module-name=softhsm2" --pkcs11-pin-file "$PINF"
assert_ok_token && verify_jwt "$TOKEN" "$PUB01"

begin "module-name that is not registered: exit 4"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?module-name=no-such-module" --pkcs11-pin-file "$PINF"
assert_fails 4 "no PKCS#11 module named 'no-such-module' is registered"

INIT_WHY="--pkcs11-module-init needs the module named by path (--pkcs11-module or the URI's module-path=); a module named with module-name= takes its p11-kit configuration's x-init-reserved"
begin "--pkcs11-module-init with module-name=: the command's error (exit 2)"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?module-name=softhsm2" --pkcs11-module-init x --pkcs11-pin-file "$PINF"
assert_cli_error 2 create-qseow "$INIT_WHY"
begin "--pkcs11-module-init with module-name=: the same for decode and pkcs11 create-cert"
run "$QSJWT_BIN" decode --jwt "$TOKEN" --pkcs11-uri "$KEY_URI?module-name=softhsm2" --pkcs11-module-init x
assert_cli_error 2 decode "$INIT_WHY"
qsp11 create-cert --pkcs11-uri "$KEY_URI?module-name=softhsm2" --pkcs11-module-init x \
	--cert-create-expires-days 3 --cert-file-prefix "$T_TMP/never-"
assert_cli_error 2 "pkcs11 create-cert" "$INIT_WHY"
assert_not_exists "$T_TMP/never-publickey.pem"
begin "--pkcs11-module-init with module-path=: passed to the module (SoftHSM2 refuses one: exit 4)"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?module-path=$SOFTHSM_MODULE" --pkcs11-module-init x --pkcs11-pin-file "$PINF"
assert_fails 4 "PKCS#11 module '$SOFTHSM_MODULE' failed to initialise (C_Initialize): CKR_ARGUMENTS_BAD; it does not accept the --pkcs11-module-init string"

begin "--pkcs11-module PATH"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SOFTHSM_MODULE" --pkcs11-pin-file "$PINF"
assert_ok_token && verify_jwt "$TOKEN" "$PUB01"

begin "--pkcs11-module naming a missing file: exit 4"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$T_TMP/missing.so" --pkcs11-pin-file "$PINF"
assert_fails 4 "cannot load PKCS#11 module '$T_TMP/missing.so'"

begin "--pkcs11-module naming a file that is not a module: exit 4"
echo "not a module" >"$T_TMP/bogus.so"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$T_TMP/bogus.so" --pkcs11-pin-file "$PINF"
assert_fails 4 "cannot load PKCS#11 module '$T_TMP/bogus.so'"

# ---- URI checks --------------------------------------------------------------------

for attr in slot-id slot-description slot-manufacturer x-vendor; do
	begin "unsupported path attribute $attr: exit 2 naming it"
	qs "${CLAIMS[@]}" --pkcs11-uri "pkcs11:token=qlik;$attr=1;object=jwt-signing" \
		--pkcs11-pin-file "$PINF"
	assert_fails 2 "the PKCS#11 URI has the path attribute '$attr'" 'see '"'"'qs-jwt create-qseow --help'"'"
done

begin "unsupported query attribute: exit 2 naming it"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-sauce=$PINF" --pkcs11-pin-file "$PINF"
assert_fails 2 "the PKCS#11 URI has the query attribute 'pin-sauce'"

for t in cert public secret-key data; do
	begin "type=$t: exit 2"
	qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI;type=$t" --pkcs11-pin-file "$PINF"
	assert_fails 2 "type=private"
done

begin "type=private signs"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI;type=private" --pkcs11-pin-file "$PINF"
assert_ok_token && verify_jwt "$TOKEN" "$PUB01"

begin "not a pkcs11: URI: exit 2, the value not echoed (it may be a PIN in the wrong place)"
qs "${CLAIMS[@]}" --pkcs11-uri 'token=qlik;object=k-7781' --pkcs11-pin-file "$PINF"
assert_fails 2 "the value given (24 bytes, not shown) is not a PKCS#11 URI: it must start with 'pkcs11:'"
assert_not_contains "$ERR" "7781"

begin "a token key together with --cert-privatekey-file: exit 2"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF" \
	--cert-privatekey-file "$VEC/privatekey.pem"
assert_fails 2 'are both key sources; give exactly one'
assert_contains "$ERR" '--cert-privatekey-file'
assert_contains "$ERR" '--pkcs11-uri'

# ---- matching ----------------------------------------------------------------------

begin "no token matches: exit 4, the seen token URI pasted (with object=) signs"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=nope;object=jwt-signing' --pkcs11-pin-file "$PINF"
if assert_fails 4 'the PKCS#11 URI matches no token' 'tokens seen:' "  $TOKEN_URI"; then
	seen=$(grep -oE 'pkcs11:[^ ]*token=qlik$' "$ERR" | head -1)
	assert_eq "$TOKEN_URI" "$seen" "listed URI of token qlik"
	qs "${CLAIMS[@]}" --pkcs11-uri "$seen;object=jwt-signing" --pkcs11-pin-file "$PINF"
	assert_ok_token && verify_jwt "$TOKEN" "$PUB01"
fi

begin "no key matches: exit 4, the keys seen are listed"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=nope' --pkcs11-pin-file "$PINF"
assert_fails 4 "the PKCS#11 URI matches no private key on token 'qlik'" \
	"private keys on token 'qlik':" "  $TOKEN_URI;id=%01;object=jwt-signing;type=private"

begin "two RSA keys match: exit 4 listing both; each listed URI signs with its key"
hsm_new pair qlik "$PIN"
hsm_keygen jwt-signing 01
hsm_keygen second 02
P_PUB01=$(hsm_pubkey 01)
P_PUB02=$(hsm_pubkey 02)
P_URI="pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=$(hsm_serial);token=qlik"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;type=private' --pkcs11-pin-file "$HSM_DIR/pin"
if assert_fails 4 "the PKCS#11 URI matches 2 RSA private keys on token 'qlik'; add object= or id= to choose one"; then
	assert_contains "$ERR" "private keys on token 'qlik':"
	assert_contains "$ERR" "  $P_URI;id=%01;object=jwt-signing;type=private"
	assert_contains "$ERR" "  $P_URI;id=%02;object=second;type=private"
	sed -n 's/^.* ERROR:   \(pkcs11:.*\)$/\1/p' "$ERR" >"$T_TMP/listed"
	assert_eq 2 "$(grep -c . "$T_TMP/listed")" "number of listed key URIs"
	while IFS= read -r u; do
		case $u in
		*id=%01\;*) pub=$P_PUB01 ;;
		*id=%02\;*) pub=$P_PUB02 ;;
		*) fail "unexpected listed URI $u"; continue ;;
		esac
		qs "${CLAIMS[@]}" --pkcs11-uri "$u" --pkcs11-pin-file "$HSM_DIR/pin"
		assert_ok_token && verify_jwt "$TOKEN" "$pub"
	done <"$T_TMP/listed"
fi
hsm_use main qlik "$PIN"

begin "the same label twice: exit 4"
hsm_keygen second 02
hsm_keygen second 03
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=second' --pkcs11-pin-file "$PINF"
assert_fails 4 "the PKCS#11 URI matches 2 RSA private keys on token 'qlik'" \
	"  $TOKEN_URI;id=%02;object=second;type=private" "  $TOKEN_URI;id=%03;object=second;type=private"

begin "an EC key matching the URI: exit 4 saying it is not RSA"
ptool --keypairgen --key-type EC:prime256v1 --label ec-key --id 0e --usage-sign >/dev/null 2>&1
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=ec-key' --pkcs11-pin-file "$PINF"
assert_fails 4 "the PKCS#11 URI matches 1 private key(s) on token 'qlik', none of them RSA"
assert_contains "$ERR" "QSEoW tokens need an RSA key"

begin "an EC key beside one RSA key with the same id: the RSA key signs"
ptool --keypairgen --key-type EC:prime256v1 --label ec-twin --id 01 --usage-sign >/dev/null 2>&1
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;id=%01' --pkcs11-pin-file "$PINF"
assert_ok_token && verify_jwt "$TOKEN" "$PUB01"

begin "a private key without a public key object: the public half comes from the key"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T_TMP/lonely.pem" 2>/dev/null
openssl pkey -in "$T_TMP/lonely.pem" -pubout -out "$T_TMP/lonely.pub" 2>/dev/null
hsm_import "$T_TMP/lonely.pem" lonely 04 --no-public
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=lonely' --pkcs11-pin-file "$PINF" \
	--loglevel verbose
assert_ok_token && verify_jwt "$TOKEN" "$T_TMP/lonely.pub"
assert_log VERBOSE "public key for verification: the private key's modulus and exponent"

begin "no public key object, a certificate with the same id: the public half comes from it"
openssl req -x509 -new -key "$T_TMP/lonely.pem" -subj /CN=certonly -days 2 -outform DER \
	-out "$T_TMP/certonly.der" 2>/dev/null
hsm_import "$T_TMP/lonely.pem" certonly 05 --no-public
ptool --write-object "$T_TMP/certonly.der" --type cert --label certonly --id 05 >/dev/null 2>&1
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=certonly;type=private' --pkcs11-pin-file "$PINF" \
	--loglevel verbose
assert_ok_token && verify_jwt "$TOKEN" "$T_TMP/lonely.pub"
assert_log VERBOSE "public key for verification: the certificate with the same id"

begin "a certificate with the same id but for another key: the signature does not verify, no token"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T_TMP/other.pem" 2>/dev/null
openssl req -x509 -new -key "$T_TMP/other.pem" -subj /CN=other -days 2 -outform DER \
	-out "$T_TMP/other.der" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T_TMP/mismatch.pem" 2>/dev/null
hsm_import "$T_TMP/mismatch.pem" mismatch 06 --no-public
ptool --write-object "$T_TMP/other.der" --type cert --label mismatch --id 06 >/dev/null 2>&1
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=mismatch;type=private' --pkcs11-pin-file "$PINF"
assert_fails 1 "the signature made by key 'mismatch' on token 'qlik' does not verify with its public key; no token issued"

# ---- several tokens ----------------------------------------------------------------------

hsm_new multi alpha "$PIN"
hsm_keygen jwt-signing 01
PUB_A=$(hsm_pubkey 01)
softhsm_add_token beta "$PIN"
HSM_LABEL=beta
hsm_keygen jwt-signing 01
PUB_B=$(hsm_pubkey 01)
SERIAL_B=$(hsm_serial)
HSM_LABEL=alpha
SERIAL_A=$(hsm_serial)
URI_A="pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=$SERIAL_A;token=alpha"
URI_B="pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=$SERIAL_B;token=beta"

begin "a URI matching two tokens: exit 4 listing both"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:manufacturer=SoftHSM%20project;object=jwt-signing' \
	--pkcs11-pin-file "$HSM_DIR/pin"
assert_fails 4 'the PKCS#11 URI matches 2 tokens; add token= (or serial=) to choose one:' \
	"  $URI_A" "  $URI_B"

begin "each token chosen by token= signs with its own key"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=alpha;object=jwt-signing' --pkcs11-pin-file "$HSM_DIR/pin"
if assert_ok_token; then
	verify_jwt "$TOKEN" "$PUB_A"
	jwt_verifies "$TOKEN" "$PUB_B" && fail "the token of alpha verifies with the key of beta"
fi
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=beta;object=jwt-signing' --pkcs11-pin-file "$HSM_DIR/pin"
assert_ok_token && verify_jwt "$TOKEN" "$PUB_B"

begin "two tokens with the same label: exit 4 asking for serial=; each listed URI signs"
softhsm_add_token alpha "$PIN"
SERIAL_A2=$(pkcs11-tool --module "$SOFTHSM_MODULE" -L 2>/dev/null | sed -n 's/^ *serial num *: //p' |
	grep -vxF -e "$SERIAL_A" -e "$SERIAL_B" | grep -v '^$' | head -1)
SLOT_A2=$(hsm_slot_of "$SERIAL_A2")
URI_A2="pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=$SERIAL_A2;token=alpha"
pkcs11-tool --module "$SOFTHSM_MODULE" --slot "$SLOT_A2" --login --pin "$PIN" --keypairgen \
	--key-type rsa:2048 --label jwt-signing --id 01 --usage-sign >/dev/null 2>&1
pkcs11-tool --module "$SOFTHSM_MODULE" --slot "$SLOT_A2" --read-object --type pubkey --id 01 \
	-o "$T_TMP/a2.der" >/dev/null 2>&1
openssl pkey -pubin -inform DER -in "$T_TMP/a2.der" -out "$T_TMP/a2.pem" 2>/dev/null
assert_true test -s "$T_TMP/a2.pem"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=alpha;object=jwt-signing' --pkcs11-pin-file "$HSM_DIR/pin"
if assert_fails 4 'the PKCS#11 URI matches 2 tokens; add serial= to choose one:' "  $URI_A" "  $URI_A2"; then
	assert_not_contains "$ERR" "token=beta"
	qs "${CLAIMS[@]}" --pkcs11-uri "$URI_A;object=jwt-signing" --pkcs11-pin-file "$HSM_DIR/pin"
	assert_ok_token && verify_jwt "$TOKEN" "$PUB_A"
	qs "${CLAIMS[@]}" --pkcs11-uri "$URI_A2;object=jwt-signing" --pkcs11-pin-file "$HSM_DIR/pin"
	assert_ok_token && verify_jwt "$TOKEN" "$T_TMP/a2.pem"
	jwt_verifies "$TOKEN" "$PUB_A" && fail "the second alpha signed with the key of the first"
fi

finish
