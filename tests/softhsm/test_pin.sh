#!/usr/bin/env bash
# The user PIN: its sources and their order, PIN files, pin-value, a wrong PIN
# tried exactly once, locked and final-try PINs never tried (counted with
# OpenSC's pkcs11-spy.so), no PIN in any log line, and keys that want the PIN
# for every signature (CKA_ALWAYS_AUTHENTICATE).
. "$(dirname "$0")/lib.sh"

# A recognisable PIN: it must never show up in what qs-jwt prints.
PIN='pin-7f3a9c'
WRONG='wrong-4d2e1b'
hsm_new main qlik "$PIN"
hsm_keygen jwt-signing 01
PUB=$(hsm_pubkey 01) || exit 2
KEY_URI='pkcs11:token=qlik;object=jwt-signing'
SPY_LOG=$T_TMP/spy.log
S=$T_TMP/secrets
mkdir -m 700 "$S"

# pinfile NAME CONTENT [MODE]: a PIN file (printf %b CONTENT), mode 600 unless given.
pinfile() {
	(umask 077 && printf '%b' "$2" >"$S/$1")
	chmod "${3:-600}" "$S/$1"
	echo "$S/$1"
}

# The last run printed neither the PIN nor the wrong PIN.
assert_no_pin_printed() {
	assert_nowhere "$PIN" "$OUT" "$ERR"
	assert_nowhere "$WRONG" "$OUT" "$ERR"
}

# ---- PIN files ---------------------------------------------------------------------------

begin "PIN file ending in \\n: signs; one C_Initialize, one session, one C_Login, one C_Finalize"
f=$(pinfile lf "$PIN\n")
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SPY_MODULE" --pkcs11-pin-file "$f"
assert_ok_token && verify_jwt "$TOKEN" "$PUB"
assert_spy_count "$SPY_LOG" C_Login 1
assert_spy_count "$SPY_LOG" C_Initialize 1
assert_spy_count "$SPY_LOG" C_OpenSession 1
assert_spy_count "$SPY_LOG" C_Sign 1
assert_spy_count "$SPY_LOG" C_Finalize 1
assert_eq C_Finalize "$(spy_calls "$SPY_LOG" | tail -n 1)" "the last PKCS#11 call"

begin "PIN file ending in \\r\\n: signs"
f=$(pinfile crlf "$PIN\r\n")
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$f"
assert_ok_token && verify_jwt "$TOKEN" "$PUB"

begin "PIN file without a newline: signs"
f=$(pinfile bare "$PIN")
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$f"
assert_ok_token && verify_jwt "$TOKEN" "$PUB"

SIGNED=$TOKEN

begin "PIN file with two newlines: only one is stripped, so the PIN is wrong (exit 5)"
f=$(pinfile twolf "$PIN\n\n")
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SPY_MODULE" --pkcs11-pin-file "$f"
assert_fails 5 "wrong PIN for token 'qlik'"
assert_spy_count "$SPY_LOG" C_Login 1

begin "PIN file with a trailing space: not stripped, wrong PIN (exit 5)"
f=$(pinfile space "$PIN \n")
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$f"
assert_fails 5 "wrong PIN for token 'qlik'"

for mode in 640 604 644; do
	begin "PIN file of mode $mode: exit 2, no module loaded"
	f=$(pinfile "mode$mode" "$PIN\n" "$mode")
	spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SPY_MODULE" \
		--pkcs11-pin-file "$f"
	assert_cli_error 2 create-qseow "--pkcs11-pin-file '$f' is readable by other users (mode 0$mode); make it private first: chmod 600 '$f'"
	assert_not_exists "$SPY_LOG" # found before the module was loaded
	assert_no_pin_printed
done

begin "pin-source file readable by others: exit 2, no module loaded"
f=$(pinfile src644 "$PIN\n" 644)
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-source=$f" --pkcs11-module "$SPY_MODULE"
assert_cli_error 2 create-qseow "--pkcs11-uri: pin-source '$f' is readable by other users (mode 0644); make it private first: chmod 600 '$f'"
assert_not_exists "$SPY_LOG" # found before the module was loaded

begin "missing PIN file: exit 1 naming it"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$S/nope"
assert_cli_error 1 create-qseow "cannot read --pkcs11-pin-file '$S/nope': No such file or directory"

begin "PIN file holding only a newline: exit 2"
f=$(pinfile empty "\n")
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$f"
assert_cli_error 2 create-qseow "--pkcs11-pin-file '$f' holds an empty value"

