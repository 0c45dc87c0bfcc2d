#!/usr/bin/env bash
# qs-jwt pkcs11 create-cert: the self-signed certificate of a key that is on
# the token already (made here by pkcs11-tool), signed by the token key,
# verified with openssl; the files appear together or not at all, and the
# certificate goes onto the token only with --store-on-token.
. "$(dirname "$0")/lib.sh"

PIN=3579-cert
hsm_new main qlik "$PIN"
PINF=$HSM_DIR/pin
hsm_keygen pre 42
hsm_keygen other 43
URI='pkcs11:token=qlik;object=pre'
# The module by path: loaded alone, whatever else is registered with p11-kit.
MOD=(--pkcs11-module "$SOFTHSM_MODULE")
cc() { qsp11 create-cert "${MOD[@]}" "$@"; }

# cert_days CERT: the certificate's validity in days (notAfter - notBefore).
cert_days() {
	python3 - "$1" <<'EOF'
import subprocess, sys, datetime
out = subprocess.run(["openssl", "x509", "-in", sys.argv[1], "-noout", "-startdate", "-enddate"],
                     capture_output=True, text=True, check=True).stdout
d = dict(l.split("=", 1) for l in out.splitlines())
f = "%b %d %H:%M:%S %Y GMT"
a = datetime.datetime.strptime(" ".join(d["notBefore"].split()), f)
b = datetime.datetime.strptime(" ".join(d["notAfter"].split()), f)
print((b - a).total_seconds() / 86400)
EOF
}

BEFORE=$(hsm_objects)

begin "create-cert for a key made by pkcs11-tool: both files, verified, the token unchanged"
O=$T_TMP/plain
mkdir "$O"
cc --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF" --cert-create-expires-days 10 --cert-file-prefix "$O/q_"
assert_rc 0
assert_empty_stdout
assert_dir_listing "$O" "q_publickey.cer q_publickey.pem"
assert_eq "$O/q_publickey.cer: OK" "$(openssl verify -CAfile "$O/q_publickey.cer" "$O/q_publickey.cer" 2>&1)" \
	"openssl verify of the self-signed certificate"
assert_file_eq "$(hsm_pubkey 42)" "$O/q_publickey.pem"
assert_eq "$(cat "$O/q_publickey.pem")" "$(pub_of_cert "$O/q_publickey.cer")" "the certificate's key"
assert_eq 10.0 "$(cert_days "$O/q_publickey.cer")" "days of validity"
assert_contains <(openssl x509 -in "$O/q_publickey.cer" -noout -subject) "subject=CN = qs-jwt"
assert_log INFO "wrote '$O/q_publickey.pem' and '$O/q_publickey.cer'; the private key stays on the token"
assert_log INFO "the certificate is for the key pkcs11:"
assert_eq "0644 0644" "$(stat -c %a "$O/q_publickey.pem" "$O/q_publickey.cer" | sed 's/^/0/' | tr '\n' ' ' | sed 's/ $//')" "file modes"
assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token (no --store-on-token)"

begin "a JWT signed by the key verifies against the new certificate"
qs "${CLAIMS[@]}" "${MOD[@]}" --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF"
assert_ok_token
printf '%s\n' "$TOKEN" >"$T_TMP/t.jwt"
run "$QSJWT_BIN" decode --jwt-file "$T_TMP/t.jwt" --cert-publickey-file "$O/q_publickey.cer" --minimal-output
assert_rc 0
assert_eq valid "$(json_get "$OUT" 'd["verification"]["status"]')" "verification status"

begin "the files exist already: exit 1, nothing written, nothing stored"
cp "$O/q_publickey.cer" "$T_TMP/cer.before"
cc --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF" --cert-create-expires-days 20 --cert-file-prefix "$O/q_" \
	--store-on-token
assert_fails 1 "'$O/q_publickey.pem' exists already; not overwriting it (--force replaces it)"
assert_file_eq "$T_TMP/cer.before" "$O/q_publickey.cer"
assert_same_text "$BEFORE" "$(hsm_objects)" "objects on the token"

begin "--force replaces both files with a new certificate"
cc --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF" --cert-create-expires-days 20 --cert-file-prefix "$O/q_" --force
assert_rc 0
assert_eq 20.0 "$(cert_days "$O/q_publickey.cer")" "days of validity"
assert_false cmp -s "$T_TMP/cer.before" "$O/q_publickey.cer"
assert_dir_listing "$O" "q_publickey.cer q_publickey.pem"

begin "--store-on-token: the certificate on the token with the key's label and id"
S=$T_TMP/stored
mkdir "$S"
cc --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF" --cert-create-expires-days 30 --cert-file-prefix "$S/" \
	--store-on-token
