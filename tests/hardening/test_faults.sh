#!/usr/bin/env bash
# Injected faults, each: a clear message, a non-zero exit, nothing
# half-written, nothing on stdout. What the other suites cover already is only
# referenced in docs/reliability.md's table; here:
#   - stdout on /dev/full and on a closed pipe for create-qseow (token key),
#     create-qscloud, decode --json, --batch (file and token key), pkcs11
#     list-tokens and list-keys;
#   - an output directory that cannot be written (chattr +i as root), for a
#     file and a token --cert-create;
#   - SIGINT and SIGTERM during key generation on the token, create-qseow
#     and create-qscloud (no files, no objects);
#   - secret and input files that are FIFOs without a writer, /dev/zero, or
#     10 MiB;
#   - PKCS#11 modules that do not exist, are a directory or a text file, have
#     no C_GetFunctionList (bad_no_symbol.c), or fail C_Initialize
#     (bad_init.c), for every command that loads one.
. "$(dirname "$0")/lib.sh"

for m in "${BAD_INIT_MODULE:-}" "${BAD_NOSYM_MODULE:-}"; do
	if [ -z "$m" ] || [ ! -f "$m" ]; then
		echo "BAD_INIT_MODULE and BAD_NOSYM_MODULE must name the test modules (got '$m')" >&2
		exit 2
	fi
done

PIN=2468-faults
hsm_new main qlik "$PIN"
PINF=$HSM_DIR/pin
hsm_import "$VEC/privatekey.pem" jwt-signing 01
KEY=$VEC/privatekey.pem
KEY_URI='pkcs11:token=qlik;object=jwt-signing'
F=$T_TMP/files
mkdir -p "$F"
printf '%s\n' \
	'{"userid":"u1","userdir":"D","username":"User 1","useremail":"u1@x"}' \
	'{"userid":"u2","userdir":"D","username":"User 2","useremail":"u2@x"}' \
	'{"userid":"u3","userdir":"D","username":"User 3","useremail":"u3@x"}' >"$F/users.jsonl"
# A token of the vector key issued now (decode --json with the key: valid).
VTOKEN=$("$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$KEY" 2>/dev/null)
[ -n "$VTOKEN" ] || { echo "cannot issue the token for decode" >&2; exit 2; }

# The commands whose stdout is broken below; ARGS for each.
cmd_args() {
	case $1 in
	qseow-file) ARGS=(create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$KEY") ;;
	qseow-token) ARGS=(create-qseow "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF") ;;
	qscloud) ARGS=(create-qscloud --issuer iss --keyid kid --sub jdoe --expires 5m
		--cert-privatekey-file "$KEY") ;;
	decode-json) ARGS=(decode --jwt "$VTOKEN" --json) ;;
	decode-json-key) ARGS=(decode --jwt "$VTOKEN" --json --cert-publickey-file "$VEC/publickey.pem") ;;
	batch-file) ARGS=(create-qseow --batch "$F/users.jsonl" --jobs 2 --expires 1h --audience aud
		--cert-privatekey-file "$KEY") ;;
	batch-token) ARGS=(create-qseow --batch "$F/users.jsonl" --jobs 2 --expires 1h --audience aud
		--pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF") ;;
	list-tokens) ARGS=(pkcs11 list-tokens --pkcs11-uri 'pkcs11:token=qlik') ;;
	list-tokens-json) ARGS=(pkcs11 list-tokens --pkcs11-uri 'pkcs11:token=qlik' --json) ;;
	list-keys) ARGS=(pkcs11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-pin-file "$PINF") ;;
	*) echo "unknown command case $1" >&2 && exit 2 ;;
	esac
}

# ---- stdout that cannot be written --------------------------------------------------------------