begin "PIN file of 0 bytes: exit 2"
f=$(pinfile zero "")
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$f"
assert_cli_error 2 create-qseow "--pkcs11-pin-file '$f' is empty"

LONG_PIN=$(head -c 256 /dev/zero | tr '\0' 7)
begin "PIN file holding 256 bytes: exit 2, no module loaded"
f=$(pinfile long "$LONG_PIN\n")
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SPY_MODULE" --pkcs11-pin-file "$f"
assert_cli_error 2 create-qseow "--pkcs11-pin-file '$f' holds a PIN longer than 255 bytes"
assert_not_exists "$SPY_LOG"

begin "QSJWT_PKCS11_PIN of 256 bytes: exit 2"
with_env "QSJWT_PKCS11_PIN=$LONG_PIN" -- qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI"
assert_cli_error 2 create-qseow "QSJWT_PKCS11_PIN holds a PIN longer than 255 bytes"

begin "pin-source holding 256 bytes: exit 2"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-source=$f"
assert_cli_error 2 create-qseow "--pkcs11-uri: pin-source '$f' holds a PIN longer than 255 bytes"

begin "pin-source missing: exit 1 naming it"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-source=file://$S/nope"
assert_cli_error 1 create-qseow "--pkcs11-uri: cannot read pin-source '$S/nope': No such file or directory"

begin "pin-source a directory: exit 1 (pkcs11 list-keys)"
run "$QSJWT_BIN" pkcs11 list-keys --pkcs11-uri "pkcs11:token=qlik?pin-source=$S"
assert_cli_error 1 "pkcs11 list-keys" "--pkcs11-uri: cannot read pin-source '$S': it is a directory, not a file"

begin "pin-source readable by others: exit 2 (decode)"
f=$(pinfile src640 "$PIN\n" 640)
run "$QSJWT_BIN" decode --jwt "$SIGNED" --pkcs11-uri "$KEY_URI?pin-source=$f"
assert_cli_error 2 decode "--pkcs11-uri: pin-source '$f' is readable by other users (mode 0640); make it private first: chmod 600 '$f'"

begin "--pkcs11-pin-file without --pkcs11-uri: exit 2"
qs "${CLAIMS[@]}" --cert-privatekey-file "$VEC/privatekey.pem" --pkcs11-pin-file "$HSM_DIR/pin"
assert_fails 2 "--pkcs11-pin-file only applies with --pkcs11-uri"

# ---- the other sources and their order ----------------------------------------------

RIGHT_F=$(pinfile right "$PIN\n")
WRONG_F=$(pinfile wrong "$WRONG\n")

begin "QSJWT_PKCS11_PIN: signs, one C_Login"
with_env "QSJWT_PKCS11_PIN=$PIN" -- spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" \
	--pkcs11-module "$SPY_MODULE"
assert_ok_token && verify_jwt "$TOKEN" "$PUB"
assert_spy_count "$SPY_LOG" C_Login 1

begin "pin-source=PATH in the URI: signs"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-source=$RIGHT_F"
assert_ok_token && verify_jwt "$TOKEN" "$PUB"

begin "pin-source=file:///PATH in the URI: signs"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-source=file://$RIGHT_F"
assert_ok_token && verify_jwt "$TOKEN" "$PUB"

begin "pin-source=file:RELATIVE: exit 2"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-source=file:secrets/right"
assert_cli_error 2 create-qseow "--pkcs11-uri: pin-source is a file: URI without an absolute path (it must be file:/PATH or file:///PATH)"
# The value is not echoed: where a file's name belonged, it may be the PIN.
assert_not_contains "$ERR" "secrets/right"

begin "order: pin-source wins over --pkcs11-pin-file and QSJWT_PKCS11_PIN"
with_env "QSJWT_PKCS11_PIN=$WRONG" -- spy "$SPY_LOG" qs "${CLAIMS[@]}" \
	--pkcs11-uri "$KEY_URI?pin-source=$RIGHT_F" --pkcs11-module "$SPY_MODULE" --pkcs11-pin-file "$WRONG_F"
assert_ok_token && verify_jwt "$TOKEN" "$PUB"
assert_spy_count "$SPY_LOG" C_Login 1

