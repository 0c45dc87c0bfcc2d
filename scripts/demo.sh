#!/usr/bin/env bash
# The main job, end to end, on a fresh machine: install what is missing,
# build, make a fresh SoftHSM2 token in a temporary directory, generate the
# signing key pair and certificate ON the token, print a JWT signed there,
# and verify it with openssl. Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# build.sh installs only what the demo needs (scripts/install-deps.sh --demo).
qsjwt=$(scripts/build.sh)
# shellcheck source=softhsm.sh
. scripts/softhsm.sh

work=$(mktemp -d /tmp/qs-jwt-demo.XXXXXX)
echo "== working in $work"
softhsm_new "$work/softhsm" qlik "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
mkdir "$work/out"

echo "== a fresh SoftHSM2 token"
"$qsjwt" pkcs11 list-tokens --pkcs11-uri 'pkcs11:token=qlik'

echo
echo "== key pair and certificate generated on the token, JWT signed there"
uri='pkcs11:token=qlik;object=jwt-signing'
token=$("$qsjwt" create-qseow \
	--pkcs11-uri "$uri" --pkcs11-pin-file "$work/softhsm/pin" \
	--cert-create true --cert-create-expires-days 365 --cert-file-prefix "$work/out/" \
	--userdir ACME --userid jdoe --username 'John Doe' --useremail john.doe@example.com \
	--groups Sales Finance --expires 60m --audience qlik-aud)
echo
echo "JWT:"
echo "$token"

echo
echo "== the key on the token (sensitive, never extractable)"
"$qsjwt" pkcs11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-pin-file "$work/softhsm/pin"

echo
echo "== verify the JWT with openssl against the certificate for the virtual proxy"
cat >"$work/verify.sh" <<'VERIFY'
#!/usr/bin/env bash
# Usage: verify.sh TOKEN CERT.cer -- checks an RS256 JWT with openssl.
set -euo pipefail
tok=$1 cert=$2 dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '%s' "${tok%.*}" >"$dir/input"
sig=$(printf '%s' "${tok##*.}" | tr '_-' '/+')
while [ $(( ${#sig} % 4 )) -ne 0 ]; do sig="$sig="; done
printf '%s' "$sig" | openssl base64 -d -A >"$dir/sig"
openssl x509 -in "$cert" -pubkey -noout >"$dir/pub.pem"
openssl dgst -sha256 -verify "$dir/pub.pem" -signature "$dir/sig" "$dir/input"
VERIFY
chmod +x "$work/verify.sh"
echo "\$ $work/verify.sh \"\$TOKEN\" $work/out/publickey.cer"
"$work/verify.sh" "$token" "$work/out/publickey.cer"
echo
echo "The claims:"
p=$(printf '%s' "$token" | cut -d. -f2 | tr '_-' '/+')
while [ $(( ${#p} % 4 )) -ne 0 ]; do p="$p="; done
printf '%s' "$p" | openssl base64 -d -A
echo
echo
echo "Give $work/out/publickey.cer to the QSEoW virtual proxy (JWT authentication)."
echo "The next run signs with the same key (the token lives in $work/softhsm, which"
echo "SoftHSM2 finds through SOFTHSM2_CONF):"
echo
echo "  export SOFTHSM2_CONF=$work/softhsm/softhsm2.conf"
echo "  $qsjwt create-qseow --pkcs11-uri '$uri' \\"
echo "    --pkcs11-pin-file $work/softhsm/pin --userdir ACME --userid jdoe \\"
echo "    --username 'John Doe' --useremail john.doe@example.com --expires 60m --audience qlik-aud"
