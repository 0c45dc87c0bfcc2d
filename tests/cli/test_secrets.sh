#!/usr/bin/env bash
# Secret sweep: at every log level and with every key source, stderr holds no
# line of the private key, no passphrase and not the token (nor its
# signature). Also on failures.
. "$(dirname "$0")/lib.sh"

K=$T_TMP/keys
mkdir -p "$K"
PASS='MARKER-pass-7f3a'

begin "setup: a fresh RSA-2048 key in every form"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/p8.pem" 2>/dev/null
openssl pkey -in "$K/p8.pem" -traditional -out "$K/p1.pem"
openssl pkey -in "$K/p8.pem" -pubout -out "$K/pub.pem"
printf '%s\n' "$PASS" >"$K/pass"
chmod 600 "$K/pass"
openssl pkcs8 -topk8 -v2 aes-256-cbc -passout "file:$K/pass" -in "$K/p8.pem" -out "$K/enc8.pem"
openssl rsa -in "$K/p8.pem" -aes256 -traditional -passout "file:$K/pass" -out "$K/legacy.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/ec.pem" 2>/dev/null
for f in p8 p1 enc8 legacy ec; do
	assert_true test "$(pem_body_lines "$K/$f.pem" | wc -l)" -ge 3
done
KEYFORMS=("$K/p8.pem" "$K/p1.pem" "$K/enc8.pem" "$K/legacy.pem")