begin "order: a wrong pin-source is used even when --pkcs11-pin-file is right (exit 5)"
with_env "QSJWT_PKCS11_PIN=$PIN" -- spy "$SPY_LOG" qs "${CLAIMS[@]}" \
	--pkcs11-uri "$KEY_URI?pin-source=$WRONG_F" --pkcs11-module "$SPY_MODULE" --pkcs11-pin-file "$RIGHT_F"
assert_fails 5 "wrong PIN for token 'qlik'"
assert_spy_count "$SPY_LOG" C_Login 1

begin "order: --pkcs11-pin-file wins over QSJWT_PKCS11_PIN"
with_env "QSJWT_PKCS11_PIN=$WRONG" -- qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$RIGHT_F"
assert_ok_token && verify_jwt "$TOKEN" "$PUB"

begin "order: a wrong --pkcs11-pin-file is used even when QSJWT_PKCS11_PIN is right (exit 5)"
with_env "QSJWT_PKCS11_PIN=$PIN" -- spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" \
	--pkcs11-module "$SPY_MODULE" --pkcs11-pin-file "$WRONG_F"
assert_fails 5 "wrong PIN for token 'qlik'"
assert_spy_count "$SPY_LOG" C_Login 1

begin "no PIN source and no terminal: exit 5 naming the sources, no login tried"
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SPY_MODULE"
assert_fails 5 "token 'qlik' needs a PIN and none was given" "pin-source=FILE" "--pkcs11-pin-file FILE" \
	"QSJWT_PKCS11_PIN"
assert_spy_count "$SPY_LOG" C_Login 0

begin "QSJWT_PKCS11_PIN set but empty counts as no PIN: exit 5"
with_env "QSJWT_PKCS11_PIN=" -- qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI"
assert_fails 5 "needs a PIN and none was given"

begin "terminal prompt: the PIN typed (not echoed) signs"
run_tty 'PIN for token' "$PIN" "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --loglevel debug
if assert_ok_token; then
	verify_jwt "$TOKEN" "$PUB"
	assert_contains "$TTY_LOG" "PIN for token 'qlik': "
	assert_nowhere "$PIN" "$TTY_LOG" "$OUT" "$ERR"
fi

begin "terminal prompt: a wrong PIN typed gives exit 5 and is not retried"
spy "$SPY_LOG" run_tty 'PIN for token' "$WRONG" "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" \
	--pkcs11-module "$SPY_MODULE"
assert_fails 5 "wrong PIN for token 'qlik'"
assert_spy_count "$SPY_LOG" C_Login 1
assert_eq 1 "$(grep -c "PIN for token 'qlik'" "$TTY_LOG")" "number of prompts"
assert_nowhere "$WRONG" "$TTY_LOG" "$ERR"

begin "Ctrl-C at the PIN prompt: exit 130 (not 5), no login tried, the terminal echoes again"
spy "$SPY_LOG" run_tty 'PIN for token' $'\003' "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" \
	--pkcs11-module "$SPY_MODULE"
assert_rc 130
assert_empty_stdout
assert_contains "$TTY_LOG" "PIN for token 'qlik': "
assert_not_contains "$ERR" "login failed"
[ -e "$SPY_LOG" ] && assert_spy_count "$SPY_LOG" C_Login 0

# ---- pin-value -----------------------------------------------------------------------------

begin "pin-value in the URI: exit 2 unless --allow-pin-in-uri, no login tried"
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-value=$PIN" --pkcs11-module "$SPY_MODULE"
assert_fails 2 "the PKCS#11 URI holds the PIN (pin-value)" "--allow-pin-in-uri"
assert_not_contains "$ERR" "$PIN"
[ -e "$SPY_LOG" ] && assert_spy_count "$SPY_LOG" C_Login 0

begin "pin-value in the URI with --allow-pin-in-uri: signs"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-value=$PIN" --allow-pin-in-uri --loglevel debug
assert_ok_token && verify_jwt "$TOKEN" "$PUB"
assert_nowhere "$PIN" "$OUT" "$ERR"

begin "pin-value of 256 bytes or more: exit 2 with a message, no login tried"
LONG_PIN=$(printf 'A%.0s' $(seq 256))
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-value=$LONG_PIN" --allow-pin-in-uri \
	--pkcs11-module "$SPY_MODULE"
assert_fails 2 "the PIN in the PKCS#11 URI (pin-value) is longer than 255 bytes"
assert_eq 1 "$(grep -ci 'error' "$ERR")" "error lines"
assert_not_contains "$ERR" "$LONG_PIN"
[ -e "$SPY_LOG" ] && assert_spy_count "$SPY_LOG" C_Login 0

