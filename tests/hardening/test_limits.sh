#!/usr/bin/env bash
# Limits and hostile values:
#   - every option that takes a value, of every command (read from --help):
#     a value one byte over 64 KiB is a usage error naming the option and the
#     limit, in both spellings (--opt VALUE, --opt=VALUE), without echoing the
#     value; exactly 64 KiB is not refused for its length;
#   - invalid UTF-8 and NUL-free binary junk in every claim option of
#     create-qseow and create-qscloud (and decode's --expected-audience): a
#     usage error naming the option and UTF-8;
#   - the same in every field of a --batch line: that line fails naming
#     UTF-8, the others are issued;
#   - a claim holding a newline or an escape sequence cannot forge or colour
#     a log line.
. "$(dirname "$0")/lib.sh"

KEY=$VEC/privatekey.pem
# pkcs11 commands list the tokens of this fresh store, not the system's.
hsm_new main qlik 1111-limits
A64K=$(head -c 65536 /dev/zero | tr '\0' a)
OVER="${A64K}b"

# ---- every option with a value, from --help ---------------------------------------------------

COMMANDS=(create-qseow create-qscloud decode "pkcs11 list-tokens" "pkcs11 list-keys")

# help_options CMD: "NAME METAVAR" of each option of `qs-jwt CMD --help` that
# takes a value (a metavar in <...> or [...]).
help_options() {
	# shellcheck disable=SC2086 # CMD is one or two words
	"$QSJWT_BIN" $1 --help | sed -nE 's/^  (-[a-z], )?--([a-z0-9-]+) ([<[][^ ]*).*/\2 \3/p'
}

begin "--help lists the options with values of every command"
total=0
for cmd in "${COMMANDS[@]}"; do
	n=$(help_options "$cmd" | wc -l)
	echo "   qs-jwt $cmd: $n options with a value"
	total=$((total + n))
done
# The parser of this test must see them (else every check below is empty).
assert_true test "$total" -ge 55
for want in "create-qseow:userdir" "create-qseow:batch" "create-qseow:cert-privatekey" \
	"create-qseow:cert-create" "create-qscloud:keyid" "create-qscloud:useremail-verified" \
	"decode:jwt" "decode:clock-skew" "pkcs11 list-keys:pkcs11-pin-file"; do
	assert_true grep -q "^${want#*:} " <(help_options "${want%%:*}")
done

# The value over the limit is never shown (it may be a key or a PIN).
assert_short_stderr() {
	local n
	n=$(wc -c <"$ERR")
	if [ "$n" -gt 600 ]; then
		fail "stderr has $n bytes: the value was echoed? $(head -c 200 "$ERR")"
	fi
}

# run_opt CMD OPT FORM VALUE: qs-jwt CMD given only --OPT VALUE (FORM
# separate) or --OPT=VALUE (FORM inline).
run_opt() {
	if [ "$3" = separate ]; then
		# shellcheck disable=SC2086 # CMD is one or two words
		qsrun $1 "--$2" "$4"
	else
		# shellcheck disable=SC2086
		qsrun $1 "--$2=$4"
	fi
}

# assert_alone_fails CMD OPT: the run given only --OPT was an ordinary
# failure (1 to 5) with nothing on stdout (list-tokens takes and ignores
# list-keys' --pkcs11-pin-file: it may succeed).
assert_alone_fails() {
	case $RC in
	1 | 2 | 3 | 4 | 5) assert_empty_stdout ;;
	0) [ "$1 $2" = "pkcs11 list-tokens pkcs11-pin-file" ] || fail "exit 0 with only --$2 given" ;;
	*) fail "exit code $RC (expected an ordinary failure, 1 to 5)" ;;
	esac
}

for cmd in "${COMMANDS[@]}"; do
	while read -r opt metavar; do
		for form in separate inline; do
			begin "qs-jwt $cmd --$opt $metavar: one byte over 64 KiB ($form): refused naming the limit"
			run_opt "$cmd" "$opt" $form "$OVER"
			assert_not_killed
			if [ "$cmd $opt" = "decode jwt" ]; then
				# --jwt checks its size itself: a malformed token.
				assert_rc 1
				assert_empty_stdout
				assert_log ERROR "larger than 64 KiB (65537 bytes)"
			else
				assert_usage_error_of "$cmd" "--$opt " "longer than 64 KiB" "65537 bytes"
			fi
			assert_short_stderr
		done

		begin "qs-jwt $cmd --$opt $metavar: exactly 64 KiB is not refused for its length"
		run_opt "$cmd" "$opt" separate "$A64K"
		assert_not_killed
		assert_not_contains "$ERR" "64 KiB"
		assert_not_contains "$ERR" "longer than"
		assert_not_contains "$ERR" "larger than"
		assert_alone_fails "$cmd" "$opt"
	done < <(help_options "$cmd")
done

# ---- invalid UTF-8 and binary junk in claim options --------------------------------------------