# sweep [EXTRA_PEM...]: stderr of the last run leaks nothing.
sweep() {
	assert_no_pem_body "$ERR" "${KEYFORMS[@]}" "$@"
	assert_not_contains "$ERR" "PRIVATE KEY-----"
	assert_not_contains "$ERR" "$PASS"
	assert_not_contains "$ERR" "7f3a"
	if [ -n "${TOKEN:-}" ]; then
		local sig=${TOKEN##*.}
		assert_not_contains "$ERR" "$TOKEN"
		assert_not_contains "$ERR" "$sig"
		assert_not_contains "$ERR" "${sig:0:16}"
		assert_not_contains "$ERR" "${sig: -16}"
	fi
}

LEVELS="error warn warning info verbose debug"

for level in $LEVELS; do
	begin "sweep, key file (PKCS#8), --loglevel $level"
	TOKEN=
	qs "${CLAIMS[@]}" --cert-privatekey-file "$K/p8.pem" --loglevel "$level"
	assert_ok_token && verify_jwt "$TOKEN" "$K/pub.pem"
	sweep

	begin "sweep, key file (PKCS#1), --loglevel $level"
	TOKEN=
	qs "${CLAIMS[@]}" --cert-privatekey-file "$K/p1.pem" --loglevel "$level" --groups g
	assert_ok_token && verify_jwt "$TOKEN" "$K/pub.pem"
	sweep

	begin "sweep, --cert-privatekey PEM, --loglevel $level"
	TOKEN=
	qs "${CLAIMS[@]}" --cert-privatekey "$(cat "$K/p1.pem")" --loglevel "$level"
	assert_ok_token && verify_jwt "$TOKEN" "$K/pub.pem"
	sweep

	begin "sweep, --cert-privatekey - (stdin), --loglevel $level"
	TOKEN=
	qs_stdin "$K/p8.pem" "${CLAIMS[@]}" --cert-privatekey - --loglevel "$level"
	assert_ok_token && verify_jwt "$TOKEN" "$K/pub.pem"
	sweep

	begin "sweep, encrypted PKCS#8 + passphrase file, --loglevel $level"
	TOKEN=
	qs "${CLAIMS[@]}" --cert-privatekey-file "$K/enc8.pem" \
		--cert-privatekey-passphrase-file "$K/pass" --loglevel "$level"
	assert_ok_token && verify_jwt "$TOKEN" "$K/pub.pem"
	sweep

	begin "sweep, legacy encrypted + QSJWT_KEY_PASSPHRASE, --loglevel $level"
	TOKEN=
	QSJWT_KEY_PASSPHRASE=$PASS qs "${CLAIMS[@]}" --cert-privatekey-file "$K/legacy.pem" \
		--loglevel "$level"
	assert_ok_token && verify_jwt "$TOKEN" "$K/pub.pem"
	sweep

	begin "sweep, encrypted PKCS#8 on stdin + QSJWT_KEY_PASSPHRASE, --loglevel $level"
	TOKEN=
	QSJWT_KEY_PASSPHRASE=$PASS qs_stdin "$K/enc8.pem" "${CLAIMS[@]}" --cert-privatekey - \
		--loglevel "$level"
	assert_ok_token && verify_jwt "$TOKEN" "$K/pub.pem"
	sweep

	begin "sweep, --cert-create, --loglevel $level"
	TOKEN=
	D=$(mktemp -d "$T_TMP/cc.XXXXXX")
	at "$D" qs "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 \
		--cert-create-key-bits 2048 --loglevel "$level"
	if assert_ok_token; then
		verify_jwt "$TOKEN" "$D/publickey.pem"
		openssl pkey -in "$D/privatekey.pem" -out "$D/p8-form.pem"
		sweep "$D/privatekey.pem" "$D/p8-form.pem"
	fi
done

# ---- the process list ---------------------------------------------------------------------------

# The passphrase comes from a FIFO that we hold open: qs-jwt waits there, after
# parsing its arguments, while we read its /proc/PID/cmdline.
begin "--cert-privatekey PEM is wiped from /proc/PID/cmdline once parsed"
if [ "${QSJWT_VALGRIND:-0}" = 1 ]; then
	# Under valgrind /proc/PID/cmdline is valgrind's own copy of the
	# arguments, which qs-jwt cannot reach; the normal and ASan passes
	# check this case.
	echo "  (under valgrind: /proc/PID/cmdline is valgrind's; case not applicable)"
else
mkfifo "$K/passfifo"
exec 9<>"$K/passfifo"
"$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --cert-privatekey "$(cat "$K/enc8.pem")" \
	--cert-privatekey-passphrase-file "$K/passfifo" >"$OUT" 2>"$ERR" </dev/null 9>&- &
PID=$!
opened=0
for i in $(seq 1 1000); do
	# The FIFO open in qs-jwt itself (not in the shell before exec).
	if [ "$(readlink "/proc/$PID/exe")" = "$QSJWT_BIN" ] &&
		find "/proc/$PID/fd" -lname "$K/passfifo" 2>/dev/null | grep -q .; then
		opened=1
		break
	fi
	sleep 0.01
done
tr '\0' '\n' <"/proc/$PID/cmdline" >"$T_TMP/cmdline" 2>/dev/null
printf '%s\n' "$PASS" >&9
exec 9>&-
wait "$PID"
RC=$?
TOKEN=
if [ $opened = 1 ]; then
	assert_contains "$T_TMP/cmdline" "--cert-privatekey-passphrase-file"
	assert_no_pem_body "$T_TMP/cmdline" "$K/enc8.pem"
	assert_not_contains "$T_TMP/cmdline" "PRIVATE KEY-----"
else
	fail "qs-jwt never opened the passphrase FIFO"
fi
assert_ok_token && verify_jwt "$TOKEN" "$K/pub.pem"
sweep
fi

# ---- failures -----------------------------------------------------------------------------------

TOKEN=
begin "wrong passphrase in QSJWT_KEY_PASSPHRASE (debug): not echoed"
QSJWT_KEY_PASSPHRASE="${PASS}-wrong" qs "${CLAIMS[@]}" --cert-privatekey-file "$K/enc8.pem" --loglevel debug
assert_runtime_error "passphrase"
sweep

begin "wrong passphrase file (debug): not echoed"
printf '%s\n' "${PASS}-wrong" >"$K/pass-wrong"
chmod 600 "$K/pass-wrong"
qs "${CLAIMS[@]}" --cert-privatekey-file "$K/legacy.pem" --cert-privatekey-passphrase-file "$K/pass-wrong" --loglevel debug
assert_runtime_error "passphrase"
sweep

begin "passphrase file readable by others (debug): content not echoed"
cp "$K/pass" "$K/pass-644"
chmod 644 "$K/pass-644"
qs "${CLAIMS[@]}" --cert-privatekey-file "$K/enc8.pem" --cert-privatekey-passphrase-file "$K/pass-644" --loglevel debug
assert_rc 2
assert_empty_stdout
sweep

begin "passphrase file used as the key file (debug): content not echoed"
qs "${CLAIMS[@]}" --cert-privatekey-file "$K/pass" --loglevel debug
assert_runtime_error "no PEM"
sweep

begin "refused EC key via --cert-privatekey (debug): not echoed"
qs "${CLAIMS[@]}" --cert-privatekey "$(cat "$K/ec.pem")" --loglevel debug
assert_runtime_error "EC key"
sweep "$K/ec.pem"

begin "damaged key (broken DER) via --cert-privatekey (debug): not echoed"
sed '2s/^..../AAAA/' "$K/p8.pem" >"$K/damaged.pem"
qs "${CLAIMS[@]}" --cert-privatekey "$(cat "$K/damaged.pem")" --loglevel debug
assert_runtime_error "private key" "cannot be read"
sweep "$K/damaged.pem"

begin "damaged key (changed modulus) via --cert-privatekey (debug): no token, not echoed"
sed '3s/^..../AAAA/' "$K/p8.pem" >"$K/damaged2.pem"
qs "${CLAIMS[@]}" --cert-privatekey "$(cat "$K/damaged2.pem")" --loglevel debug
assert_runtime_error "--cert-privatekey"
sweep "$K/damaged2.pem"

begin "usage error after --cert-privatekey PEM: the key is not echoed"
qs "${CLAIMS[@]}" --cert-privatekey "$(cat "$K/p1.pem")" --bogus
assert_usage_error "unknown option '--bogus'"
sweep

begin "usage error after --cert-privatekey PEM with a missing claim: not echoed"
qs --userid x --cert-privatekey "$(cat "$K/p8.pem")"
assert_usage_error "required"
sweep

begin "misspelt --cert-privatekey=PEM: the key is not echoed"
qs "${CLAIMS[@]}" "--cert-privatekeyy=$(cat "$K/p8.pem")"
assert_usage_error "unknown option '--cert-privatekeyy'"
sweep

begin "--cert-privatekey PEM longer than 64 KiB: the key is not echoed"
qs "${CLAIMS[@]}" --cert-privatekey "$(head -c 70000 /dev/zero | tr '\0' x; cat "$K/p8.pem")"
assert_usage_error "--cert-privatekey " "64 KiB"
sweep

begin "two key sources with a PEM: the key is not echoed"
qs "${CLAIMS[@]}" --cert-privatekey "$(cat "$K/p8.pem")" --cert-privatekey-file "$K/p8.pem"
assert_usage_error "exactly one"
sweep

# A PEM starts with '-': in the place of an option (after a flag, or where
# --cert-create's optional value would be) it is read as an unknown option
# name. The message must not carry it.
begin "PEM where an option is expected (after --minimal-output): the key is not echoed"
qs "${CLAIMS[@]}" --cert-privatekey-file "$K/p8.pem" --minimal-output "$(cat "$K/p1.pem")"
assert_usage_error "unknown option"
sweep

begin "PEM after bare --cert-create: the key is not echoed"
qs "${CLAIMS[@]}" --cert-create "$(cat "$K/p8.pem")" --cert-create-expires-days 1
assert_usage_error "unknown option"
sweep

finish