# The control: each command works with an ordinary stdout (so a failure
# below is the broken stdout's doing).
for c in qseow-token qscloud decode-json decode-json-key batch-file batch-token list-tokens \
	list-tokens-json list-keys; do
	cmd_args "$c"
	begin "$c: the control run with an ordinary stdout succeeds and prints"
	qsrun "${ARGS[@]}"
	assert_rc 0
	assert_true test -s "$OUT"
done

for c in qseow-token qscloud decode-json decode-json-key batch-file batch-token list-tokens \
	list-tokens-json list-keys; do
	cmd_args "$c"
	begin "$c: stdout is /dev/full: exit 1, 'No space left on device'"
	full_run "${ARGS[@]}"
	assert_not_killed
	assert_rc 1
	assert_log ERROR "cannot write to standard output" "No space left on device"
	case $c in batch-*)
		# Nothing reached /dev/full: the count must say so.
		assert_log ERROR "No space left on device; 0 tokens written"
		;;
	esac

	begin "$c: stdout is a closed pipe: exit 1, 'Broken pipe', not killed by SIGPIPE"
	pipe_run "${ARGS[@]}"
	assert_not_killed
	assert_rc 1
	assert_log ERROR "cannot write to standard output" "Broken pipe"
	case $c in batch-*) assert_log ERROR "Broken pipe; 0 tokens written" ;; esac
done

# ---- an output directory that cannot be written -------------------------------------------------

# As root, directory modes do not stop a write: the directory is made
# immutable (chattr +i), which stops root too. Not root: chmod 555. Root on a
# file system without chattr: a read-only bind mount in a private mount
# namespace (unshare -m).
IMM=$T_TMP/immutable
mkdir "$IMM"
IMM_RUN=()
IMM_HOW=
if [ "$(id -u)" = 0 ]; then
	if chattr +i "$IMM" 2>/dev/null && ! touch "$IMM/probe" 2>/dev/null; then
		IMM_HOW="chattr +i"
		IMM_ERR="Operation not permitted"
		at_exit "chattr -i '$IMM'"
	elif unshare -m true 2>/dev/null; then
		chattr -i "$IMM" 2>/dev/null
		rm -f "$IMM/probe"
		IMM_HOW="read-only bind mount (unshare -m)"
		IMM_ERR="Read-only file system"
		# shellcheck disable=SC2016 # expanded by that sh
		IMM_RUN=(unshare -m sh -c 'mount --bind -o ro "$0" "$0" && exec "$@"' "$IMM")
	fi
else
	chmod 555 "$IMM"
	IMM_HOW="chmod 555"
	IMM_ERR="Permission denied"
fi
echo "   unwritable output directory by: ${IMM_HOW:-(none possible here)}"

# imm_run ARGS...: qs-jwt ARGS with the unwritable directory in place.
imm_run() { run "${IMM_RUN[@]}" "$QSJWT_BIN" "$@"; }

begin "--cert-create into an unwritable directory ($IMM_HOW): exit 1 before generating, nothing created"
if [ -n "$IMM_HOW" ]; then
	imm_run create-qseow "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 \
		--cert-create-key-bits 2048 --cert-file-prefix "$IMM/x_"
	assert_fails 1 "cannot write '$IMM/x_publickey.pem': directory '$IMM': $IMM_ERR"
	assert_not_contains "$ERR" "generating"
	assert_dir_listing "$IMM" ""
else
	fail "no way to make an unwritable directory here (root without chattr or unshare)"
fi

begin "token --cert-create into an unwritable directory ($IMM_HOW): exit 1, no files, no new token objects"
if [ -n "$IMM_HOW" ]; then
	BEFORE=$(ptool_objects)
	imm_run create-qseow "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=imm-key;id=%21' \
		--pkcs11-pin-file "$PINF" --cert-create --cert-create-expires-days 1 \
		--cert-create-key-bits 2048 --cert-file-prefix "$IMM/"
	assert_fails 1 "cannot write '$IMM/publickey.pem': directory '$IMM': $IMM_ERR"
	assert_not_contains "$ERR" "generating"
	assert_dir_listing "$IMM" ""
	assert_same_text "$BEFORE" "$(ptool_objects)" "objects on the token (pkcs11-tool)"