begin "pin-value wins over --pkcs11-pin-file and the environment"
with_env "QSJWT_PKCS11_PIN=$WRONG" -- qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-value=$PIN" \
	--allow-pin-in-uri --pkcs11-pin-file "$WRONG_F"
assert_ok_token && verify_jwt "$TOKEN" "$PUB"

# ---- a wrong PIN is tried once and never shown ----------------------------------------------

begin "wrong PIN from a file: exit 5, exactly one C_Login, PIN not shown (debug)"
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SPY_MODULE" \
	--pkcs11-pin-file "$WRONG_F" --loglevel debug
assert_fails 5 "wrong PIN for token 'qlik'. It was tried once and is not retried"
assert_spy_count "$SPY_LOG" C_Login 1
assert_no_pin_printed
# The spy itself logs the PIN bytes: that proves it saw the one try.
assert_contains "$SPY_LOG" "CKR_PIN_INCORRECT"

begin "wrong PIN from QSJWT_PKCS11_PIN: exit 5, exactly one C_Login"
with_env "QSJWT_PKCS11_PIN=$WRONG" -- spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" \
	--pkcs11-module "$SPY_MODULE" --loglevel debug
assert_fails 5 "wrong PIN for token 'qlik'"
assert_spy_count "$SPY_LOG" C_Login 1
assert_no_pin_printed

begin "wrong PIN from pin-source: exit 5, exactly one C_Login"
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-source=$WRONG_F" \
	--pkcs11-module "$SPY_MODULE" --loglevel debug
assert_fails 5 "wrong PIN for token 'qlik'"
assert_spy_count "$SPY_LOG" C_Login 1
assert_no_pin_printed

begin "wrong PIN for list-keys: exit 5, exactly one C_Login"
spy "$SPY_LOG" qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-module "$SPY_MODULE" \
	--pkcs11-pin-file "$WRONG_F" --loglevel debug
assert_fails 5 "wrong PIN for token 'qlik'"
assert_spy_count "$SPY_LOG" C_Login 1
assert_no_pin_printed

begin "after a wrong try SoftHSM2 reports a low PIN count: warning, then signs"
assert_true grep -q "user PIN count low" <(hsm_flags)
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$RIGHT_F"
assert_ok_token && verify_jwt "$TOKEN" "$PUB"
assert_log WARN "token 'qlik' reports failed PIN tries: few tries are left before the PIN locks"

# ---- the PIN never reaches a log line ------------------------------------------------------

begin "debug log with the PIN from a file, the environment and pin-source: no PIN anywhere"
for how in file env source; do
	case $how in
	file) qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$RIGHT_F" --loglevel debug ;;
	env) with_env "QSJWT_PKCS11_PIN=$PIN" -- qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --loglevel debug ;;
	source) qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-source=$RIGHT_F" --loglevel debug ;;
	esac
	assert_ok_token && verify_jwt "$TOKEN" "$PUB"
	assert_log DEBUG 'payload: {"userId":"jdoe"'
	assert_nowhere "$PIN" "$OUT" "$ERR"
done

begin "debug log of list-keys and list-tokens: no PIN anywhere"
with_env "QSJWT_PKCS11_PIN=$PIN" -- qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --loglevel debug
assert_rc 0 && assert_contains "$OUT" "key: jwt-signing"
assert_nowhere "$PIN" "$OUT" "$ERR"
with_env "QSJWT_PKCS11_PIN=$PIN" -- qsp11 list-tokens --loglevel debug --json
assert_rc 0
assert_nowhere "$PIN" "$OUT" "$ERR"

# ---- locked and final-try PINs ----------------------------------------------------------------

hsm_new locked qlik "$PIN"
hsm_keygen jwt-signing 01
# First the honest way: wrong logins with pkcs11-tool until the token says the
# PIN is locked. SoftHSM2 (2.6) never locks a PIN, it only sets
# CKF_USER_PIN_COUNT_LOW; then the flag is set in its store instead.
for i in $(seq 12); do
	pkcs11-tool --module "$SOFTHSM_MODULE" --token-label qlik --login --pin "bad-$i" \
		--list-objects >/dev/null 2>&1
	hsm_flags | grep -q "user PIN locked" && break
done
if hsm_flags | grep -q "user PIN locked"; then
	echo "note: SoftHSM2 locked the PIN after $i wrong logins"
