#!/usr/bin/env bash
# The answers of C_Login that are not a wrong PIN, each with its own message,
# next step and exit code, after exactly one C_Login: CKR_PIN_EXPIRED,
# CKR_PIN_LEN_RANGE, CKR_USER_PIN_NOT_INITIALIZED, CKR_FUNCTION_CANCELED (a
# PIN pad), and a failed CKU_CONTEXT_SPECIFIC login for a key that asks for
# the PIN on every signature, after which the signing operation must be
# finished (no CKR_OPERATION_ACTIVE on the session's next C_SignInit).
#
# Why a forwarding module (tests/tokens/fwd_module.c, in front of SoftHSM2):
# no real module can be made to give these answers on demand. SoftHSM2
# answers CKR_PIN_INCORRECT for a PIN of any length it does not take, has no
# PIN expiry and no PIN pad; CKR_USER_PIN_NOT_INITIALIZED is also tested on
# SoftHSM2 itself (tests/softhsm/test_pin.sh). Everything but the one
# answer (token, key, login state, signatures) is SoftHSM2's.
. "$QSJWT_SOURCE_DIR/tests/softhsm/lib.sh"
[ -e "${QSJWT_FWD_MODULE:-}" ] || { echo "QSJWT_FWD_MODULE must name the forwarding module" >&2; exit 2; }

PIN=3579-codes
hsm_new codes codes "$PIN"
hsm_keygen jwt 01
hsm_keygen each 02 --usage-sign --always-auth
PUB=$(hsm_pubkey 01)
EACH_PUB=$(hsm_pubkey 02)
FWD_LOG=$T_TMP/fwd.log
export QSJWT_FWD_TARGET=$SOFTHSM_MODULE QSJWT_FWD_LOG=$FWD_LOG
FWD=(--pkcs11-module "$QSJWT_FWD_MODULE" --pkcs11-pin-file "$HSM_DIR/pin")

# fwd_calls: the forwarder's log, one call a line.
fwd_calls() { cat "$FWD_LOG" 2>/dev/null; }
fwd_count() { grep -c -- "^$1" "$FWD_LOG" 2>/dev/null || true; }

begin "the forwarder itself changes nothing: a token key signs through it, one C_Login"
rm -f "$FWD_LOG"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=codes;object=jwt' "${FWD[@]}"
assert_ok_token && verify_jwt "$TOKEN" "$PUB"
assert_eq 1 "$(fwd_count 'C_Login ')" "C_Login calls"

# login_case CODE MESSAGE [ENV...]: C_Login(CKU_USER) answers CODE; exit 5,
# MESSAGE on stderr, nothing on stdout, exactly one C_Login, nothing signed,
# the PIN nowhere.
login_case() {
	local code=$1 msg=$2
	shift 2
	for cmd in sign list-keys; do
		begin "$code ($cmd): exit 5, its own message and next step, one C_Login"
		rm -f "$FWD_LOG"
		if [ "$cmd" = sign ]; then
			with_env "QSJWT_FWD_LOGIN=$code" "$@" -- qs "${CLAIMS[@]}" \
				--pkcs11-uri 'pkcs11:token=codes;object=jwt' "${FWD[@]}"
		else
			with_env "QSJWT_FWD_LOGIN=$code" "$@" -- qsp11 list-keys \
				--pkcs11-uri 'pkcs11:token=codes' "${FWD[@]}"
		fi
		assert_fails 5
		assert_log ERROR "$msg"
		assert_eq 1 "$(grep -c 'ERROR: ' "$ERR")" "error lines"
		assert_eq "C_Login CKU_USER $code" "$(grep '^C_Login' "$FWD_LOG")" "the C_Login calls"
		assert_eq 0 "$(fwd_count C_Sign)" "signing calls"
		assert_nowhere "$PIN" "$OUT" "$ERR"
	done
}

login_case CKR_PIN_EXPIRED \
	"the user PIN of token 'codes' has expired; set a new one first (e.g. pkcs11-tool --login --change-pin), then run again"
# SoftHSM2 says its tokens take PINs of 4 to 255 bytes (CK_TOKEN_INFO).
login_case CKR_PIN_LEN_RANGE \
	"token 'codes' does not accept a PIN of that length (it takes 4 to 255 characters); check the PIN source (a PIN file's one trailing newline is ignored)"
