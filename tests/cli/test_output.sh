#!/usr/bin/env bash
# Output: the token alone on stdout in every mode, logs on stderr, --loglevel
# and --minimal-output, write errors on stdout, usage errors, help, version.
. "$(dirname "$0")/lib.sh"

KEY=$VEC/privatekey.pem
WANT=$VEC/all-claims.jwt
VCLAIMS=(--userdir ACME --userid jdoe --username 'John Doe' --useremail john.doe@example.com
	--groups Sales Finance --expires 60m --audience qlik-aud)

# ---- stdout: the token alone, stderr: log lines ------------------------------------------------

for level in error warn warning info verbose debug; do
	for minimal in "" --minimal-output; do
		begin "--loglevel $level ${minimal:-(no --minimal-output)}: token alone on stdout"
		qs_pinned "${VCLAIMS[@]}" --cert-privatekey-file "$KEY" --loglevel "$level" $minimal
		assert_rc 0
		assert_file_eq "$WANT" "$OUT"
		assert_token_stdout && verify_jwt "$TOKEN" "$VEC/publickey.pem"
		assert_stderr_all_log_lines
		assert_no_log_level ERROR
		assert_no_log_level WARN
		case $level in
		error | warn | warning)
			assert_empty_stderr
			;;
		info | verbose | debug)
			if [ -n "$minimal" ]; then
				assert_no_log_level INFO
			else
				assert_log INFO
			fi
			;;
		esac
		case $level in
		verbose | debug) assert_log VERBOSE ;;
		*) assert_no_log_level VERBOSE ;;
		esac
		case $level in
		debug)
			assert_log DEBUG
			;;
		*) assert_no_log_level DEBUG ;;
		esac
	done
done

for level in error warn warning info verbose debug; do
	for minimal in "" --minimal-output; do
		begin "--cert-create at --loglevel $level ${minimal:-(no --minimal-output)}: token alone on stdout"
		D=$(mktemp -d "$T_TMP/cc.XXXXXX")
		at "$D" qs "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 \
			--cert-create-key-bits 2048 --loglevel "$level" $minimal
		assert_ok_token && verify_jwt "$TOKEN" "$D/publickey.pem"
		assert_stderr_all_log_lines
		case "$level$minimal" in
		info | verbose | debug) assert_log INFO "publickey.cer" ;;
		*) assert_no_log_level INFO ;;
		esac
	done
done

begin "warnings pass --minimal-output, and --loglevel error hides them"
qs "${CLAIMS[@]}" --expires 5000 --cert-privatekey-file "$KEY" --minimal-output
assert_ok_token "$VEC/publickey.pem"
assert_log WARN "--expires" "'5000'"
assert_no_log_level INFO
qs "${CLAIMS[@]}" --expires 5000 --cert-privatekey-file "$KEY" --loglevel error
assert_ok_token "$VEC/publickey.pem"
assert_empty_stderr
qs "${CLAIMS[@]}" --expires 5000 --cert-privatekey-file "$KEY" --loglevel warning
assert_ok_token "$VEC/publickey.pem"
assert_log WARN "--expires" "'5000'"
assert_no_log_level INFO

begin "errors pass --loglevel error and --minimal-output"
qs "${CLAIMS[@]}" --cert-privatekey-file "$T_TMP/none.pem" --loglevel error --minimal-output
assert_runtime_error "none.pem"
assert_stderr_all_log_lines

begin "--loglevel: the last one wins"
qs_pinned "${VCLAIMS[@]}" --cert-privatekey-file "$KEY" --loglevel debug --loglevel error
assert_rc 0
assert_file_eq "$WANT" "$OUT"
assert_empty_stderr

for bad in ERROR Info trace silent "" warnings 0 "info "; do
	begin "--loglevel '$bad': usage error"
	qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --loglevel "$bad"
	assert_usage_error "--loglevel" "'$bad'"
done

begin "log lines under a pinned clock carry its timestamp"
qs_pinned "${VCLAIMS[@]}" --cert-privatekey-file "$KEY" --loglevel verbose
assert_rc 0
assert_eq 0 "$(grep -vc '^2030-01-01T00:00:0[0-9]\.[0-9][0-9][0-9]Z ' "$ERR")" "log lines without the pinned timestamp"