else
	fail "no way to make an unwritable directory here (root without chattr or unshare)"
fi

# ---- a signal during key generation on the token ---------------------------------------------------

# (SIGTERM for create-qseow on the token is in softhsm_create, both signals
# for file keys in cli_cert_create.)
BG_PID=
# shellcheck disable=SC2016 # expanded at exit: only a run still going
at_exit '[ -n "$BG_PID" ] && kill -9 "$BG_PID"'

# signal_case SIGNAL EXIT LABEL CMD ARGS...: start qs-jwt CMD ARGS
# --cert-create (4096 bits on the token, object LABEL) in the background,
# send SIGNAL once it says it is generating; it must die of it (EXIT) with
# no files and the token's objects as before (pkcs11-tool).
signal_case() {
	local sig=$1 code=$2 label=$3 cmd=$4 o
	shift 4
	begin "SIG$sig during generation of a 4096-bit key on the token ($cmd): exit $code, no files, no objects"
	o=$T_TMP/sig-$label
	mkdir "$o"
	BEFORE=$(ptool_objects)
	assert_true test -n "$BEFORE"
	BG_ERR=$T_TMP/bg.err
	: >"$BG_ERR"
	"$QSJWT_BIN" "$cmd" "$@" --pkcs11-uri "pkcs11:token=qlik;object=$label" \
		--pkcs11-pin-file "$PINF" --cert-create --cert-create-expires-days 30 \
		--cert-create-key-bits 4096 --cert-file-prefix "$o/" >"$OUT" 2>"$BG_ERR" </dev/null &
	BG_PID=$!
	if wait_for_file_text "$BG_ERR" "generating an RSA-4096 key pair on token 'qlik'" 60; then
		kill "-$sig" "$BG_PID"
		wait "$BG_PID"
		RC=$?
		BG_PID=
		cp "$BG_ERR" "$ERR"
		assert_fails "$code" "interrupted; nothing was written or kept" \
			"removed the new objects from token 'qlik'"
		assert_dir_listing "$o" ""
		assert_same_text "$BEFORE" "$(ptool_objects)" "objects on the token (pkcs11-tool)"
	else
		fail "no 'generating an RSA-4096' line within 60 s: $(cat "$BG_ERR")"
		kill -9 "$BG_PID" 2>/dev/null
		wait "$BG_PID" 2>/dev/null
		BG_PID=
	fi
}

signal_case INT 130 int-key create-qseow "${CLAIMS[@]}"
signal_case TERM 143 term-key create-qscloud --issuer iss --keyid kid --sub jdoe --expires 5m
signal_case INT 130 int-key-2 create-qscloud --issuer iss --keyid kid --sub jdoe --expires 5m

# ---- hostile input files --------------------------------------------------------------------------

mkfifo "$F/fifo"
ln -s /dev/zero "$F/zero"
(umask 077 && printf 'pass\n' >"$F/pass")
openssl pkcs8 -topk8 -v2 aes-256-cbc -passout "file:$F/pass" -in "$KEY" -out "$F/enc8.pem"
# 10 MiB of base64 noise (text before a key is allowed: only the size may
# refuse it).
{ head -c 7864320 /dev/urandom | base64; } | head -c 10485760 >"$F/10mib.bin"
assert_eq 10485760 "$(wc -c <"$F/10mib.bin")" "size of the 10 MiB file"

