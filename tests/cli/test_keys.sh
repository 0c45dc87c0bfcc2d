#!/usr/bin/env bash
# Key sources: --cert-privatekey-file, --cert-privatekey PEM and '-' (stdin);
# PEM flavours, encrypted keys and passphrases, refused keys, exactly one
# source.
. "$(dirname "$0")/lib.sh"

K=$T_TMP/keys
mkdir -p "$K"
PASS='MARKER-pass-7f3a'

# Every accepted key below is the vector key in another form, so every
# success must give the all-claims reference token byte for byte.
VCLAIMS=(--userdir ACME --userid jdoe --username 'John Doe' --useremail john.doe@example.com
	--groups Sales Finance --expires 60m --audience qlik-aud --minimal-output --loglevel error)
WANT=$VEC/all-claims.jwt

setup_keys() {
	cp "$VEC/privatekey.pem" "$K/p8.pem"
	openssl pkey -in "$VEC/privatekey.pem" -traditional -out "$K/p1.pem" || return 1
	{ printf 'Bag Attributes\n    friendlyName: qs-jwt\nsome text before the key\n\n'; cat "$K/p1.pem"; } >"$K/text-before.pem"
	sed 's/$/\r/' "$K/p8.pem" >"$K/crlf.pem"
	sed 's/$/\r/' "$K/p1.pem" >"$K/crlf-p1.pem"
	cat "$VEC/publickey.cer" "$K/p8.pem" >"$K/cert-then-key.pem"
	printf '%s\n' "$PASS" >"$K/pass"
	chmod 600 "$K/pass"
	openssl pkcs8 -topk8 -v2 aes-256-cbc -passout "file:$K/pass" -in "$VEC/privatekey.pem" \
		-out "$K/enc8.pem" || return 1
	openssl rsa -in "$VEC/privatekey.pem" -aes256 -traditional -passout "file:$K/pass" \
		-out "$K/legacy.pem" 2>/dev/null || return 1
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/ec.pem" 2>/dev/null &&
		openssl genpkey -algorithm ED25519 -out "$K/ed25519.pem" &&
		openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out "$K/pss.pem" 2>/dev/null &&
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$K/rsa1024.pem" 2>/dev/null ||
		return 1
	printf 'this is not a key\n' >"$K/garbage"
	head -c 3000 /dev/urandom >"$K/binary"
	printf -- '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' >"$K/damaged.pem"
	: >"$K/empty"
	mkdir "$K/adir"
	ln -s /dev/zero "$K/zero"
	mkfifo "$K/fifo"
	# Exactly 1 MiB with the key at the end, and one byte more.
	local size pad
	size=$(wc -c <"$K/p8.pem")
	pad=$((1048576 - size))
	{ head -c $((pad - 1)) /dev/zero | tr '\0' x; printf '\n'; cat "$K/p8.pem"; } >"$K/1mib.pem"
	{ printf 'y'; cat "$K/1mib.pem"; } >"$K/1mib-plus-1.pem"
}

begin "setup: test keys generated with openssl"
assert_true setup_keys
assert_eq "-----BEGIN RSA PRIVATE KEY-----" "$(head -1 "$K/p1.pem")" "PKCS#1 header"
assert_eq "-----BEGIN PRIVATE KEY-----" "$(head -1 "$K/p8.pem")" "PKCS#8 header"
assert_eq "-----BEGIN ENCRYPTED PRIVATE KEY-----" "$(head -1 "$K/enc8.pem")" "encrypted PKCS#8 header"
assert_eq "Proc-Type: 4,ENCRYPTED" "$(sed -n 2p "$K/legacy.pem")" "legacy encryption header"
assert_eq 1048576 "$(wc -c <"$K/1mib.pem")" "size of 1mib.pem"

# key_ok DESCRIPTION ARGS...: the pinned run gives the reference token and
# writes nothing on stderr (--loglevel error).
key_ok() {
	begin "$1"
	shift
	qs_pinned "${VCLAIMS[@]}" "$@"
	assert_rc 0 || return
	assert_file_eq "$WANT" "$OUT"
	assert_empty_stderr
	assert_token_stdout && verify_jwt "$TOKEN" "$VEC/publickey.pem"
}