begin "--loglevel debug: verbose names the key and the signing options, debug the header and payload"
qs_pinned "${VCLAIMS[@]}" --cert-privatekey-file "$KEY" --alg RS384 --loglevel debug
assert_rc 0
assert_log VERBOSE "signing key: key file '$KEY' (RSA 2048 bits)"
assert_log VERBOSE "signing with RS384, key file '$KEY'; iat 1893456000, exp 1893459600"
assert_log DEBUG 'header: {"alg":"RS384","typ":"JWT"}'
assert_log DEBUG 'payload: {"userId":"jdoe","userDirectory":"ACME","name":"John Doe","email":"john.doe@example.com","group":["Sales","Finance"],"iat":1893456000,"exp":1893459600,"aud":"qlik-aud"}'
assert_token_stdout && verify_jwt "$TOKEN" "$VEC/publickey.pem" RS384

begin "no colour codes when stderr is not a terminal"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --loglevel debug
assert_ok_token "$VEC/publickey.pem"
assert_not_contains "$ERR" "$(printf '\033')"

begin "stderr a terminal: every level label coloured, the token alone on stdout"
run_tty_stderr "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --expires 10 --loglevel debug
assert_ok_token "$VEC/publickey.pem"
esc=$(printf '\033')
for lvl in 'DEBUG' 'VERBOSE' 'INFO' 'WARN'; do
	n=$(grep -c "^20[0-9-]*T[0-9:.]*Z ${esc}\[[0-9;]*m${lvl}${esc}\[0m: " "$ERR")
	[ "$n" -ge 1 ] || fail "no coloured $lvl line on the terminal: $(head -c 300 "$ERR" | od -c | head -5)"