assert_rc 0
assert_log INFO "stored the certificate on the token beside the key pkcs11:"
assert_dir_listing "$S" "publickey.cer publickey.pem"
CERTS=$(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label qlik --list-objects --type cert 2>/dev/null)
assert_eq 1 "$(printf '%s\n' "$CERTS" | grep -c '^Certificate Object')" "certificates on the token"
assert_contains <(printf '%s\n' "$CERTS") "label:      pre"
assert_contains <(printf '%s\n' "$CERTS") "ID:         42"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label qlik --read-object --type cert --id 42 \
	-o "$T_TMP/oncard.der" >/dev/null 2>&1
assert_eq "$(openssl x509 -in "$S/publickey.cer" -outform DER | base64 -w0)" \
	"$(base64 -w0 <"$T_TMP/oncard.der")" "the certificate on the token"
STORED=$(hsm_objects)

begin "decode --pkcs11-uri finds the stored certificate beside the key"
run "$QSJWT_BIN" decode --jwt-file "$T_TMP/t.jwt" "${MOD[@]}" --pkcs11-uri "$URI" --minimal-output
assert_rc 0
assert_eq valid "$(json_get "$OUT" 'd["verification"]["status"]')" "verification status"

begin "--store-on-token when a certificate with the key's id is there: exit 1, nothing written"
D=$T_TMP/dup
mkdir "$D"
cc --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF" --cert-create-expires-days 30 --cert-file-prefix "$D/" \
	--store-on-token
assert_fails 1 "token 'qlik' already holds a certificate with this key's id; nothing was stored or written (remove it first, or leave out --store-on-token)"
assert_dir_listing "$D" ""
assert_same_text "$STORED" "$(hsm_objects)" "objects on the token"

begin "the second file cannot be put in place (link fails, injected by strace): exit 1, no file, the stored certificate removed"
command -v strace >/dev/null || { echo "missing tool: strace" >&2; exit 2; }
R=$T_TMP/race
mkdir "$R"
# LeakSanitizer cannot run in a process that is being traced: under ASan,
# leak detection is off for this run (the same path runs leak-checked above).
RUN_ENV=("ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
run strace -f -o /dev/null -e trace=link -e inject=link:error=EIO:when=2 \
	"$QSJWT_BIN" pkcs11 create-cert "${MOD[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=other' \
	--pkcs11-pin-file "$PINF" --cert-create-expires-days 30 --cert-file-prefix "$R/" --store-on-token
assert_fails 1 "Input/output error"
assert_dir_listing "$R" ""
assert_same_text "$STORED" "$(hsm_objects)" "objects on the token"
assert_eq 1 "$(pkcs11-tool --module "$SOFTHSM_MODULE" --token-label qlik --list-objects --type cert 2>/dev/null |
	grep -c '^Certificate Object')" "certificates on the token"

begin "a key the URI does not match: exit 4, the keys seen listed, nothing written"
cc --pkcs11-uri 'pkcs11:token=qlik;object=nope' --pkcs11-pin-file "$PINF" --cert-create-expires-days 30 \
	--cert-file-prefix "$D/"
assert_fails 4 "the PKCS#11 URI matches no private key on token 'qlik'" ";id=%42;object=pre;type=private"
assert_dir_listing "$D" ""

begin "PIN file readable by others: the command's error (exit 2), no module loaded, nothing written"
(umask 022 && echo 0000-bad >"$T_TMP/open-pin")
spy "$T_TMP/spy.log" qsp11 create-cert --pkcs11-module "$SPY_MODULE" --pkcs11-uri 'pkcs11:token=qlik;object=other' \
	--pkcs11-pin-file "$T_TMP/open-pin" --cert-create-expires-days 30 --cert-file-prefix "$D/"
assert_cli_error 2 "pkcs11 create-cert" "--pkcs11-pin-file '$T_TMP/open-pin' is readable by other users (mode 0644); make it private first: chmod 600 '$T_TMP/open-pin'"
assert_not_exists "$T_TMP/spy.log"
assert_dir_listing "$D" ""

begin "wrong PIN: exit 5, one C_Login, nothing written or stored"
(umask 077 && echo 0000-bad >"$T_TMP/bad")
spy "$T_TMP/spy.log" qsp11 create-cert --pkcs11-module "$SPY_MODULE" --pkcs11-uri 'pkcs11:token=qlik;object=other' \
	--pkcs11-pin-file "$T_TMP/bad" --cert-create-expires-days 30 --cert-file-prefix "$D/" --store-on-token
assert_fails 5 "wrong PIN for token 'qlik'"
assert_spy_count "$T_TMP/spy.log" C_Login 1
assert_dir_listing "$D" ""
assert_same_text "$STORED" "$(hsm_objects)" "objects on the token"