key_ok_stdin() {
	begin "$1"
	local in=$2
	shift 2
	qs_pinned_stdin "$in" "${VCLAIMS[@]}" "$@"
	assert_rc 0 || return
	assert_file_eq "$WANT" "$OUT"
	assert_empty_stderr
	assert_token_stdout && verify_jwt "$TOKEN" "$VEC/publickey.pem"
}

# ---- accepted key files ------------------------------------------------------------

key_ok "PKCS#8 key file" --cert-privatekey-file "$K/p8.pem"
key_ok "PKCS#1 key file (BEGIN RSA PRIVATE KEY)" --cert-privatekey-file "$K/p1.pem"
key_ok "text before the PEM block" --cert-privatekey-file "$K/text-before.pem"
key_ok "CRLF line endings (PKCS#8)" --cert-privatekey-file "$K/crlf.pem"
key_ok "CRLF line endings (PKCS#1)" --cert-privatekey-file "$K/crlf-p1.pem"
key_ok "a certificate before the key" --cert-privatekey-file "$K/cert-then-key.pem"
key_ok "key file of exactly 1 MiB" --cert-privatekey-file "$K/1mib.pem"
key_ok "relative key path" --cert-privatekey-file "$(realpath --relative-to=. "$K/p1.pem")"
key_ok "--cert-privatekey-file given twice: the last wins" \
	--cert-privatekey-file "$K/ec.pem" --cert-privatekey-file "$K/p8.pem"
key_ok "--cert-create false with a key file" --cert-create false --cert-privatekey-file "$K/p8.pem"

# ---- encrypted keys ----------------------------------------------------------------

key_ok "encrypted PKCS#8, passphrase file" \
	--cert-privatekey-file "$K/enc8.pem" --cert-privatekey-passphrase-file "$K/pass"
key_ok "legacy PEM encryption, passphrase file" \
	--cert-privatekey-file "$K/legacy.pem" --cert-privatekey-passphrase-file "$K/pass"

export QSJWT_KEY_PASSPHRASE=$PASS
key_ok "encrypted PKCS#8, QSJWT_KEY_PASSPHRASE" --cert-privatekey-file "$K/enc8.pem"
key_ok "legacy PEM encryption, QSJWT_KEY_PASSPHRASE" --cert-privatekey-file "$K/legacy.pem"
key_ok "unencrypted key with QSJWT_KEY_PASSPHRASE set" --cert-privatekey-file "$K/p1.pem"
unset QSJWT_KEY_PASSPHRASE

printf '%s' "$PASS" >"$K/pass-nonl"
printf '%s\r\n' "$PASS" >"$K/pass-crlf"
printf '%s\n\n' "$PASS" >"$K/pass-2nl"
printf '%s\n' wrong-pass >"$K/pass-wrong"
cp "$K/pass" "$K/pass-0400"
chmod 600 "$K/pass-nonl" "$K/pass-crlf" "$K/pass-2nl" "$K/pass-wrong"
chmod 400 "$K/pass-0400"

key_ok "passphrase file without a trailing newline" \
	--cert-privatekey-file "$K/enc8.pem" --cert-privatekey-passphrase-file "$K/pass-nonl"
key_ok "passphrase file with CRLF" \
	--cert-privatekey-file "$K/legacy.pem" --cert-privatekey-passphrase-file "$K/pass-crlf"
key_ok "passphrase file of mode 0400" \
	--cert-privatekey-file "$K/enc8.pem" --cert-privatekey-passphrase-file "$K/pass-0400"

begin "passphrase file wins over QSJWT_KEY_PASSPHRASE"
QSJWT_KEY_PASSPHRASE=wrong-pass qs_pinned "${VCLAIMS[@]}" \
	--cert-privatekey-file "$K/enc8.pem" --cert-privatekey-passphrase-file "$K/pass"
assert_rc 0 && assert_file_eq "$WANT" "$OUT"
assert_token_stdout && verify_jwt "$TOKEN" "$VEC/publickey.pem"