done
assert_eq 0 "$(tr -d '\r' <"$ERR" | grep -vc "^20[0-9-]*T[0-9:.]*Z ${esc}\[[0-9;]*m[A-Z]*${esc}\[0m: ")" "uncoloured lines on the terminal"

begin "stderr a terminal, NO_COLOR=1: no colour codes"
run_tty_stderr env NO_COLOR=1 "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --loglevel debug
assert_ok_token "$VEC/publickey.pem"
assert_not_contains "$ERR" "$(printf '\033')"
assert_contains "$ERR" " INFO: "

begin "stderr a terminal, NO_COLOR set but empty: coloured (no-color.org)"
run_tty_stderr env NO_COLOR= "$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$KEY"
assert_ok_token "$VEC/publickey.pem"
assert_contains "$ERR" "$(printf '\033')["

# ---- no stdout on failure ---------------------------------------------------------------------

fail_runs=(
	"--userid x"
	"--bogus"
	"${CLAIMS[*]@Q} --cert-privatekey-file /nonexistent"
	"${CLAIMS[*]@Q} --cert-privatekey-file ${VEC@Q}/publickey.pem"
	"${CLAIMS[*]@Q} --cert-privatekey-file ${KEY@Q} --alg HS256"
	"${CLAIMS[*]@Q} --cert-privatekey-file ${KEY@Q} --expires 1x"
	"${CLAIMS[*]@Q} --cert-create --cert-create-expires-days 1 --cert-create-key-bits 2048 --cert-file-prefix /nonexistent/x"
)
for args in "${fail_runs[@]}"; do
	for level in error debug; do
		for minimal in "" --minimal-output; do
			begin "failure prints nothing on stdout: $level ${minimal:-} ${args:0:60}"
			eval "qs $args --loglevel $level $minimal"
			assert_ne 0 "$RC" "exit code"
			assert_empty_stdout
		done
	done
done

# ---- stdout that cannot be written ----------------------------------------------------------------

begin "stdout is /dev/full: exit 1 with a message"
if [ -w /dev/full ]; then
	"$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$KEY" >/dev/full 2>"$ERR" </dev/null
	RC=$?
	: >"$OUT"
	assert_runtime_error "standard output" "No space left on device"
else
	echo "  (no /dev/full here)"
fi

begin "--help to /dev/full: exit 1"
if [ -w /dev/full ]; then
	: >"$OUT"
	"$QSJWT_BIN" create-qseow --help >/dev/full 2>"$ERR" </dev/null
	RC=$?
	assert_runtime_error "standard output" "No space left on device"
	"$QSJWT_BIN" --version >/dev/full 2>"$ERR" </dev/null
	RC=$?
	assert_runtime_error "standard output" "No space left on device"
fi

# closed_pipe_run ARGS...: qs-jwt with stdout on a pipe that has no reader,
# SIGPIPE at its default action (as from an ordinary shell).
closed_pipe_run() {
	local fifo=$T_TMP/fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	exec 7<>"$fifo"     # a reader, so that opening for writing does not block
	exec 8>"$fifo"
	exec 7<&-           # no reader left: writes fail with EPIPE / SIGPIPE
	env --default-signal=PIPE "$QSJWT_BIN" "$@" >&8 2>"$ERR" </dev/null
	RC=$?
	exec 8>&-
	: >"$OUT"
}

begin "stdout is a closed pipe: exit 1 with a message, not killed by SIGPIPE"
closed_pipe_run create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$KEY"
assert_ne 141 "$RC" "exit code (141 = killed by SIGPIPE)"
assert_runtime_error "standard output" "Broken pipe"

begin "the closed-pipe check can fail: a program that does not ignore SIGPIPE dies"
closed_pipe_run_cat() {
	local fifo=$T_TMP/fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	exec 7<>"$fifo"
	exec 8>"$fifo"
	exec 7<&-
	env --default-signal=PIPE sh -c 'echo x' >&8 2>/dev/null
	RC=$?
	exec 8>&-
}
closed_pipe_run_cat
assert_rc 141

begin "stdout is a closed pipe, --cert-create: exit 1, the complete key set stays"
D=$(mktemp -d "$T_TMP/cc.XXXXXX")
at "$D" closed_pipe_run create-qseow "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 --cert-create-key-bits 2048
assert_runtime_error "standard output" "Broken pipe"
assert_dir_listing "$D" "privatekey.pem publickey.cer publickey.pem"
assert_mode "$D/privatekey.pem" 600

begin "stdout closed (fd 1 not open): exit 1 with a message"
"$QSJWT_BIN" create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$KEY" >&- 2>"$ERR" </dev/null
RC=$?
: >"$OUT"
assert_runtime_error "standard output"

# ---- usage errors -------------------------------------------------------------------------------

begin "unknown option: usage error"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --bogus
assert_usage_error "unknown option '--bogus'"

begin "unknown option with =value: the value is not echoed"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" "--cert-private-key=SECRET-VALUE-123"
assert_usage_error "unknown option '--cert-private-key'"
assert_not_contains "$ERR" "SECRET-VALUE-123"

begin "unknown short option: usage error"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" -x
assert_usage_error "unknown option '-x'"

begin "original short options do not exist: -u"
qs -u jdoe
assert_usage_error "unknown option '-u'"

begin "stray positional argument: usage error"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" extra
assert_usage_error "unexpected argument 'extra'"

begin "stray positional argument first: usage error"
qs extra "${CLAIMS[@]}" --cert-privatekey-file "$KEY"
assert_usage_error "unexpected argument 'extra'"

begin "'--' is not accepted: usage error"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --
assert_usage_error "unexpected argument '--'"

begin "a lone '-': usage error"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" -
assert_usage_error "unexpected argument '-'"

begin "flag with a value: usage error"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --minimal-output=yes
assert_usage_error "--minimal-output" "takes no value"

begin "option missing its value at the end: usage error"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --audience
assert_usage_error "--audience" "needs a value"

begin "unknown command: exit 2"
run "$QSJWT_BIN" frobnicate --help
assert_rc 2
assert_empty_stdout
assert_eq "qs-jwt: error: unknown command 'frobnicate'" "$(sed -n 1p "$ERR")" "first line"
assert_eq "see 'qs-jwt --help'" "$(sed -n 2p "$ERR")" "second line"

begin "the original's other commands are unknown: create-saas"
run "$QSJWT_BIN" create-saas
assert_rc 2
assert_empty_stdout
assert_contains "$ERR" "unknown command 'create-saas'"

begin "a PEM key given as the command word: exit 2, the key is not printed"
run "$QSJWT_BIN" "$(cat "$KEY")" --userid jdoe
assert_rc 2
assert_empty_stdout
assert_eq "qs-jwt: error: unknown command of $(wc -c <"$KEY" | awk '{print $1 - 1}') bytes (not shown: it may be a secret)" \
	"$(sed -n 1p "$ERR")" "first line"
assert_eq 2 "$(wc -l <"$ERR")" "lines on stderr"
assert_no_pem_body "$ERR" "$KEY"
assert_not_contains "$ERR" "BEGIN"

begin "an escape sequence as the command word: exit 2, no control byte reaches stderr"
run "$QSJWT_BIN" $'\e]0;owned\a\e[31mred'
assert_rc 2
assert_eq "" "$(LC_ALL=C tr -d '\n\040-\176' <"$ERR")" "bytes outside printable ASCII on stderr"

begin "pkcs11: a PEM key or an escape sequence as the subcommand: exit 2, not printed"
run "$QSJWT_BIN" pkcs11 "$(cat "$KEY")"
assert_rc 2
assert_empty_stdout
assert_contains "$ERR" "qs-jwt pkcs11: error: unknown subcommand of "
assert_contains "$ERR" "see 'qs-jwt pkcs11 --help'"
assert_not_contains "$ERR" "BEGIN"
assert_no_pem_body "$ERR" "$KEY"
run "$QSJWT_BIN" pkcs11 $'\e[2Jx'
assert_rc 2
assert_eq "" "$(LC_ALL=C tr -d '\n\040-\176' <"$ERR")" "bytes outside printable ASCII on stderr"
run "$QSJWT_BIN" pkcs11 list-token
assert_rc 2
assert_contains "$ERR" "unknown subcommand 'list-token'"

begin "a --pkcs11-uri refused before any token is touched: the one usage error format, naming the option"
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;color=blue'
assert_usage_error "--pkcs11-uri: the PKCS#11 URI has the path attribute 'color'"
qs "${CLAIMS[@]}" --pkcs11-uri 'not-a-uri'
assert_usage_error "--pkcs11-uri: the value given (9 bytes, not shown) is not a PKCS#11 URI"
run "$QSJWT_BIN" decode --jwt x.y.z --pkcs11-uri 'pkcs11:token=qlik;color=blue'
assert_rc 2
assert_eq "qs-jwt decode: error: --pkcs11-uri: the PKCS#11 URI has the path attribute 'color', which qs-jwt does not support (RFC 7512); supported path attributes: token, manufacturer, serial, model, library-manufacturer, library-description, library-version, object, id, type" \
	"$(sed -n 1p "$ERR")" "first line"
assert_eq "see 'qs-jwt decode --help'" "$(sed -n 2p "$ERR")" "second line"
run "$QSJWT_BIN" pkcs11 list-keys --pkcs11-uri 'pkcs11:token=qlik;color=blue'
assert_rc 2
assert_contains "$ERR" "qs-jwt pkcs11 list-keys: error: --pkcs11-uri: the PKCS#11 URI has the path attribute 'color'"

begin "--version with an argument other than --json: the one usage error format"
run "$QSJWT_BIN" --version --yaml
assert_rc 2
assert_eq "qs-jwt: error: --version takes only --json" "$(sed -n 1p "$ERR")" "first line"
assert_eq "see 'qs-jwt --help'" "$(sed -n 2p "$ERR")" "second line"

begin "no command: usage on stderr, exit 2"
run "$QSJWT_BIN"
assert_rc 2
assert_empty_stdout
assert_contains "$ERR" "Usage: qs-jwt <command> [options]"

# ---- help and version ---------------------------------------------------------------------------

OPTIONS="--userdir --userid --username --useremail --groups --expires --audience --alg
	--cert-privatekey-file --cert-privatekey-passphrase-file --cert-privatekey --cert-create
	--cert-create-key-bits --cert-create-expires-days --cert-file-prefix --force --loglevel
	--minimal-output --help --version"

check_exit_codes() {
	local line
	for line in "Exit codes:" "  0  success" "  1  runtime failure" "  2  usage error" \
		"128+N  interrupted by signal N"; do
		assert_contains "$OUT" "$line"
	done
	assert_contains "$OUT" "QSJWT_KEY_PASSPHRASE"
}

for h in --help -h; do
	begin "create-qseow $h: exit 0, every option, exit codes, QSJWT_KEY_PASSPHRASE"
	qs "$h"
	assert_rc 0
	assert_empty_stderr
	assert_contains "$OUT" "Usage: qs-jwt create-qseow [options]"
	for o in $OPTIONS; do
		if ! grep -qE -- "^  (-h, )?$o( |$)" "$OUT"; then
			fail "help lacks an option line for $o"
		fi
	done
	for v in RS256 RS384 RS512 2048 3072 4096 error warn warning info verbose debug 36500; do
		assert_contains "$OUT" "$v"
	done
	check_exit_codes
done

begin "create-qseow --help: the original's options first, in its order, with its placeholders"
qs --help
assert_rc 0
assert_eq "--userdir <directory>|--userid <userid>|--username <name>|--useremail <email>|--expires <time>|--audience <audience>|--loglevel <level>|--groups <groups...>|--cert-privatekey-file <file>|--cert-privatekey <privatekey>|--cert-create [true|false]|--cert-file-prefix <prefix>|--cert-create-expires-days <days>|--minimal-output|-h, --help|--version" \
	"$(awk '/^Options \(those of the original/ { on = 1; next } /^$/ { on = 0 } on && /^  -/ { sub(/^  /, ""); sub(/   .*/, ""); printf "%s%s", n++ ? "|" : "", $0 }' "$OUT")" \
	"the original's options in --help"
assert_contains "$OUT" "More options:"
for w in PKCS#11 RS384/RS512; do
	assert_true grep -q -- "$w" <(sed -n '1,/^Options/p' "$OUT")
done

# Every help text fits 80 columns; exit code 3 only where it can happen.
for c in "" create-qseow create-qscloud decode pkcs11 "pkcs11 list-tokens" "pkcs11 list-keys"; do
	begin "qs-jwt ${c:+$c }--help: every line fits 80 columns; exit code 3 only for decode"
	# shellcheck disable=SC2086
	run "$QSJWT_BIN" $c --help
	assert_rc 0
	assert_eq "" "$(awk 'length($0) > 80 { print NR ": " length($0) }' "$OUT" | head -3)" "lines over 80 columns"
	case $c in
	"" | decode) assert_contains "$OUT" "  3  verification failed" ;;
	pkcs11) ;;
	*) assert_not_contains "$OUT" "  3  verification failed" ;;
	esac
