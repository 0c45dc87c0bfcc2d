#!/usr/bin/env bash
# Secret hygiene: every command and key mode at --loglevel debug, with
# recognizable markers as passphrase and PIN. Neither stdout nor stderr holds
# a marker, stderr holds no 16-character window of the private key's base64
# (nor 16 bytes of its hex) and no issued token nor any 16-character window of
# its signature; and no file is written but those asked for: each run starts
# in an empty working directory with HOME, TMPDIR and XDG_RUNTIME_DIR pointed
# at fresh empty directories, and those, the key directory, the output
# directory and the token store are compared before and after. Last, core
# dumps are off while a key is read.
. "$(dirname "$0")/lib.sh"

K=$T_TMP/keys
mkdir -p "$K"

begin "setup: an RSA-2048 key in every form, the same key on a fresh SoftHSM2 token"
if ! { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/p8.pem" 2>/dev/null &&
	openssl pkey -in "$K/p8.pem" -traditional -out "$K/p1.pem" &&
	openssl pkey -in "$K/p8.pem" -pubout -out "$K/pub.pem" &&
	openssl rsa -in "$K/p8.pem" -RSAPublicKey_out -out "$K/pub1.pem" 2>/dev/null; }; then
	echo "openssl could not make the test key" >&2
	exit 2
fi
(umask 077 && printf '%s\n' "$PASS_MARK" >"$K/pass")
openssl pkcs8 -topk8 -v2 aes-256-cbc -passout "file:$K/pass" -in "$K/p8.pem" -out "$K/enc8.pem" ||
	exit 2
hsm_new main qlik "$PIN_MARK"
PINF=$HSM_DIR/pin
hsm_import "$K/p8.pem" jwt-signing 01
KEY_URI='pkcs11:token=qlik;object=jwt-signing'
printf '%s\n' \
	'{"userid":"u1","userdir":"D","username":"User 1","useremail":"u1@x","groups":["G"]}' \
	'{"userid":"u2","userdir":"D","username":"User 2","useremail":"u2@x"}' \
	'{"userid":"u3","userdir":"E","username":"User 3","useremail":"u3@x","expires":"5m"}' \
	>"$K/users.jsonl"

# What of the key must never be logged: its windows, less those that are also
# windows of its public half (the modulus is in both; a public key may be
# shown).
KEYPAT=$T_TMP/key.patterns
pem_windows "$K/pub.pem" "$K/pub1.pem" >"$T_TMP/pub.windows"
pem_windows "$K/p8.pem" "$K/p1.pem" "$K/enc8.pem" >"$T_TMP/key.windows"
LC_ALL=C comm -23 "$T_TMP/key.windows" "$T_TMP/pub.windows" >"$KEYPAT"
assert_true test "$(wc -l <"$KEYPAT")" -gt 4000
assert_true grep -qxF "$(sed -n 10p "$K/p8.pem" | cut -c20-35)" "$KEYPAT"
assert_eq "$PIN_MARK" "$(cat "$PINF")" "PIN file"
assert_eq 600 "$(stat -c %a "$PINF")" "mode of the PIN file"
PUB=$(hsm_pubkey 01)
assert_true cmp -s <(openssl pkey -pubin -in "$PUB") <(openssl pkey -pubin -in "$K/pub.pem")

# Windows that are certainly in the key (in its private exponent), to show
# the check can fail.
begin "the leak check finds a planted window of the key, in base64 and in hex"
printf 'x %s y\n' "$(sed -n 12p "$K/p1.pem" | cut -c30-45)" >"$T_TMP/planted"
assert_true grep -qaiF -f "$KEYPAT" "$T_TMP/planted"
printf 'x %s y\n' "$(sed -n 12p "$K/p8.pem" | base64 -d | od -An -v -tx1 | tr -d ' \n' |
	cut -c1-32 | tr a-f A-F)" >"$T_TMP/planted"
assert_true grep -qaiF -f "$KEYPAT" "$T_TMP/planted"
printf 'x %s y\n' "$(sed -n 3p "$K/pub.pem" | cut -c1-16)" >"$T_TMP/planted"
assert_false grep -qaiF -f "$KEYPAT" "$T_TMP/planted"

# ---- the runs -------------------------------------------------------------------------------

SNAP_BEFORE=$T_TMP/snap.before
SNAP_AFTER=$T_TMP/snap.after

