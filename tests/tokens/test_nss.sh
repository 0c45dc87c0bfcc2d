#!/usr/bin/env bash
# qs-jwt on NSS softokn 3.87 (libnss3: a library, registered with nothing),
# a module that needs its configuration as C_Initialize's pReserved
# ("configdir='sql:DIR' ..."): through --pkcs11-module-init, and through a
# p11-kit module file's x-init-reserved, which the test registers only in a
# private mount namespace (an overlay on /etc), so the machine never sees it.
# pkcs11-tool reads the token through p11-kit-proxy.so there.
if [ -z "${QSJWT_NSS_NS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
		echo "test_nss: SKIPPED: cannot make a private mount namespace (unshare -m, as root) to register NSS softokn with p11-kit without touching the machine"
		exit 77
	fi
	QSJWT_NSS_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cases.sh"

SOFTOKN=/usr/lib/x86_64-linux-gnu/libsoftokn3.so
[ -e "$SOFTOKN" ] || skip "NSS softokn not found: $SOFTOKN (package libnss3)"
command -v certutil >/dev/null || skip "missing tool: certutil (package libnss3-tools)"
PROXY=/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so

PIN=5791-nss
DB=$T_TMP/nssdb
mkdir -p "$DB"
(umask 077 && printf '%s\n' "$PIN" >"$T_TMP/nss.pin")
certutil -N -d "sql:$DB" -f "$T_TMP/nss.pin" >"$T_TMP/certutil.log" 2>&1 ||
	{ cat "$T_TMP/certutil.log" >&2; echo "certutil -N failed" >&2; exit 2; }
INIT="configdir='sql:$DB' certPrefix='' keyPrefix='' secmod='secmod.db' flags="

TK_MODULE=$SOFTOKN TK_LABEL='NSS Certificate DB' TK_TOKEN='NSS%20Certificate%20DB'
TK_PIN=$PIN TK_PINF=$T_TMP/nss.pin TK_OBJECTS=tk_objects TK_BITS=4096 TK_INIT=$INIT
TK_TOOL_MODULE=$PROXY
# NSS softokn 3.87 does not report CKA_LOCAL to pkcs11-tool for generated keys.
TK_LOCAL=
tk_setup

begin "by path with no init string: exit 4, and the message says what to do"
qsp11 list-tokens --pkcs11-module "$SOFTOKN"
assert_fails 4 "PKCS#11 module '$SOFTOKN' failed to initialise (C_Initialize): CKR_ARGUMENTS_BAD; it needs initialisation arguments (NSS softokn: \"configdir='sql:DIR' certPrefix='' keyPrefix='' secmod='secmod.db' flags=\"): give them with --pkcs11-module-init, or register the module with p11-kit with 'x-init-reserved:' and name it with module-name="

begin "--pkcs11-module-init without a module path: exit 2, the command's error says why"
qsp11 list-tokens --pkcs11-module-init "$INIT"
assert_cli_error 2 "pkcs11 list-tokens" "--pkcs11-module-init needs the module named by path (--pkcs11-module or the URI's module-path=); a module named with module-name= takes its p11-kit configuration's x-init-reserved"

# From here on, NSS softokn is registered with p11-kit, in this namespace only.
mkdir -p "$T_TMP/etc.up" "$T_TMP/etc.work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T_TMP/etc.up,workdir=$T_TMP/etc.work" /etc ||
	skip "cannot lay an overlay on /etc in the private namespace"
mkdir -p /etc/pkcs11/modules
printf 'module: %s\nx-init-reserved: %s\n' "$SOFTOKN" "$INIT" >/etc/pkcs11/modules/qsjwt-nss.module

begin "module-name= of the registered module: its x-init-reserved is used"
# NSS softokn 3.87 initialised by p11-kit leaks (reported after p11-kit
# unloaded it); with --pkcs11-module-init, in the cases below, it does not.
module_leaks_env
qsp11 list-tokens --pkcs11-uri 'pkcs11:token=NSS%20Certificate%20DB?module-name=qsjwt-nss' --loglevel verbose
assert_rc 0
assert_contains "$ERR" "PKCS#11 module 'qsjwt-nss' (registered with p11-kit: $SOFTOKN), loaded alone, with its x-init-reserved"
assert_contains "$OUT" "token: NSS Certificate DB"
assert_contains "$OUT" "manufacturer: Mozilla Foundation"
# The printed URI finds the same module again: module-name= is kept.
assert_contains "$OUT" ";token=NSS%20Certificate%20DB?module-name=qsjwt-nss"
assert_not_contains "$OUT" "module-path="

begin "module-name= of a module file whose x-init-reserved the module refuses: exit 4, the message says which string"
printf 'module: %s\nx-init-reserved: %s\n' "$SOFTOKN" \
	"configdir='sql:$T_TMP/no/such/dir' certPrefix='' keyPrefix='' secmod='secmod.db' flags=readOnly" \
	>/etc/pkcs11/modules/qsjwt-nss-bad.module
module_leaks_env
qsp11 list-tokens --pkcs11-uri 'pkcs11:?module-name=qsjwt-nss-bad'
assert_fails 4 "PKCS#11 module 'qsjwt-nss-bad' failed to initialise (C_Initialize) with the x-init-reserved of its p11-kit module file: CKR 0x"
rm /etc/pkcs11/modules/qsjwt-nss-bad.module

begin "by path of the registered module, no init string: initialised with its p11-kit configuration"
module_leaks_env
qsp11 list-tokens --pkcs11-module "$SOFTOKN" --loglevel verbose
assert_rc 0
assert_contains "$OUT" "token: NSS Certificate DB"
assert_log VERBOSE "PKCS#11 module '$SOFTOKN': initialised with the p11-kit configuration of module 'qsjwt-nss'"

case_list_tokens
case_cert_create
case_key_attributes
case_list_keys
case_sign "token 'NSS Certificate DB' signs RS256 with CKM_SHA256_RSA_PKCS"
case_decode
case_batch
# NSS reports no session limit.
case_batch_default ""
case_wrong_pin
case_create_cert_existing
case_duplicate_and_sigint

finish