done

for c in create-qseow create-qscloud decode "pkcs11 list-keys" "pkcs11 list-tokens" pkcs11; do
	begin "qs-jwt help $c: the same bytes as qs-jwt $c --help"
	# shellcheck disable=SC2086
	run "$QSJWT_BIN" $c --help
	cp "$OUT" "$T_TMP/want-help"
	# shellcheck disable=SC2086
	run "$QSJWT_BIN" help $c
	assert_rc 0
	assert_file_eq "$T_TMP/want-help" "$OUT"

	begin "qs-jwt $c --version: the version, exit 0"
	run "$QSJWT_BIN" --version
	want=$(head -1 "$OUT" | sed 's/^qs-jwt //')
	# shellcheck disable=SC2086
	run "$QSJWT_BIN" $c --version
	assert_rc 0
	assert_empty_stderr
	assert_eq "$want" "$(cat "$OUT")" "version"
done

begin "qs-jwt help with an unknown command: usage error, did you mean"
run "$QSJWT_BIN" help create-qsoew
assert_rc 2
assert_eq "qs-jwt: error: unknown command 'create-qsoew'; did you mean 'create-qseow'?" "$(sed -n 1p "$ERR")" "first line"

begin "a command word close to a known one: did you mean"
run "$QSJWT_BIN" decod --jwt x
assert_rc 2
assert_eq "qs-jwt: error: unknown command 'decod'; did you mean 'decode'?" "$(sed -n 1p "$ERR")" "first line"