# The places that must not change: the run's working directory, HOME,
# TMPDIR, XDG_RUNTIME_DIR, the key directory and the store's configuration
# and PIN file (the tokens directory is checked apart).
snapshot() {
	{
		listing "$R/cwd" "$R/home" "$R/tmp" "$R/run" "$K"
		find "$HSM_DIR" -mindepth 1 -path "$HSM_DIR/tokens" -prune -o \
			-printf "$HSM_DIR/%P %y %s %m %T@\n" | LC_ALL=C sort
	} >"$1"
	token_store_objects >"$1.token"
	listing_names "$R/out" >"$1.out"
}

# hcase NAME: begin a case with a fresh sandbox $R: cwd, home, tmp, run
# (XDG_RUNTIME_DIR) and out, all empty.
hcase() {
	begin "$1"
	R=$(mktemp -d "$T_TMP/run.XXXXXX")
	mkdir "$R/cwd" "$R/home" "$R/tmp" "$R/run" "$R/out"
	chmod 700 "$R/run"
}

# hygiene [--stdin FILE] [--out "FILES"] [--token-writes N] -- ARGS...: run
# qs-jwt ARGS in the case's sandbox $R (see hcase) at
# --loglevel debug (the caller puts it in ARGS). FILES are the only entries
# expected in $R/out afterwards; N the number of objects the run adds to the
# token (0 unless given). Checks the file listings; the caller checks the
# output and calls assert_clean.
hygiene() {
	local stdin=/dev/null out_files="" token_writes=0 f
	while [ "$1" != -- ]; do
		case $1 in
		--stdin) stdin=$2 && shift 2 ;;
		--out) out_files=$2 && shift 2 ;;
		--token-writes) token_writes=$2 && shift 2 ;;
		*) echo "hygiene: unknown option $1" >&2 && exit 2 ;;
		esac
	done
	shift
	snapshot "$SNAP_BEFORE"
	# The mtimes are in ns; a write in the same tick would still change the
	# size or the entry list, but wait one tick anyway.
	sleep 0.01
	(
		cd "$R/cwd" || exit 99
		unset XDG_CONFIG_HOME XDG_CACHE_HOME XDG_DATA_HOME XDG_STATE_HOME
		HOME=$R/home TMPDIR=$R/tmp XDG_RUNTIME_DIR=$R/run \
			exec timeout -k 5 120 env "${RUN_ENV[@]}" "$QSJWT_BIN" "$@"
	) >"$OUT" 2>"$ERR" <"$stdin"
	RC=$?
	RUN_ENV=()
	snapshot "$SNAP_AFTER"
	if ! cmp -s "$SNAP_BEFORE" "$SNAP_AFTER"; then
		fail "files changed outside the output directory:"
		diff "$SNAP_BEFORE" "$SNAP_AFTER" | sed -n '1,12p' | sed 's/^/    /'
	fi
	assert_eq "" "$(cat "$SNAP_BEFORE.out")" "output directory before the run"
	assert_same_text "$(for f in $out_files; do echo "$R/out/$f"; done | LC_ALL=C sort)" \
		"$(cat "$SNAP_AFTER.out")" "entries of the output directory"
	# Token objects: the old ones unchanged, exactly N new ones.
	local gone added
	gone=$(LC_ALL=C comm -23 "$SNAP_BEFORE.token" "$SNAP_AFTER.token" | wc -l)
	added=$(LC_ALL=C comm -13 "$SNAP_BEFORE.token" "$SNAP_AFTER.token" | wc -l)
	assert_eq 0 "$gone" "token objects changed or removed"
	assert_eq "$token_writes" "$added" "token objects added"
}