# NUL-free junk: every byte from 0x01 to 0xff once, in a fixed shuffled
# order, starting with 0xff (never '-').
JUNK=$(python3 -c '
import random, sys
b = list(range(1, 255))
random.Random(7).shuffle(b)
sys.stdout.buffer.write(bytes([255] + b + [0x41]))')
assert_eq 256 "$(printf '%s' "$JUNK" | wc -c)" "bytes of the junk"
# Invalid sequences: a lone 0xff, a lone continuation byte, an overlong '/',
# a UTF-16 surrogate, a code point above U+10FFFF, a truncated sequence.
BADSEQ=('\xff' '\x80' '\xc0\xaf' '\xed\xa0\x80' '\xf4\x90\x80\x80' '\xe2\x82')

QSC_BASE=(--issuer iss --keyid kid --sub jdoe --username 'John Doe' --useremail j@x
	--useremail-verified true --groups G --expires 5m --cert-privatekey-file "$KEY")

# without OPT ARGS...: ARGS less OPT and its value (OPT with one value).
without() {
	local opt=$1
	shift
	KEPT=()
	while [ $# -gt 0 ]; do
		if [ "$1" = "$opt" ]; then
			shift 2
		else
			KEPT+=("$1")
			shift
		fi
	done
}

# claim_case CMD OPT VALUE WHAT BASE...: CMD BASE (less OPT) with OPT VALUE is
# a usage error naming OPT and UTF-8.
claim_case() {
	local cmd=$1 opt=$2 value=$3 what=$4
	shift 4
	without "$opt" "$@"
	begin "$cmd $opt with $what: usage error naming the option and UTF-8"
	if [ "$opt" = --groups ]; then
		qsrun "$cmd" "${KEPT[@]}" --groups fine "$value"
	else
		qsrun "$cmd" "${KEPT[@]}" "$opt" "$value"
	fi
	assert_usage_error_of "$cmd" "$opt " "UTF-8"
	assert_short_stderr
}

# create-qseow: every invalid sequence of each option is in cli_claims; the
# junk is new.
for opt in --userdir --userid --username --useremail --groups --expires --audience; do
	claim_case create-qseow "$opt" "$JUNK" "binary junk" "${CLAIMS[@]}" --cert-privatekey-file "$KEY"
done
for opt in --issuer --keyid --sub --subject --username --useremail --groups --expires; do
	claim_case create-qscloud "$opt" "$JUNK" "binary junk" "${QSC_BASE[@]}"
	for seq in "${BADSEQ[@]}"; do
		# shellcheck disable=SC2059 # the sequence is a printf format
		claim_case create-qscloud "$opt" "ok$(printf "$seq")x" "invalid UTF-8 $seq" "${QSC_BASE[@]}"
	done
done
VTOKEN=$(cat "$VEC/all-claims.jwt")
claim_case decode --expected-audience "$JUNK" "binary junk" --jwt "$VTOKEN" \
	--cert-publickey-file "$VEC/publickey.pem"
for seq in "${BADSEQ[@]}"; do
	# shellcheck disable=SC2059
	claim_case decode --expected-audience "qlik$(printf "$seq")" "invalid UTF-8 $seq" \
		--jwt "$VTOKEN" --cert-publickey-file "$VEC/publickey.pem"
done

begin "create-qscloud --keyid=JUNK (inline form): usage error naming --keyid and UTF-8"
without --keyid "${QSC_BASE[@]}"
qsrun create-qscloud "${KEPT[@]}" "--keyid=$JUNK"
assert_usage_error_of create-qscloud "--keyid " "UTF-8"

# assert_stderr_text: stderr holds printable UTF-8 text only (a value that
# reached a message was escaped, not echoed raw).
assert_stderr_text() {
	if ! python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
b.decode("utf-8")
sys.exit(any(c < 0x20 and c not in (0x0a,) or c == 0x7f for c in b))' "$ERR" 2>/dev/null; then
		fail "stderr holds raw control bytes or invalid UTF-8: $(od -c "$ERR" | head -4)"
	fi
}

# Every option that takes a value, of every command, given the junk: an
# ordinary failure (exit 1 to 5; none is valid alone), nothing on stdout,
# and no raw junk on stderr.
for cmd in "${COMMANDS[@]}"; do
	while read -r opt metavar; do
		for form in separate inline; do
			begin "qs-jwt $cmd --$opt $metavar: binary junk ($form): a clean failure, the junk not echoed raw"
			run_opt "$cmd" "$opt" $form "$JUNK"
			assert_not_killed
			assert_alone_fails "$cmd" "$opt"
			assert_stderr_text
			# A file name is shown (escaped: \xHH for each junk byte); any
			# other value must not be.
			case $metavar in
			'<file>' | '<path>' | '<prefix>') ;;
			*) assert_short_stderr ;;
			esac
		done
	done < <(help_options "$cmd")
done

# ---- invalid UTF-8 and junk in every batch field ------------------------------------------------

BATCH=$T_TMP/utf8.jsonl
python3 - "$BATCH" >"$T_TMP/utf8.bad" <<'EOF'
import json, random, sys
ok = {"userid": "ok", "userdir": "D", "username": "Ok", "useremail": "ok@x",
      "groups": ["G"], "expires": "5m", "audience": "aud"}