for slip in group:groups log-level:loglevel expire:expires cert-privatekeyfile:cert-privatekey-file audiance:audience; do
	begin "unknown option --${slip%:*}: did you mean --${slip#*:}?"
	qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" "--${slip%:*}" x
	assert_usage_error "unknown option '--${slip%:*}'; did you mean --${slip#*:}?"
done

begin "an unknown option far from every known one: no guess"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --frobnicate
assert_usage_error "unknown option '--frobnicate'"
assert_not_contains "$ERR" "did you mean"

begin "an unknown option with '=VALUE': the value is not shown, the guess is"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --expire=secret-value
assert_usage_error "unknown option '--expire'; did you mean --expires?"
assert_not_contains "$ERR" "secret-value"

begin "several required options missing: all named at once"
qs --userid jdoe --expires 1h --cert-privatekey-file "$KEY"
assert_usage_error "required options '--userdir <directory>', '--username <name>', '--useremail <email>', '--audience <audience>' not specified"

begin "create-qseow --help wins over missing options and bad values"
qs --userid x --help --expires nonsense
assert_rc 0
assert_contains "$OUT" "Usage: qs-jwt create-qseow"

for h in --help -h help; do
	begin "qs-jwt $h: exit 0, commands, exit codes, QSJWT_KEY_PASSPHRASE"
	run "$QSJWT_BIN" "$h"
	assert_rc 0
	assert_empty_stderr
	assert_contains "$OUT" "Usage: qs-jwt <command> [options]"
	assert_contains "$OUT" "create-qseow"
	assert_contains "$OUT" "--version"
	check_exit_codes