for f in enc8 legacy; do
	begin "$f: no passphrase and no terminal: exit 1 naming both ways"
	qs "${CLAIMS[@]}" --cert-privatekey-file "$K/$f.pem"
	assert_runtime_error "'$K/$f.pem'" "encrypted"
	assert_log ERROR "--cert-privatekey-passphrase-file"
	assert_log ERROR "QSJWT_KEY_PASSPHRASE"

	begin "$f: empty QSJWT_KEY_PASSPHRASE counts as none"
	QSJWT_KEY_PASSPHRASE='' qs "${CLAIMS[@]}" --cert-privatekey-file "$K/$f.pem"
	assert_runtime_error "'$K/$f.pem'" "encrypted" "QSJWT_KEY_PASSPHRASE"

	begin "$f: wrong passphrase from a file: exit 1"
	qs "${CLAIMS[@]}" --cert-privatekey-file "$K/$f.pem" \
		--cert-privatekey-passphrase-file "$K/pass-wrong"
	assert_runtime_error "'$K/$f.pem'" "wrong passphrase"

	begin "$f: wrong passphrase from QSJWT_KEY_PASSPHRASE: exit 1"
	QSJWT_KEY_PASSPHRASE=wrong-pass qs "${CLAIMS[@]}" --cert-privatekey-file "$K/$f.pem"
	assert_runtime_error "wrong passphrase"

	begin "$f: only one trailing newline is ignored"
	qs "${CLAIMS[@]}" --cert-privatekey-file "$K/$f.pem" \
		--cert-privatekey-passphrase-file "$K/pass-2nl"
	assert_runtime_error "wrong passphrase"

	begin "$f: QSJWT_KEY_PASSPHRASE does not rescue a wrong passphrase file"
	QSJWT_KEY_PASSPHRASE=$PASS qs "${CLAIMS[@]}" --cert-privatekey-file "$K/$f.pem" \
		--cert-privatekey-passphrase-file "$K/pass-wrong"
	assert_runtime_error "wrong passphrase"

	begin "$f: terminal prompt: the passphrase typed (not echoed) signs the reference token"
	run_tty "Passphrase for " "$PASS" env TZ=UTC "$(_faketime_env)" faketime -f "$PINNED" \
		"$QSJWT_BIN" create-qseow "${VCLAIMS[@]}" --cert-privatekey-file "$K/$f.pem" --loglevel debug
	assert_rc 0 && assert_file_eq "$WANT" "$OUT"
	assert_eq 1 "$(grep -c "Passphrase for key file '$K/$f.pem': " "$TTY_LOG")" "prompts on the terminal"
	assert_not_contains "$TTY_LOG" "$PASS"
	assert_not_contains "$ERR" "$PASS"

	begin "$f: terminal prompt: a wrong passphrase typed: exit 1, asked once, not echoed"
	run_tty "Passphrase for " wrong-typed "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" \
		--cert-privatekey-file "$K/$f.pem"
	assert_runtime_error "'$K/$f.pem'" "wrong passphrase"
	assert_eq 1 "$(grep -c "Passphrase for " "$TTY_LOG")" "prompts on the terminal"
	assert_not_contains "$TTY_LOG" wrong-typed

	begin "$f: Ctrl-C at the passphrase prompt: exit 130 (not a key error), nothing printed"
	run_tty "Passphrase for " $'\003' "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" \
		--cert-privatekey-file "$K/$f.pem"
	assert_rc 130
	assert_empty_stdout
	assert_not_contains "$ERR" "wrong passphrase"
done

for mode in 640 604 644 660 606; do
	begin "passphrase file of mode 0$mode (readable by others): exit 2"
	cp "$K/pass" "$K/pass-$mode"
	chmod "$mode" "$K/pass-$mode"
	qs "${CLAIMS[@]}" --cert-privatekey-file "$K/enc8.pem" \
		--cert-privatekey-passphrase-file "$K/pass-$mode"
	assert_cli_error 2 create-qseow "--cert-privatekey-passphrase-file '$K/pass-$mode' is readable by other users (mode 0$mode); make it private first: chmod 600 '$K/pass-$mode'"
done