else
	echo "note: SoftHSM2 did not lock the PIN after 12 wrong logins (flags: $(hsm_flags));" \
		"setting CKF_USER_PIN_LOCKED in its token store"
	hsm_set_flags $CKF_USER_PIN_LOCKED || exit 2
fi

begin "locked PIN: exit 5, C_Login never called"
assert_true grep -q "user PIN locked" <(hsm_flags)
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SPY_MODULE" \
	--pkcs11-pin-file "$RIGHT_F"
assert_fails 5 "the user PIN of token 'qlik' is locked; not trying"
assert_spy_count "$SPY_LOG" C_Login 0

begin "locked PIN with --pkcs11-pin-final-try: still not tried"
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SPY_MODULE" \
	--pkcs11-pin-file "$RIGHT_F" --pkcs11-pin-final-try
assert_fails 5 "the user PIN of token 'qlik' is locked; not trying"
assert_spy_count "$SPY_LOG" C_Login 0

begin "locked PIN, list-keys: exit 5, C_Login never called"
spy "$SPY_LOG" qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-module "$SPY_MODULE" \
	--pkcs11-pin-file "$RIGHT_F"
assert_fails 5 "is locked; not trying"
assert_spy_count "$SPY_LOG" C_Login 0

begin "locked PIN, no PIN source: exit 5 for the lock, not for the missing PIN"
qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI"
assert_fails 5 "is locked; not trying"
assert_not_contains "$ERR" "needs a PIN"

hsm_new final qlik "$PIN"
hsm_keygen jwt-signing 01
FPUB=$(hsm_pubkey 01)
# SoftHSM2 never reports CKF_USER_PIN_FINAL_TRY on its own (see above).
hsm_set_flags $CKF_USER_PIN_FINAL_TRY || exit 2

begin "final-try PIN: exit 5 without trying"
assert_true grep -q "final user PIN try" <(hsm_flags)
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SPY_MODULE" \
	--pkcs11-pin-file "$RIGHT_F"
assert_fails 5 "token 'qlik' allows one more PIN try before it locks; not trying" \
	"--pkcs11-pin-final-try"
assert_spy_count "$SPY_LOG" C_Login 0

begin "final-try PIN with --pkcs11-pin-final-try and a wrong PIN: one try, exit 5"
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SPY_MODULE" \
	--pkcs11-pin-file "$WRONG_F" --pkcs11-pin-final-try
assert_fails 5 "wrong PIN for token 'qlik'"
assert_spy_count "$SPY_LOG" C_Login 1

begin "final-try PIN with --pkcs11-pin-final-try: one try, signs"
hsm_set_flags $CKF_USER_PIN_FINAL_TRY || exit 2
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-module "$SPY_MODULE" \
	--pkcs11-pin-file "$RIGHT_F" --pkcs11-pin-final-try
assert_ok_token && verify_jwt "$TOKEN" "$FPUB"
assert_spy_count "$SPY_LOG" C_Login 1

begin "final-try PIN, list-keys: exit 5 without trying"
hsm_set_flags $CKF_USER_PIN_FINAL_TRY || exit 2
spy "$SPY_LOG" qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-module "$SPY_MODULE" \
	--pkcs11-pin-file "$RIGHT_F"
assert_fails 5 "allows one more PIN try before it locks; not trying"
assert_spy_count "$SPY_LOG" C_Login 0

# ---- CKA_ALWAYS_AUTHENTICATE ----------------------------------------------------------------

hsm_new always qlik "$PIN"
hsm_keygen auth-each 01 --usage-sign --always-auth
APUB=$(hsm_pubkey 01)

# spy_logins LOG: the user types of the C_Login calls and the calls around
# them, as "C_Login:CKU_USER C_SignInit C_Login:CKU_CONTEXT_SPECIFIC C_Sign".
spy_login_flow() {
	awk '
		/^[0-9]+: C_/ { f = $2; if (f == "C_Login" || f == "C_SignInit" || f == "C_Sign") { pend = f; if (f != "C_Login") { printf "%s ", f; pend = "" } } }
		/userType = / && pend == "C_Login" { printf "C_Login:%s ", $NF; pend = "" }
	' "$1" | sed 's/ $//'
}