login_case CKR_USER_PIN_NOT_INITIALIZED \
	"token 'codes' has no user PIN yet; set one with the SO PIN first (e.g. pkcs11-tool --login --login-type so --init-pin)"
login_case CKR_FUNCTION_CANCELED \
	"the PIN entry for token 'codes' was cancelled on the reader; nothing was signed. Run again and enter the PIN on the PIN pad" \
	QSJWT_FWD_PIN_PAD=1

begin "CKR_FUNCTION_CANCELED on a PIN pad: the user was told to use the pad, no PIN was read"
assert_log INFO "enter the PIN for token 'codes' on the reader's PIN pad"
assert_not_contains "$ERR" "PIN from"

# ---- CKU_CONTEXT_SPECIFIC ---------------------------------------------------------------

begin "always-authenticate key through the forwarder: user login, C_SignInit, context login, C_Sign; verifies"
rm -f "$FWD_LOG"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=codes;object=each' "${FWD[@]}"
assert_ok_token && verify_jwt "$TOKEN" "$EACH_PUB"
assert_eq "C_Login CKU_USER CKR_OK
C_SignInit CKR_OK
C_Login CKU_CONTEXT_SPECIFIC CKR_OK
C_Sign CKR_OK" "$(grep -v '^C_OpenSession\|^probe' "$FWD_LOG")" "calls"

for code in CKR_PIN_INCORRECT CKR_PIN_EXPIRED CKR_FUNCTION_CANCELED; do
	begin "failed context-specific login ($code): exit 5, its message, the operation finished (no CKR_OPERATION_ACTIVE after)"
	rm -f "$FWD_LOG"
	with_env "QSJWT_FWD_CONTEXT_LOGIN=$code" -- qs "${CLAIMS[@]}" \
		--pkcs11-uri 'pkcs11:token=codes;object=each' "${FWD[@]}"
	assert_fails 5
	assert_log ERROR "the key on token 'codes' asks for the PIN again for every signature (CKA_ALWAYS_AUTHENTICATE), and that login failed: $code; nothing was signed. Check the PIN source: this key may take a PIN of its own (some cards have a signature PIN)"
	assert_eq 1 "$(grep -c 'ERROR: ' "$ERR")" "error lines"
	# The C_Sign that ends the operation is refused by SoftHSM2 (no
	# context login): nothing is signed. Then, on closing the session,
	# the forwarder's own C_SignInit on it shows whether an operation was
	# left active.
	assert_eq "C_Login CKU_USER CKR_OK
C_SignInit CKR_OK
C_Login CKU_CONTEXT_SPECIFIC $code
C_Sign CKR_USER_NOT_LOGGED_IN
probe C_SignInit CKR_OK" "$(grep -v '^C_OpenSession' "$FWD_LOG")" "calls"
	assert_nowhere "$PIN" "$OUT" "$ERR"
done

begin "--batch --jobs 4 with an always-authenticate key whose context login fails: the PIN is tried once, not once per worker"
IN=$T_TMP/in.jsonl
for i in 1 2 3 4 5 6 7 8; do
	printf '{"userid":"u%d","userdir":"D","username":"U","useremail":"u@example.com"}\n' "$i"
done >"$IN"
rm -f "$FWD_LOG"
# The refusal comes after 2 s: the other workers' signatures have started
# and wait for the first one's login.
with_env QSJWT_FWD_CONTEXT_LOGIN=CKR_PIN_INCORRECT QSJWT_FWD_CONTEXT_DELAY_MS=2000 -- qs --batch "$IN" --jobs 4 --expires 1h \
	--audience qlik --pkcs11-uri 'pkcs11:token=codes;object=each' "${FWD[@]}"
assert_rc 1
assert_log ERROR "the key on token 'codes' asks for the PIN again for every signature (CKA_ALWAYS_AUTHENTICATE), and that login failed: CKR_PIN_INCORRECT"
assert_eq 1 "$(fwd_count 'C_Login CKU_CONTEXT_SPECIFIC')" "context-specific C_Login calls"
assert_log ERROR "key 'each' on token 'codes': the login for an earlier signature failed; the PIN is not tried again"
assert_eq 0 "$(fwd_count 'C_Sign CKR_OK')" "signatures"
assert_eq 0 "$(fwd_count 'probe C_SignInit CKR_OPERATION_ACTIVE')" "operations left active"
assert_not_contains "$OUT" '"token"'

finish