# Every refusal of a passphrase file: once, in the command's error format,
# naming the option and the file; exit 2 for a file refused, 1 for one that
# cannot be read (the README's exit codes).
PF=$K/pf
mkdir -m 700 "$PF"
# pass_file NAME CONTENT: a private passphrase file (printf %b CONTENT).
pass_file() { (umask 077 && printf '%b' "$2" >"$PF/$1") && echo "$PF/$1"; }
# pass_case WHAT RC FILE MESSAGE
pass_case() {
	begin "passphrase file $1: exit $2, the command's error naming the file"
	qs "${CLAIMS[@]}" --cert-privatekey-file "$K/enc8.pem" --cert-privatekey-passphrase-file "$3"
	assert_cli_error "$2" create-qseow "$4"
	assert_not_contains "$ERR" "$PASS"
}
f=$(pass_file empty '')
pass_case "empty" 2 "$f" "--cert-privatekey-passphrase-file '$f' is empty"
f=$(pass_file newline '\n')
pass_case "holding only a newline" 2 "$f" "--cert-privatekey-passphrase-file '$f' holds an empty value"
f=$(pass_file nul "$PASS\\0x\n")
pass_case "holding a NUL byte" 2 "$f" "--cert-privatekey-passphrase-file '$f' holds a NUL byte"
f=$(pass_file long "$(head -c 1024 /dev/zero | tr '\0' p)\n")
pass_case "holding 1024 bytes" 2 "$f" "--cert-privatekey-passphrase-file '$f' holds a passphrase longer than 1023 bytes"
f=$(pass_file big "$(head -c 4097 /dev/zero | tr '\0' p)")
pass_case "of 4097 bytes" 1 "$f" "--cert-privatekey-passphrase-file '$f' is larger than 4 KiB; refusing to read it"
pass_case "a directory" 1 "$PF" "cannot read --cert-privatekey-passphrase-file '$PF': it is a directory, not a file"
pass_case "missing" 1 "$K/no-such-pass" "cannot read --cert-privatekey-passphrase-file '$K/no-such-pass': No such file or directory"

begin "QSJWT_KEY_PASSPHRASE of 1024 bytes: exit 2, the command's error naming the variable"
QSJWT_KEY_PASSPHRASE=$(head -c 1024 /dev/zero | tr '\0' p) qs "${CLAIMS[@]}" \
	--cert-privatekey-file "$K/enc8.pem"
assert_cli_error 2 create-qseow "QSJWT_KEY_PASSPHRASE holds a passphrase longer than 1023 bytes"

# ---- --cert-privatekey PEM and '-' ------------------------------------------------------

key_ok "--cert-privatekey PEM (PKCS#8) on the command line" --cert-privatekey "$(cat "$K/p8.pem")"
key_ok "--cert-privatekey PEM (PKCS#1) on the command line" --cert-privatekey "$(cat "$K/p1.pem")"
key_ok "--cert-privatekey=PEM" "--cert-privatekey=$(cat "$K/p1.pem")"
key_ok "--cert-privatekey with a certificate before the key" \
	--cert-privatekey "$(cat "$K/cert-then-key.pem")"
key_ok "--cert-privatekey given twice: the last wins" \
	--cert-privatekey "$(cat "$K/ec.pem")" --cert-privatekey "$(cat "$K/p8.pem")"
key_ok "--cert-privatekey encrypted PKCS#8 with a passphrase file" \
	--cert-privatekey "$(cat "$K/enc8.pem")" --cert-privatekey-passphrase-file "$K/pass"
QSJWT_KEY_PASSPHRASE=$PASS key_ok "--cert-privatekey legacy encrypted with QSJWT_KEY_PASSPHRASE" \
	--cert-privatekey "$(cat "$K/legacy.pem")"

key_ok_stdin "--cert-privatekey - (PKCS#8 on stdin)" "$K/p8.pem" --cert-privatekey -
key_ok_stdin "--cert-privatekey - (PKCS#1 on stdin)" "$K/p1.pem" --cert-privatekey -
key_ok_stdin "--cert-privatekey - (CRLF on stdin)" "$K/crlf.pem" --cert-privatekey -
key_ok_stdin "--cert-privatekey - (encrypted, passphrase file)" "$K/enc8.pem" \
	--cert-privatekey - --cert-privatekey-passphrase-file "$K/pass"