begin "usage errors: exit 2, nothing touched"
cc --pkcs11-pin-file "$PINF" --cert-create-expires-days 30
assert_fails 2 "required option '--pkcs11-uri <uri>' not specified"
cc --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF"
assert_fails 2 "required option '--cert-create-expires-days <days>' not specified"
cc --pkcs11-pin-file "$PINF"
assert_fails 2 "required options '--pkcs11-uri <uri>', '--cert-create-expires-days <days>' not specified"
cc --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF" --cert-create-expires-days 3 --keyid k1
assert_fails 2 "--keyid only applies with --qscloud-issuer"
cc --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF" --cert-create-expires-days 0
assert_fails 2 "--cert-create-expires-days must be a whole number of days from 1 to 36500, not '0'"
cc --pkcs11-uri 'pkcs11:token=qlik;object=pre;type=cert' --cert-create-expires-days 3
assert_rc 2
cc --pkcs11-uri "$URI" --cert-create-expires-days 3 --no-such-option
assert_rc 2
assert_same_text "$STORED" "$(hsm_objects)" "objects on the token"

begin "list-keys: a key with no label is shown as such, its URI names it by id"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label qlik --login --pin "$PIN" --keypairgen \
	--key-type rsa:2048 --id 99 --usage-sign >/dev/null 2>&1 || fail "pkcs11-tool cannot make an unlabelled key"
qsp11 list-keys "${MOD[@]}" --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-pin-file "$PINF"
assert_rc 0
assert_contains "$OUT" "key: (no label)"
assert_false grep -qx 'key: ' "$OUT"
assert_contains "$OUT" ";token=qlik;id=%99;type=private?module-path="
qsp11 list-keys "${MOD[@]}" --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-pin-file "$PINF" --json
assert_rc 0
assert_eq null "$(json_get "$OUT" '[k["label"] for k in d if k["id"] == "99"][0]')" "JSON label of the unlabelled key"

begin "create-cert for the unlabelled key, named by id"
U=$T_TMP/unlabelled
mkdir "$U"
cc --pkcs11-uri 'pkcs11:token=qlik;id=%99' --pkcs11-pin-file "$PINF" --cert-create-expires-days 5 \
	--cert-file-prefix "$U/"
assert_rc 0
assert_file_eq "$(hsm_pubkey 99)" "$U/publickey.pem"
assert_eq "$U/publickey.cer: OK" "$(openssl verify -CAfile "$U/publickey.cer" "$U/publickey.cer" 2>&1)" \
	"openssl verify of the certificate"

begin "--qscloud-issuer and --jwk: the identity-provider request with the key's thumbprint as kid, the JWK on stdout"
Q=$T_TMP/qscloud
mkdir "$Q"
cc --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF" --cert-create-expires-days 7 --cert-file-prefix "$Q/" \
	--qscloud-issuer tenant.example.qlikcloud.com --jwk
assert_rc 0
assert_dir_listing "$Q" "publickey.cer publickey.pem qscloud-idp.json"
WANT=$(want_jwk "$(hsm_pubkey 42)")
assert_eq "$(sed -n 1p <<<"$WANT")" "$(cat "$OUT")" "the JWK on stdout"
assert_eq "tenant.example.qlikcloud.com $(sed -n 2p <<<"$WANT")" \
	"$(json_get "$Q/qscloud-idp.json" 'd["options"]["issuer"] + " " + d["options"]["staticKeys"][0]["kid"]')" \
	"issuer and kid of qscloud-idp.json"
printf '%s\n' "$(json_get "$Q/qscloud-idp.json" 'd["options"]["staticKeys"][0]["pem"]')" >"$T_TMP/idp.cer"
assert_file_eq "$Q/publickey.cer" "$T_TMP/idp.cer"
assert_eq 0644 "$(stat -c %a "$Q/qscloud-idp.json" | sed 's/^/0/')" "mode of qscloud-idp.json"

begin "--qscloud-issuer with --keyid: that kid; an existing qscloud-idp.json is refused, nothing written"
cc --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF" --cert-create-expires-days 7 --cert-file-prefix "$Q/" \
	--qscloud-issuer tenant.example.qlikcloud.com --keyid my-key-1 --force
assert_rc 0
assert_empty_stdout
assert_eq my-key-1 "$(json_get "$Q/qscloud-idp.json" 'd["options"]["staticKeys"][0]["kid"]')" "kid"
rm "$Q/publickey.pem" "$Q/publickey.cer"
cc --pkcs11-uri "$URI" --pkcs11-pin-file "$PINF" --cert-create-expires-days 7 --cert-file-prefix "$Q/" \
	--qscloud-issuer tenant.example.qlikcloud.com --jwk
assert_fails 1 "'$Q/qscloud-idp.json' exists already; not overwriting it (--force replaces it)"
assert_dir_listing "$Q" "qscloud-idp.json"

begin "--help lists every option; --version"
cc --help
assert_rc 0
for o in --pkcs11-uri --pkcs11-module --pkcs11-pin-file --cert-create-expires-days --cert-file-prefix \
	--store-on-token --force --qscloud-issuer --keyid --jwk --loglevel --version; do
	assert_contains "$OUT" "$o"
done

cc --version
assert_rc 0
assert_eq 0.1.0 "$(cat "$OUT")" "--version"

finish