# assert_clean [EXTRA_PRIVATE_PEM...]: neither output holds a marker, stderr
# holds no window of the key (or of EXTRA_PRIVATE_PEM: a key the run made)
# and nothing of the tokens in $TOKENS; no file the run wrote holds a marker.
TOKENS=()
assert_clean() {
	local pat=$KEYPAT needle
	if [ $# -gt 0 ]; then
		pat=$T_TMP/extra.patterns
		{ cat "$KEYPAT"; pem_windows "$@"; } >"$pat.all"
		LC_ALL=C comm -23 <(LC_ALL=C sort -u "$pat.all") "$T_TMP/pub.windows" >"$pat"
	fi
	for needle in "$PASS_MARK" "$PIN_MARK" MARKER pass-7f3a pin-9c1d; do
		assert_nowhere "$needle" "$OUT" "$ERR" || break
	done
	if grep -rlaF MARKER "$R" >/dev/null 2>&1; then
		fail "a file the run wrote holds a marker: $(grep -rlaF MARKER "$R" | head -3)"
	fi
	assert_no_window "$ERR" "$pat" "a window of the private key"
	assert_not_contains "$ERR" "PRIVATE KEY"
	if [ ${#TOKENS[@]} -gt 0 ]; then
		token_patterns "${TOKENS[@]}" >"$T_TMP/tok.patterns"
		assert_no_window "$ERR" "$T_TMP/tok.patterns" "an issued token or a window of its signature"
	else
		fail "no token to look for (the run issued none?)"
	fi
}

# The tokens of a batch output ({"line":..,"token":..} lines), into TOKENS.
batch_tokens() {
	mapfile -t TOKENS < <(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    print(json.loads(l)["token"])' "$OUT")
}

DEBUG=(--loglevel debug)

# one_token PUBKEY: exit 0 and one verified token on stdout, a DEBUG payload
# line on stderr; TOKENS=(it).
one_token() {
	TOKENS=()
	assert_ok_token || return 1
	verify_jwt "$TOKEN" "$1"
	TOKENS=("$TOKEN")
	assert_log DEBUG 'payload: {'
}

hcase "file key (PKCS#8): create-qseow"
hygiene -- create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$K/p8.pem" "${DEBUG[@]}"
one_token "$K/pub.pem"
assert_clean

hcase "file key (PKCS#1), RS512"
hygiene -- create-qseow "${CLAIMS[@]}" --alg RS512 --cert-privatekey-file "$K/p1.pem" "${DEBUG[@]}"
TOKENS=()
assert_ok_token && verify_jwt "$TOKEN" "$K/pub.pem" RS512 && TOKENS=("$TOKEN")
assert_clean

hcase "parameter key on stdin (--cert-privatekey -)"
hygiene --stdin "$K/p1.pem" -- create-qseow "${CLAIMS[@]}" --cert-privatekey - "${DEBUG[@]}"
one_token "$K/pub.pem"
assert_clean

hcase "parameter key as an argument (--cert-privatekey PEM)"
hygiene -- create-qseow "${CLAIMS[@]}" --cert-privatekey "$(cat "$K/p8.pem")" "${DEBUG[@]}"
one_token "$K/pub.pem"
assert_clean

hcase "encrypted key, passphrase from a file"
hygiene -- create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$K/enc8.pem" \
	--cert-privatekey-passphrase-file "$K/pass" "${DEBUG[@]}"
one_token "$K/pub.pem"
assert_log VERBOSE "from '$K/pass'"
assert_clean

hcase "encrypted key, passphrase from QSJWT_KEY_PASSPHRASE"
with_env "QSJWT_KEY_PASSPHRASE=$PASS_MARK" -- hygiene -- create-qseow "${CLAIMS[@]}" \
	--cert-privatekey-file "$K/enc8.pem" "${DEBUG[@]}"
one_token "$K/pub.pem"
assert_log VERBOSE "from QSJWT_KEY_PASSPHRASE"
assert_clean

hcase "encrypted key on stdin, passphrase from QSJWT_KEY_PASSPHRASE"
with_env "QSJWT_KEY_PASSPHRASE=$PASS_MARK" -- hygiene --stdin "$K/enc8.pem" -- create-qseow \
	"${CLAIMS[@]}" --cert-privatekey - "${DEBUG[@]}"
one_token "$K/pub.pem"
assert_clean

hcase "SoftHSM2 key, PIN from --pkcs11-pin-file"
hygiene -- create-qseow "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF" \
	"${DEBUG[@]}"
one_token "$K/pub.pem"
assert_log VERBOSE "logged in to token 'qlik'"
assert_clean

hcase "SoftHSM2 key, PIN from QSJWT_PKCS11_PIN"
with_env "QSJWT_PKCS11_PIN=$PIN_MARK" -- hygiene -- create-qseow "${CLAIMS[@]}" \
	--pkcs11-uri "$KEY_URI" "${DEBUG[@]}"
one_token "$K/pub.pem"
assert_log VERBOSE "PIN from QSJWT_PKCS11_PIN"
assert_clean

hcase "SoftHSM2 key, PIN from the URI's pin-source"
hygiene -- create-qseow "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?pin-source=file://$PINF" \
	"${DEBUG[@]}"
one_token "$K/pub.pem"
assert_log VERBOSE "pin-source"
assert_clean

hcase "create-qscloud, file key (encrypted, passphrase file)"
hygiene -- create-qscloud --issuer iss --keyid kid-1 --sub jdoe --username 'John Doe' \
	--useremail j@x --useremail-verified true --groups G --expires 5m \
	--cert-privatekey-file "$K/enc8.pem" --cert-privatekey-passphrase-file "$K/pass" "${DEBUG[@]}"
TOKENS=()
assert_ok_token && assert_true jwt_verifies "$TOKEN" "$K/pub.pem"
TOKENS=("$TOKEN")
assert_clean

hcase "create-qscloud, SoftHSM2 key, PIN from a file"
hygiene -- create-qscloud --issuer iss --keyid kid-1 --sub jdoe --expires 5m \
	--pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF" "${DEBUG[@]}"
TOKENS=()
assert_ok_token && assert_true jwt_verifies "$TOKEN" "$K/pub.pem"
TOKENS=("$TOKEN")
assert_clean
QSC_TOKEN=$TOKEN

hcase "decode --json with the token key (PIN file given), a qs-jwt token"
hygiene -- decode --jwt "$QSC_TOKEN" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF" --json \
	"${DEBUG[@]}"
assert_rc 0
assert_eq valid "$(json_get "$OUT" 'd["verification"]["status"]')" "verification status"
TOKENS=("$QSC_TOKEN")
assert_clean

hcase "decode (text) with the token key, PIN from QSJWT_PKCS11_PIN, token from a file"
printf '%s\n' "$QSC_TOKEN" >"$K/token.txt"
with_env "QSJWT_PKCS11_PIN=$PIN_MARK" -- hygiene -- decode --jwt-file "$K/token.txt" \
	--pkcs11-uri "$KEY_URI" "${DEBUG[@]}"
assert_rc 0
assert_contains "$OUT" '"iss": "iss"'
assert_not_contains "$OUT" "${QSC_TOKEN##*.}"
assert_clean

hcase "--batch, file key (encrypted, QSJWT_KEY_PASSPHRASE), --jobs 2"
with_env "QSJWT_KEY_PASSPHRASE=$PASS_MARK" -- hygiene -- create-qseow --batch "$K/users.jsonl" \
	--jobs 2 --expires 1h --audience aud --cert-privatekey-file "$K/enc8.pem" "${DEBUG[@]}"
assert_rc 0
batch_tokens
assert_eq 3 "${#TOKENS[@]}" "tokens in the batch output"
for t in "${TOKENS[@]}"; do assert_true jwt_verifies "$t" "$K/pub.pem"; done
assert_clean

hcase "--batch, SoftHSM2 key, PIN from a file, --jobs 2"
hygiene -- create-qseow --batch "$K/users.jsonl" --jobs 2 --expires 1h --audience aud \
	--pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF" "${DEBUG[@]}"
assert_rc 0
batch_tokens
assert_eq 3 "${#TOKENS[@]}" "tokens in the batch output"
for t in "${TOKENS[@]}"; do assert_true jwt_verifies "$t" "$K/pub.pem"; done
assert_clean

hcase "--batch on stdin, SoftHSM2 key, PIN from pin-source"
hygiene --stdin "$K/users.jsonl" -- create-qseow --batch - --expires 1h --audience aud \
	--pkcs11-uri "$KEY_URI?pin-source=$PINF" "${DEBUG[@]}"
assert_rc 0
batch_tokens
assert_eq 3 "${#TOKENS[@]}" "tokens in the batch output"
assert_clean

hcase "--cert-create, file key pair: exactly the three files asked for"
hygiene --out "privatekey.pem publickey.cer publickey.pem" -- create-qseow "${CLAIMS[@]}" \
	--cert-create --cert-create-expires-days 2 --cert-create-key-bits 2048 \
	--cert-file-prefix "$R/out/" "${DEBUG[@]}"
TOKENS=()
if assert_ok_token; then
	verify_jwt "$TOKEN" "$R/out/publickey.pem"
	TOKENS=("$TOKEN")
	assert_eq 600 "$(stat -c %a "$R/out/privatekey.pem")" "mode of privatekey.pem"
	openssl pkey -in "$R/out/privatekey.pem" -out "$T_TMP/new-p8.pem" &&
		openssl pkey -in "$R/out/privatekey.pem" -pubout -out "$T_TMP/new-pub.pem" &&
		openssl rsa -in "$R/out/privatekey.pem" -RSAPublicKey_out -out "$T_TMP/new-pub1.pem" \
			2>/dev/null
	pem_windows "$T_TMP/new-pub.pem" "$T_TMP/new-pub1.pem" "$R/out/publickey.cer" \
		>>"$T_TMP/pub.windows"
	LC_ALL=C sort -u -o "$T_TMP/pub.windows" "$T_TMP/pub.windows"
	assert_clean "$R/out/privatekey.pem" "$T_TMP/new-p8.pem"
fi

hcase "--cert-create on the token (PIN from a file): two files, three new token objects"
OBJ_BEFORE=$(ptool_objects)
hygiene --out "publickey.cer publickey.pem" --token-writes 3 -- create-qseow "${CLAIMS[@]}" \
	--pkcs11-uri 'pkcs11:token=qlik;object=hygiene-new;id=%77' --pkcs11-pin-file "$PINF" \
	--cert-create --cert-create-expires-days 2 --cert-create-key-bits 2048 \
	--cert-file-prefix "$R/out/" "${DEBUG[@]}"
TOKENS=()
if assert_ok_token; then
	verify_jwt "$TOKEN" "$R/out/publickey.pem"
	TOKENS=("$TOKEN")
fi
assert_clean
added=$(LC_ALL=C comm -13 <(printf '%s\n' "$OBJ_BEFORE") <(ptool_objects))
assert_eq 3 "$(printf '%s\n' "$added" | grep -c 'label: *hygiene-new')" \
	"new objects labelled hygiene-new (pkcs11-tool)"

hcase "pkcs11 list-keys, PIN from QSJWT_PKCS11_PIN"
with_env "QSJWT_PKCS11_PIN=$PIN_MARK" -- hygiene -- pkcs11 list-keys --pkcs11-uri 'pkcs11:token=qlik' \
	"${DEBUG[@]}"
assert_rc 0
assert_contains "$OUT" "key: jwt-signing"
assert_contains "$OUT" "key: hygiene-new"
TOKENS=("$QSC_TOKEN")
assert_clean

hcase "pkcs11 list-keys --json, PIN from a file"
hygiene -- pkcs11 list-keys --pkcs11-uri "pkcs11:token=qlik" --pkcs11-pin-file "$PINF" --json \
	"${DEBUG[@]}"
assert_rc 0
assert_contains "$OUT" '"jwt-signing"'
assert_clean

hcase "pkcs11 list-tokens --json"
hygiene -- pkcs11 list-tokens --pkcs11-uri "pkcs11:token=qlik" --json "${DEBUG[@]}"
assert_rc 0
assert_contains "$OUT" '"qlik"'
assert_clean

# ---- no core dumps -------------------------------------------------------------------------------

# qs-jwt waits in read(0) on a FIFO we hold open, under `ulimit -c
# unlimited`; by then main() has run. Its RLIMIT_CORE must be 0.
begin "core dumps off: RLIMIT_CORE soft limit 0 while waiting for a key on stdin, under ulimit -c unlimited"
FIFO=$T_TMP/key.fifo
mkfifo "$FIFO"
exec 9<>"$FIFO"
(ulimit -c unlimited && exec "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --cert-privatekey - \
	"${DEBUG[@]}") <"$FIFO" >"$OUT" 2>"$ERR" 9>&- &
PID=$!
# shellcheck disable=SC2016 # expanded at exit: only a run still going
at_exit '[ -n "$PID" ] && kill -9 "$PID"'
reading=0
for _ in $(seq 1 3000); do
	if [ "$(readlink "/proc/$PID/exe" 2>/dev/null)" = "$QSJWT_BIN" ]; then
		# read(0, ...) in progress: syscall 0 on x86-64 with fd 0, else a
		# pipe wait.
		sc=$(cut -d' ' -f1,2 "/proc/$PID/syscall" 2>/dev/null)
		wchan=$(cat "/proc/$PID/wchan" 2>/dev/null)
		if [ "$sc" = "0 0x0" ] || [[ $wchan == *pipe* ]]; then
			reading=1
			break
		fi
	fi
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.01
done
limits=$(grep '^Max core file size' "/proc/$PID/limits" 2>/dev/null)
control=$(bash -c 'ulimit -c unlimited && grep "^Max core file size" /proc/self/limits')
cat "$K/p8.pem" >&9
exec 9>&-
wait "$PID"
RC=$?
PID=
assert_eq 1 "$reading" "qs-jwt seen waiting in read(0) on the FIFO"
assert_eq unlimited "$(echo "$control" | awk '{ print $5 }')" \
	"soft core limit of a shell after ulimit -c unlimited (the control)"
assert_eq 0 "$(echo "$limits" | awk '{ print $5 }')" "soft core limit of qs-jwt ($limits)"
echo "   qs-jwt: $limits"
one_token "$K/pub.pem"

finish