done

begin "qs-jwt --version: exit 0, the version on the first line"
run "$QSJWT_BIN" --version
assert_rc 0
assert_empty_stderr
VERSION=$(head -1 "$OUT" | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)
if [ -z "$VERSION" ]; then
	fail "--version printed '$(head -1 "$OUT")', no version number"
fi

begin "qs-jwt --version: the OpenSSL, p11-kit and cJSON it runs with, and the same as --json"
# OpenSSL: the library the openssl command reports (the one we are linked with);
# cJSON and p11-kit: the installed packages' upstream versions.
ossl=$(openssl version | sed -n 's/.*(Library: \(.*\))$/\1/p')
[ -n "$ossl" ] || ossl=$(openssl version)
cjson=$(dpkg-query -W -f='${Version}' libcjson1 2>/dev/null | sed 's/-.*//')
p11kit=$(dpkg-query -W -f='${Version}' libp11-kit0 2>/dev/null | sed 's/-.*//')
assert_eq "$ossl" "$(sed -n 2p "$OUT")" "the OpenSSL line of --version"
assert_eq "p11-kit $p11kit (built with)" "$(sed -n 3p "$OUT")" "the p11-kit line of --version"
assert_eq "cJSON $cjson" "$(sed -n 4p "$OUT")" "the cJSON line of --version"
assert_eq 4 "$(wc -l <"$OUT")" "lines of --version"
lines=$(cat "$OUT")
run "$QSJWT_BIN" --version --json
assert_rc 0
assert_empty_stderr
assert_eq "{\"qs-jwt\":\"$VERSION\",\"openssl\":\"$ossl\",\"p11-kit\":\"$p11kit\",\"cjson\":\"$cjson\"}" \
	"$(cat "$OUT")" "--version --json"
assert_contains "$OUT" "\"qs-jwt\":\"$(head -1 <<<"$lines" | sed 's/^qs-jwt //')\""

begin "create-qseow --version: exit 0, the same version"
qs --version
assert_rc 0
assert_empty_stderr
assert_contains "$OUT" "${VERSION:-no version}"

finish