# input_case WHAT EXIT NEEDLE... -- ARGS...: qs-jwt ARGS (stdin from
# $STDIN, /dev/null by default) ends by itself within 20 s with EXIT and an
# ERROR line holding every NEEDLE, nothing on stdout.
STDIN=/dev/null
input_case() {
	local what=$1 code=$2 needles=()
	shift 2
	while [ "$1" != -- ]; do needles+=("$1") && shift; done
	shift
	begin "$what"
	timeout -k 5 20 "$QSJWT_BIN" "$@" >"$OUT" 2>"$ERR" <"$STDIN"
	RC=$?
	STDIN=/dev/null
	assert_not_killed
	assert_rc "$code"
	assert_empty_stdout
	assert_log ERROR "${needles[@]}"
}

input_case "key file of 10 MiB: exit 1, larger than 1 MiB" 1 "'$F/10mib.bin'" "larger than 1 MiB" -- \
	create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$F/10mib.bin"
STDIN=$F/10mib.bin
input_case "key of 10 MiB on stdin (--cert-privatekey -): exit 1, larger than 1 MiB" 1 \
	"standard input" "larger than 1 MiB" -- create-qseow "${CLAIMS[@]}" --cert-privatekey -
# secret_case WHAT RC CMD MESSAGE -- ARGS...: as input_case, for a secret
# file: its refusal is the command's own error, exactly, naming the option.
secret_case() {
	local what=$1 code=$2 cmd=$3 msg=$4
	shift 5
	begin "$what"
	timeout -k 5 20 "$QSJWT_BIN" "$@" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	assert_not_killed
	assert_cli_error "$code" "$cmd" "$msg"
}

secret_case "passphrase file a FIFO without a writer: no hang, exit 1, empty" 1 create-qseow \
	"--cert-privatekey-passphrase-file '$F/fifo' is empty" -- \
	create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$F/enc8.pem" \
	--cert-privatekey-passphrase-file "$F/fifo"
secret_case "passphrase file a symlink to /dev/zero: exit 1, larger than 4 KiB" 1 create-qseow \
	"--cert-privatekey-passphrase-file '$F/zero' is larger than 4 KiB; refusing to read it" -- \
	create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$F/enc8.pem" \
	--cert-privatekey-passphrase-file "$F/zero"
secret_case "PIN file a FIFO without a writer: no hang, exit 1, empty" 1 create-qseow \
	"--pkcs11-pin-file '$F/fifo' is empty" -- \
	create-qseow "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$F/fifo"
secret_case "PIN file a symlink to /dev/zero: exit 1, larger than 4 KiB" 1 create-qseow \
	"--pkcs11-pin-file '$F/zero' is larger than 4 KiB; refusing to read it" -- \
	create-qseow "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$F/zero"
secret_case "pin-source a FIFO without a writer: no hang, exit 1, empty" 1 "pkcs11 list-keys" \
	"--pkcs11-uri: pin-source '$F/fifo' is empty" -- \
	pkcs11 list-keys --pkcs11-uri "pkcs11:token=qlik?pin-source=$F/fifo"
secret_case "pin-source a symlink to /dev/zero: exit 1, larger than 4 KiB" 1 "pkcs11 list-keys" \
	"--pkcs11-uri: pin-source '$F/zero' is larger than 4 KiB; refusing to read it" -- \
	pkcs11 list-keys --pkcs11-uri "pkcs11:token=qlik?pin-source=$F/zero"
input_case "decode --jwt-file a FIFO without a writer: no hang, exit 1, empty" 1 "'$F/fifo'" \
	"empty" -- decode --jwt-file "$F/fifo"
input_case "decode --jwt-file a symlink to /dev/zero: exit 1, larger than" 1 "'$F/zero'" \
	"larger than" -- decode --jwt-file "$F/zero"
input_case "decode --jwt-file of 10 MiB: exit 1, larger than" 1 "'$F/10mib.bin'" "larger than" -- \
	decode --jwt-file "$F/10mib.bin"
input_case "decode --cert-publickey-file a FIFO without a writer: no hang, exit 1, empty" 1 \
	"'$F/fifo'" "empty" -- decode --jwt "$VTOKEN" --cert-publickey-file "$F/fifo"
