#!/usr/bin/env bash
# The p11-kit registry with a module that cannot work here: tpm2-pkcs11
# registered (in a private mount namespace only: a tmpfs over
# /usr/share/p11-kit/modules holding just it and SoftHSM2) with no TPM
# reachable. Searching the registry must give the same result as without it;
# a module named by path or by module-name= is the only one initialised; and
# p11-kit's own disable-in keeps a module out of qs-jwt.
if [ -z "${QSJWT_REG_NS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
		echo "test_registry: SKIPPED: cannot make a private mount namespace (unshare -m, as root) to register modules without touching the machine"
		exit 77
	fi
	QSJWT_REG_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

tokens_fetch
TPM_MODULE=$QSJWT_TOKENS_DIR/libtpm2-pkcs11-1/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1
[ -e "$TPM_MODULE" ] || skip "tpm2-pkcs11 module not found: $TPM_MODULE"
REG=/usr/share/p11-kit/modules
mount -t tmpfs -o mode=0755 tmpfs "$REG" || skip "cannot mount a tmpfs over $REG in the private namespace"
[ -d /etc/pkcs11/modules ] && { mount -t tmpfs -o mode=0755 tmpfs /etc/pkcs11/modules || skip "cannot hide /etc/pkcs11/modules"; }
printf 'module: %s\n' "$SOFTHSM_MODULE" >"$REG/softhsm2.module"
printf 'module: %s\n' "$TPM_MODULE" >"$REG/tpm2_pkcs11.module"
# No TPM: a port nothing listens on; a store of its own.
port=$(free_port_pair)
export TPM2_PKCS11_TCTI="swtpm:host=127.0.0.1,port=$port" TPM2_PKCS11_STORE=$T_TMP/tpm2-store
mkdir -p "$TPM2_PKCS11_STORE"

PIN=8642-reg
hsm_new reg qlik "$PIN"
hsm_keygen jwt 01
PUBK=$(hsm_pubkey 01)
URI='pkcs11:token=qlik;object=jwt'

begin "the registry with tpm2-pkcs11 and no TPM: list-tokens still lists the SoftHSM2 token, exit 0"
# tpm2-pkcs11 1.9 leaks when its C_Initialize fails.
module_leaks_env
qsp11 list-tokens
assert_rc 0
assert_contains "$OUT" "token: qlik"
# tpm2-pkcs11 was loaded and failed (its own lines on stderr, which qs-jwt
# cannot keep it from printing): the result is the same.
assert_contains "$ERR" "Failed to instantiate TCTI"
assert_not_contains "$OUT" "module: tpm2_pkcs11"

begin "the registry with tpm2-pkcs11 and no TPM: a token key signs, openssl verifies"
module_leaks_env
qs "${CLAIMS[@]}" --pkcs11-uri "$URI" --pkcs11-pin-file "$HSM_DIR/pin"
assert_ok_token
verify_jwt "$TOKEN" "$PUBK"

begin "--pkcs11-module: that module alone; tpm2-pkcs11 is never initialised (no TCTI errors)"
qs "${CLAIMS[@]}" --pkcs11-module "$SOFTHSM_MODULE" --pkcs11-uri "$URI" --pkcs11-pin-file "$HSM_DIR/pin"
assert_ok_token
assert_not_contains "$ERR" "tcti"
assert_not_contains "$ERR" "ERROR:"

begin "module-name=softhsm2: only that module is initialised; the printed URI keeps module-name="
qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik?module-name=softhsm2' --pkcs11-pin-file "$HSM_DIR/pin"
assert_rc 0
assert_not_contains "$ERR" "tcti"
assert_contains "$OUT" ";object=jwt;type=private?module-name=softhsm2"

begin "disable-in: qs-jwt in the module file keeps tpm2-pkcs11 out of a registry search"
printf 'module: %s\ndisable-in: qs-jwt\n' "$TPM_MODULE" >"$REG/tpm2_pkcs11.module"
qs "${CLAIMS[@]}" --pkcs11-uri "$URI" --pkcs11-pin-file "$HSM_DIR/pin"
assert_ok_token
assert_not_contains "$ERR" "tcti"
assert_not_contains "$ERR" "ERROR:"

finish
