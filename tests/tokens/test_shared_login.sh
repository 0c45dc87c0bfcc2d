#!/usr/bin/env bash
# CKR_USER_ALREADY_LOGGED_IN on SoftHSM2: another user of the module in the
# same process is logged in; qs-jwt uses that login and does not log it out
# (tests/tokens/shared_login.c does the calls; pkcs11-spy counts them).
. "$(dirname "$0")/../softhsm/lib.sh"
[ -x "${QSJWT_SHARED_LOGIN:-}" ] || { echo "QSJWT_SHARED_LOGIN must name the shared_login program" >&2; exit 2; }

PIN=9753-shared
hsm_new shared qlik "$PIN"
hsm_keygen jwt 01

begin "another user logged in: qs-jwt signs on that login and leaves it logged in"
run "$QSJWT_SHARED_LOGIN" "$SOFTHSM_MODULE" 'pkcs11:token=qlik;object=jwt' "$HSM_DIR/pin"
assert_rc 0
assert_contains "$OUT" "ok: qs-jwt signed while the token was logged in already"
assert_contains "$OUT" "ok: the other user is still logged in after qs-jwt finished"

begin "through pkcs11-spy: qs-jwt's C_Login got CKR_USER_ALREADY_LOGGED_IN, one C_Logout (the other user's)"
with_env "PKCS11SPY=$SOFTHSM_MODULE" "PKCS11SPY_OUTPUT=$T_TMP/spy.log" -- \
	run "$QSJWT_SHARED_LOGIN" "$SPY_MODULE" 'pkcs11:token=qlik;object=jwt' "$HSM_DIR/pin"
assert_rc 0
assert_spy_count "$T_TMP/spy.log" C_Login 2
assert_spy_count "$T_TMP/spy.log" C_Logout 1
assert_contains "$T_TMP/spy.log" "CKR_USER_ALREADY_LOGGED_IN"

finish