seqs = [b'\xff', b'\x80', b'\xc0\xaf', b'\xed\xa0\x80', b'\xf4\x90\x80\x80', b'\xe2\x82']
# Junk that keeps the line JSON: bytes 0x80..0xff and printable ASCII, no
# quote and no backslash, in a fixed shuffled order.
b = [c for c in range(0x20, 0x100) if c not in (0x22, 0x5c, 0x7f)]
random.Random(11).shuffle(b)
junk = bytes(b)
lines, bad = [], []
def enc(d, field, raw):
    parts = []
    for k, v in d.items():
        if k == field:
            val = b'["ok","' + raw + b'"]' if k == 'groups' else b'"' + raw + b'"'
        else:
            val = json.dumps(v).encode()
        parts.append(json.dumps(k).encode() + b':' + val)
    return b'{' + b','.join(parts) + b'}'
n = 0
for field in ok:
    for raw in [b'x' + s + b'y' for s in seqs] + [junk]:
        n += 1
        lines.append(json.dumps(dict(ok, userid="ok%d" % n)).encode())
        n += 1
        lines.append(enc(dict(ok, userid="u%d" % n), field, raw))
        bad.append(n)
n += 1
lines.append(json.dumps(dict(ok, userid="ok%d" % n)).encode())
open(sys.argv[1], 'wb').write(b'\n'.join(lines) + b'\n')
print(' '.join(map(str, bad)))
EOF
NBAD=$(wc -w <"$T_TMP/utf8.bad")
NLINES=$(wc -l <"$BATCH")

begin "batch: invalid UTF-8 and junk in every field ($NBAD lines): those lines fail naming UTF-8, the others are issued"
qsrun create-qseow --batch "$BATCH" --jobs 2 --expires 1h --audience aud --cert-privatekey-file "$KEY"
assert_rc 1
assert_eq "$((7 * 7))" "$NBAD" "bad lines in the input"
chk=$(python3 - "$OUT" "$T_TMP/utf8.bad" "$NLINES" <<'EOF'
import json, sys
bad = set(map(int, open(sys.argv[2]).read().split()))
out = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
n = int(sys.argv[3])
if [o["line"] for o in out] != list(range(1, n + 1)):
    print("line numbers: %s" % [o["line"] for o in out][:20]); sys.exit()
for o in out:
    if o["line"] in bad:
        if o != {"line": o["line"], "error": "the line is not valid UTF-8"}:
            print("line %d: %s" % (o["line"], json.dumps(o)[:200])); sys.exit()
    elif list(o) != ["line", "userid", "userdir", "token"] or o["userid"] != "ok%d" % o["line"]:
        print("line %d: %s" % (o["line"], json.dumps(o)[:200])); sys.exit()
print("ok")
EOF
)
assert_eq ok "$chk" "batch output"
assert_log WARN "batch: $((NLINES - NBAD)) tokens issued, $NBAD lines failed"

# ---- claims that try to forge a log line ---------------------------------------------------------

# A claim may be given by a program on behalf of a user (a provisioning
# service): a newline in it must not start a log line of its own, and an
# escape sequence must not reach the terminal. Either the value is refused
# (a usage error naming the option) or it is logged escaped.
FORGED=$'jdoe\n2030-01-01T00:00:00.000Z ERROR: forged line'
ESCAPED=$'jdoe\e[31m\e]0;title\a'

# assert_no_forgery OPT: after a run with a hostile value of OPT.
assert_no_forgery() {
	local cmd=$1 opt=$2
	if [ "$RC" = 2 ]; then
		assert_eq "qs-jwt $cmd: error: " "$(head -c $((${#cmd} + 16)) "$ERR")" "usage error"
		assert_contains "$ERR" "$opt"
		assert_eq 2 "$(wc -l <"$ERR")" "lines of the usage error"
		if LC_ALL=C grep -aq '[[:cntrl:]]' <(tr -d '\n' <"$ERR"); then
			fail "the usage error holds raw control bytes: $(cat -v "$ERR" | head -c 300)"
		fi
	else
		assert_rc 0
		assert_token_stdout
		assert_stderr_log_lines
		if grep -qE '^2030-01-01T00:00:00.000Z ERROR: forged' "$ERR"; then
			fail "a claim forged a log line: $(grep -E '^2030-01-01T00:00:00.000Z ERROR' "$ERR")"
		fi
	fi
}

for value in "$FORGED" "$ESCAPED"; do
	what="a newline"
	[ "$value" = "$ESCAPED" ] && what="escape sequences"
	for opt in --userid --userdir; do
		begin "create-qseow $opt with $what: no forged log line, no raw control bytes on stderr"
		without "$opt" "${CLAIMS[@]}"
		qsrun create-qseow "${KEPT[@]}" "$opt" "$value" --cert-privatekey-file "$KEY"
		assert_no_forgery create-qseow "$opt"
	done
	begin "create-qscloud --sub with $what: no forged log line, no raw control bytes on stderr"
	without --sub "${QSC_BASE[@]}"
	qsrun create-qscloud "${KEPT[@]}" --sub "$value"
	assert_no_forgery create-qscloud --sub
done

finish