QSJWT_KEY_PASSPHRASE=$PASS key_ok_stdin "--cert-privatekey - (legacy encrypted, env passphrase)" \
	"$K/legacy.pem" --cert-privatekey -

begin "--cert-privatekey - with an encrypted key and no passphrase: exit 1"
qs_stdin "$K/enc8.pem" "${CLAIMS[@]}" --cert-privatekey -
assert_runtime_error "standard input" "encrypted" "--cert-privatekey-passphrase-file" "QSJWT_KEY_PASSPHRASE"

begin "--cert-privatekey - with an empty stdin: exit 1"
qs "${CLAIMS[@]}" --cert-privatekey -
assert_runtime_error "standard input" "empty"

begin "--cert-privatekey - with more than 1 MiB on stdin: exit 1"
qs_stdin "$K/1mib-plus-1.pem" "${CLAIMS[@]}" --cert-privatekey -
assert_runtime_error "standard input" "larger than 1 MiB"

# ---- refused keys -------------------------------------------------------------------------

# refused FILE NEEDLE...: the key file is refused with exit 1 and an ERROR
# line naming the file and holding every NEEDLE (what was found).
refused() {
	local f=$1
	shift
	begin "refused key file $(basename "$f"): $*"
	run timeout 10 "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$f"
	assert_runtime_error "'$f'" "$@"
	assert_ne 124 "$RC" "exit code (124 = hung and killed by timeout)"
}

refused "$K/ec.pem" "EC key" "RSA"
refused "$K/ed25519.pem" "25519"
refused "$K/pss.pem" "RSA-PSS"
refused "$K/rsa1024.pem" "1024 bits" "2048"
refused "$VEC/publickey.pem" "PUBLIC KEY" "no private key"
refused "$VEC/publickey.cer" "CERTIFICATE" "no private key"
refused "$K/garbage" "no PEM"
refused "$K/binary" "no PEM"
refused "$K/damaged.pem" "private key" "cannot be read"
refused "$K/empty" "empty"
refused "$K/adir" "directory"
refused "$K/1mib-plus-1.pem" "larger than 1 MiB"
refused "$K/zero" "larger than 1 MiB"
refused "$K/fifo" "empty"
refused "$K/no-such-key.pem" "No such file or directory"

begin "refused key via --cert-privatekey: EC"
qs "${CLAIMS[@]}" --cert-privatekey "$(cat "$K/ec.pem")"
assert_runtime_error "--cert-privatekey" "EC key"

begin "refused key via --cert-privatekey: a public key"
qs "${CLAIMS[@]}" --cert-privatekey "$(cat "$VEC/publickey.pem")"
assert_runtime_error "--cert-privatekey" "PUBLIC KEY" "no private key"

begin "refused key via --cert-privatekey: garbage (several lines, no PEM armour)"
qs "${CLAIMS[@]}" --cert-privatekey $'not\na key'
assert_runtime_error "--cert-privatekey" "no PEM"

for name in privatekey.pem "$K/p8.pem" "not a key"; do
	begin "--cert-privatekey '$name' (one line, no PEM): usage error, did you mean --cert-privatekey-file?"
	qs "${CLAIMS[@]}" --cert-privatekey "$name"
	assert_usage_error "--cert-privatekey takes the key's PEM text, and '$name' is not PEM" \
		"did you mean --cert-privatekey-file?"
done

begin "--cert-privatekey with a long one-line value that is not PEM: not shown"
qs "${CLAIMS[@]}" --cert-privatekey "$(printf 'A%.0s' $(seq 100))"
assert_usage_error "of 100 bytes (not shown" "did you mean --cert-privatekey-file?"

begin "refused key via stdin: RSA-1024"
qs_stdin "$K/rsa1024.pem" "${CLAIMS[@]}" --cert-privatekey -
assert_runtime_error "standard input" "1024 bits"

begin "refused key via stdin: a certificate only"
qs_stdin "$VEC/publickey.cer" "${CLAIMS[@]}" --cert-privatekey -
assert_runtime_error "standard input" "CERTIFICATE" "no private key"

# ---- exactly one key source -----------------------------------------------------------------