begin "always-authenticate key: context-specific login after C_SignInit, token verifies"
assert_true grep -q "always authenticate" <(ptool --list-objects --type privkey 2>/dev/null)
for alg in RS256 RS512; do
	spy "$SPY_LOG" qs "${CLAIMS[@]}" --alg "$alg" --pkcs11-uri 'pkcs11:token=qlik;object=auth-each' \
		--pkcs11-module "$SPY_MODULE" --pkcs11-pin-file "$RIGHT_F" --loglevel debug
	assert_ok_token && verify_jwt "$TOKEN" "$APUB" "$alg"
	assert_spy_count "$SPY_LOG" C_Login 2
	assert_eq "C_Login:CKU_USER C_SignInit C_Login:CKU_CONTEXT_SPECIFIC C_Sign" \
		"$(spy_login_flow "$SPY_LOG")" "login and signing calls"
	assert_log VERBOSE "asks for the PIN on every signature (CKA_ALWAYS_AUTHENTICATE)"
	assert_nowhere "$PIN" "$OUT" "$ERR"
done

begin "always-authenticate key with the PIN from the environment and pin-source"
with_env "QSJWT_PKCS11_PIN=$PIN" -- qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=auth-each'
assert_ok_token && verify_jwt "$TOKEN" "$APUB"
qs "${CLAIMS[@]}" --pkcs11-uri "pkcs11:token=qlik;object=auth-each?pin-source=$RIGHT_F"
assert_ok_token && verify_jwt "$TOKEN" "$APUB"

begin "always-authenticate key, wrong PIN: exit 5 after one C_Login"
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=auth-each' \
	--pkcs11-module "$SPY_MODULE" --pkcs11-pin-file "$WRONG_F"
assert_fails 5 "wrong PIN for token 'qlik'"
assert_spy_count "$SPY_LOG" C_Login 1
assert_spy_count "$SPY_LOG" C_Sign 0

# ---- a protected authentication path (PIN pad) ---------------------------------------------
# SoftHSM2 has no PIN pad; with CKF_PROTECTED_AUTHENTICATION_PATH set in its
# token flags (hsm_set_flags) it reports one, and rejects the PIN-less
# C_Login a PIN-pad reader would take: what is tested is that qs-jwt tells
# the user to use the pad, logs in once with no PIN, and never reads,
# prompts for or passes a PIN.
CKF_PROTECTED_AUTHENTICATION_PATH=0x100
hsm_new pad qlikpad "$PIN"
hsm_keygen jwt 01
hsm_set_flags $CKF_PROTECTED_AUTHENTICATION_PATH
begin "PIN pad: the user is told to use it, one C_Login with no PIN, no PIN read or prompted"
spy "$SPY_LOG" run_tty 'PIN for token' "$PIN" "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" \
	--pkcs11-uri 'pkcs11:token=qlikpad;object=jwt' --pkcs11-module "$SPY_MODULE" --pkcs11-pin-file "$RIGHT_F"
assert_log INFO "enter the PIN for token 'qlikpad' on the reader's PIN pad"
assert_spy_count "$SPY_LOG" C_Login 1
assert_eq "[in] pPin[ulPinLen] NULL [size : 0x0 (0)]" "$(grep -A4 '^[0-9]*: C_Login$' "$SPY_LOG" | grep -F 'pPin[ulPinLen]')" \
	"the PIN given to C_Login (pkcs11-spy)"
assert_not_contains "$TTY_LOG" "PIN for token"
assert_nowhere "$PIN" "$SPY_LOG" "$ERR" "$TTY_LOG"
assert_fails 5 "cannot log in to token 'qlikpad'"


begin "a token whose user PIN was never set (CKR_USER_PIN_NOT_INITIALIZED): exit 5, its own message and next step"
hsm_new nouser placeholder 4321-place
# SoftHSM2 keeps a free slot beside each store's tokens: a token there,
# initialised with an SO PIN only.
pkcs11-tool --module "$SOFTHSM_MODULE" --slot-index 1 --init-token --label nouser \
	--so-pin 87654321 >"$T_TMP/init.log" 2>&1 || fail "pkcs11-tool --init-token: $(cat "$T_TMP/init.log")"
spy "$SPY_LOG" qs "${CLAIMS[@]}" --pkcs11-module "$SPY_MODULE" --pkcs11-uri 'pkcs11:token=nouser;object=jwt' \
	--pkcs11-pin-file "$HSM_DIR/pin"
assert_fails 5 "token 'nouser' has no user PIN yet; set one with the SO PIN first (e.g. pkcs11-tool --login --login-type so --init-pin)"
assert_spy_count "$SPY_LOG" C_Login 1
assert_contains "$SPY_LOG" "CKR_USER_PIN_NOT_INITIALIZED"

finish
