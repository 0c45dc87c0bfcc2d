#!/usr/bin/env bash
# qs-jwt on openCryptoki 3.8's soft token, with its own pkcsslotd, in a
# private mount and IPC namespace (tests/tokens/lib.sh: ock_new): nothing on
# the machine changes. Every signature is verified with openssl; the
# token's objects are read with pkcs11-tool.

# First of all, before lib.sh makes anything: go into the namespace (the
# script runs again there) or skip, saying why.
if [ -z "${QSJWT_OCK_NS:-}" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "test_opencryptoki: SKIPPED: needs root here (a private mount namespace for openCryptoki's compiled-in paths)"
		exit 77
	fi
	if ! unshare -m -i --propagation private true 2>/dev/null; then
		echo "test_opencryptoki: SKIPPED: cannot make a private mount namespace (unshare -m -i), and openCryptoki's compiled-in paths would otherwise touch the machine"
		exit 77
	fi
	QSJWT_OCK_NS=1 exec unshare -m -i --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cases.sh"

ock_new ock 1234ock
# openCryptoki unloads its soft token library (dlclose) in C_Finalize, and
# p11-kit unloads libopencryptoki itself: a leak in either is reported by
# LeakSanitizer from "<unknown module>", which no suppression can name.
# Preloaded, they stay mapped, and tests/lsan.supp names them.
OCK_STDLL=/usr/lib/x86_64-linux-gnu/opencryptoki/stdll/libpkcs11_sw.so
export LD_PRELOAD="$OCK_MODULE:$OCK_STDLL${LD_PRELOAD:+:$LD_PRELOAD}"
# Except under pkcs11-spy: a preloaded libopencryptoki's C_* symbols would
# take the place of the spy's own (it would log nothing).
TK_SPY_ENV=("LD_PRELOAD=$OCK_STDLL")
# openCryptoki has no frame pointers: the full unwinder finds the frames
# tests/lsan.supp names (harmless without sanitizers).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
TK_MODULE=$OCK_MODULE TK_LABEL=ock TK_PIN=1234ock TK_PINF=$OCK_PINF TK_OBJECTS=tk_objects
TK_BITS=4096

tk_setup
case_list_tokens
assert_contains "$OUT" "manufacturer: IBM Corp."
assert_contains "$OUT" "model: IBM SoftTok"
case_cert_create
case_key_attributes
case_list_keys
# openCryptoki 3.8's soft token lists no CKM_SHA256_RSA_PKCS.
case_sign "token 'ock' signs RS256 with CKM_RSA_PKCS over the SHA-256 DigestInfo (it has no usable CKM_SHA256_RSA_PKCS)"
case_decode
case_batch
# ulMaxSessionCount 0xffffffff: no limit.
case_batch_default ""
case_wrong_pin
case_create_cert_existing
case_duplicate_and_sigint

finish