begin "no key source: usage error"
qs "${CLAIMS[@]}"
assert_usage_error "no signing key" "--cert-privatekey-file" "--cert-privatekey," "--cert-create true"

begin "--cert-create false alone is no key source"
qs "${CLAIMS[@]}" --cert-create false
assert_usage_error "no signing key"

begin "two key sources: file and PEM"
qs "${CLAIMS[@]}" --cert-privatekey-file "$K/p8.pem" --cert-privatekey "$(cat "$K/p8.pem")"
assert_usage_error "--cert-privatekey-file and --cert-privatekey " "exactly one"

begin "two key sources: file and stdin"
qs_stdin "$K/p8.pem" "${CLAIMS[@]}" --cert-privatekey - --cert-privatekey-file "$K/p8.pem"
assert_usage_error "--cert-privatekey-file and --cert-privatekey " "exactly one"

begin "two key sources: file and --cert-create true"
qs "${CLAIMS[@]}" --cert-privatekey-file "$K/p8.pem" --cert-create true --cert-create-expires-days 1
assert_usage_error "--cert-privatekey-file and --cert-create true" "exactly one"

begin "two key sources: bare --cert-create and a key file"
qs "${CLAIMS[@]}" --cert-create --cert-privatekey-file "$K/p8.pem" --cert-create-expires-days 1
assert_usage_error "exactly one"

begin "two key sources: PEM and --cert-create"
qs "${CLAIMS[@]}" --cert-privatekey "$(cat "$K/p8.pem")" --cert-create --cert-create-expires-days 1
assert_usage_error "--cert-privatekey and --cert-create true" "exactly one"

begin "three key sources"
qs_stdin "$K/p8.pem" "${CLAIMS[@]}" --cert-privatekey - --cert-privatekey-file "$K/p8.pem" \
	--cert-create --cert-create-expires-days 1
assert_usage_error "exactly one"

# The original took --cert-create-expires-days and --cert-file-prefix without
# --cert-create (wrapper scripts pass every option they know): accepted, with
# a warning that they have no effect; no file is made.
for stray in "--cert-create-expires-days 5" "--cert-file-prefix out/x_" "--cert-file-prefix ="; do
	opt=${stray%% *}
	val=${stray#* }
	[ "$val" = = ] && val=
	for cc in "" "--cert-create false"; do
		begin "$opt '$val' ${cc:-without --cert-create}: accepted, warning 'no effect', no file"
		D=$(mktemp -d "$T_TMP/stray.XXXXXX")
		# shellcheck disable=SC2086
		at "$D" qs "${CLAIMS[@]}" --cert-privatekey-file "$K/p8.pem" $cc "$opt" "$val"
		assert_ok_token
		assert_log WARN "$opt has no effect without --cert-create true"
		assert_dir_listing "$D" ""
	done
done

for stray in "--cert-create-key-bits 2048" "--force"; do
	opt=${stray%% *}
	begin "$stray without --cert-create true: usage error"
	# shellcheck disable=SC2086
	qs "${CLAIMS[@]}" --cert-privatekey-file "$K/p8.pem" $stray
	assert_usage_error "$opt " "--cert-create true"

	begin "$stray with --cert-create false: usage error"
	# shellcheck disable=SC2086
	qs "${CLAIMS[@]}" --cert-privatekey-file "$K/p8.pem" --cert-create false $stray
	assert_usage_error "$opt " "--cert-create true"
done

begin "--cert-privatekey-passphrase-file with --cert-create: usage error"
qs "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 --cert-privatekey-passphrase-file "$K/pass"
assert_usage_error "--cert-privatekey-passphrase-file "

begin "--cert-privatekey-file without a value: usage error"
qs "${CLAIMS[@]}" --cert-privatekey-file
assert_usage_error "--cert-privatekey-file " "needs a value"

begin "--cert-privatekey without a value: usage error"
qs "${CLAIMS[@]}" --cert-privatekey
assert_usage_error "--cert-privatekey " "needs a value"

begin "usage errors come before reading the key: unreadable key and missing claim"
qs --userid u --cert-privatekey-file "$K/no-such-key.pem"
assert_usage_error "required" "'--userdir"

finish