input_case "decode --cert-publickey-file a symlink to /dev/zero: exit 1, larger than 1 MiB" 1 \
	"'$F/zero'" "larger than 1 MiB" -- decode --jwt "$VTOKEN" --cert-publickey-file "$F/zero"
input_case "decode --cert-publickey-file of 10 MiB: exit 1, larger than 1 MiB" 1 \
	"'$F/10mib.bin'" "larger than 1 MiB" -- decode --jwt "$VTOKEN" \
	--cert-publickey-file "$F/10mib.bin"

# ---- PKCS#11 modules that cannot be used --------------------------------------------------------

printf 'not a module\n' >"$F/text.so"
mkdir "$F/dir.so"
# module_cases: KIND|PATH|NEEDLE (the reason in the ERROR line).
MODULES=(
	"missing|$F/missing.so|cannot load PKCS#11 module '$F/missing.so': No such file or directory"
	"directory|$F/dir.so|cannot load PKCS#11 module '$F/dir.so'"
	"text file|$F/text.so|cannot load PKCS#11 module '$F/text.so'"
	"no C_GetFunctionList|$BAD_NOSYM_MODULE|cannot load PKCS#11 module '$BAD_NOSYM_MODULE'"
	"C_Initialize fails|$BAD_INIT_MODULE|PKCS#11 module '$BAD_INIT_MODULE' failed to initialise (C_Initialize): CKR_GENERAL_ERROR"
)
EXTRA_NEEDLE=(
	[3]="C_GetFunctionList"
)

# module_args CASE MODULE: the arguments of a command that loads MODULE.
module_args() {
	local m=$2
	case $1 in
	sign) ARGS=(create-qseow "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF"
		--pkcs11-module "$m") ;;
	sign-uri) ARGS=(create-qseow "${CLAIMS[@]}" --pkcs11-uri "$KEY_URI?module-path=$m"
		--pkcs11-pin-file "$PINF") ;;
	create) ARGS=(create-qseow "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=mod-key'
		--pkcs11-pin-file "$PINF" --pkcs11-module "$m" --cert-create --cert-create-expires-days 1
		--cert-create-key-bits 2048 --cert-file-prefix "$MO/") ;;
	batch) ARGS=(create-qseow --batch "$F/users.jsonl" --expires 1h --audience aud
		--pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF" --pkcs11-module "$m") ;;
	qscloud) ARGS=(create-qscloud --issuer iss --keyid kid --sub jdoe --expires 5m
		--pkcs11-uri "$KEY_URI" --pkcs11-pin-file "$PINF" --pkcs11-module "$m") ;;
	decode) ARGS=(decode --jwt "$VTOKEN" --pkcs11-uri "$KEY_URI" --pkcs11-module "$m") ;;
	list-tokens) ARGS=(pkcs11 list-tokens --pkcs11-module "$m") ;;
	list-keys) ARGS=(pkcs11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-pin-file "$PINF"
		--pkcs11-module "$m") ;;
	esac
}

MO=$T_TMP/module-out
mkdir "$MO"
BEFORE=$(ptool_objects)
for i in "${!MODULES[@]}"; do
	IFS='|' read -r kind path needle <<<"${MODULES[$i]}"
	for c in sign sign-uri create batch qscloud decode list-tokens list-keys; do
		module_args "$c" "$path"
		begin "module $kind, $c: exit 4, the module and the reason named, nothing on stdout"
		qsrun "${ARGS[@]}"
		assert_not_killed
		assert_fails 4
		assert_log ERROR "$needle" ${EXTRA_NEEDLE[$i]:+"${EXTRA_NEEDLE[$i]}"}
	done
done
begin "after every module failure: no files, the token's objects unchanged"
assert_dir_listing "$MO" ""
assert_same_text "$BEFORE" "$(ptool_objects)" "objects on the token (pkcs11-tool)"

finish
