# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Shared helpers for the verify tests (qs-jwt decode and create-qscloud).
# Source it from a test script:
#
#   . "$(dirname "$0")/lib.sh"
#   begin "what this case checks"
#   dec --jwt-file "$VEC/all-claims.jwt"
#   assert_rc 0
#   ...
#   finish
#
# Environment: QSJWT_BIN (the qs-jwt binary), QSJWT_TEST_DATA (tests/data),
# QSJWT_SOURCE_DIR (the source tree, for scripts/softhsm.sh).
# Cases, assertions and JWT checks come from tests/lib/common.sh.

# shellcheck source=../lib/common.sh
T_SHOW_OUT_BYTES=1500 T_SHOW_OUT_LINES=25
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
export TZ=UTC
unset QSJWT_KEY_PASSPHRASE QSJWT_PKCS11_PIN NO_COLOR
t_need_bin
t_need_test_data
t_need_source_dir
# The pyenv shim costs 0.2 s a call; the system python3 a tenth of that.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
t_need_tools openssl faketime base64 timeout "$PY" cmp
t_tmp verify

# The reference vectors' iat (2030-01-01T00:00:00Z; exp is one hour later),
# without common.sh's '@': run_at adds it.
PINNED='2030-01-01 00:00:00'

# ---- running ------------------------------------------------------------------------

# run, run_stdin (a sanitizer report fails the case): tests/lib/common.sh.

# run_at 'YYYY-MM-DD HH:MM:SS' CMD...: as run, the clock starting at that
# UTC time.
run_at() {
	local when=$1
	shift
	run env TZ=UTC "$(_faketime_env)" faketime -f "@$when" "$@"
}

run_at_stdin() {
	local when=$1 in=$2
	shift 2
	run_stdin "$in" env TZ=UTC "$(_faketime_env)" faketime -f "@$when" "$@"
}

dec() { run "$QSJWT_BIN" decode "$@"; }
dec_stdin() {
	local in=$1
	shift
	run_stdin "$in" "$QSJWT_BIN" decode "$@"
}
dec_at() {
	local when=$1
	shift
	run_at "$when" "$QSJWT_BIN" decode "$@"
}
# dec_pinned ARGS: decode at the vectors' iat.
dec_pinned() { dec_at "$PINNED" "$@"; }

qsc() { run "$QSJWT_BIN" create-qscloud "$@"; }
qsc_at() {
	local when=$1
	shift
	run_at "$when" "$QSJWT_BIN" create-qscloud "$@"
}
qsc_pinned() { qsc_at "$PINNED" "$@"; }

# ---- assertions -----------------------------------------------------------------------

# assert_match REGEX ACTUAL [WHAT]: ACTUAL matches the extended REGEX.
assert_match() {
	if ! [[ $2 =~ $1 ]]; then
		fail "${3:-value}: expected to match /$1/, got '$2'"
		return 1
	fi
}

# assert_line FILE LINE: FILE has a line that is exactly LINE.
assert_line() {
	if ! grep -qxF -- "$2" "$1"; then
		fail "$(basename "$1") should have the line '$2'"
		_show_last_run
		return 1
	fi
}

# assert_stdout_is TEXT: stdout is exactly TEXT plus one newline.
assert_stdout_is() {
	local want=$T_TMP/want.stdout
	printf '%s\n' "$1" >"$want"
	if ! cmp -s "$want" "$OUT"; then
		fail "stdout differs from the expected bytes:"
		diff -u "$want" "$OUT" | sed -n '3,40p' | sed 's/^/    /'
		return 1
	fi
}

# ---- decode's output ------------------------------------------------------------------

# assert_check NAME RESULT DETAIL: the text output lists the check exactly so.
assert_check() {
	local line
	line=$(printf '  %-9s %-6s %s' "$1" "$2" "$3")
	assert_line "$OUT" "$line"
}

# assert_no_check NAME: the text output lists no check NAME.
assert_no_check() {
	if grep -qE "^  $1 +(pass|fail|absent) " "$OUT"; then
		fail "stdout should list no '$1' check, got: $(grep -E "^  $1 " "$OUT")"
		return 1
	fi
}

# assert_verdict valid|INVALID: the text output's verdict line.
assert_verdict() {
	assert_line "$OUT" "Verification: $1"
}

# A failed verification in text mode: exit 3, the verdict INVALID, the check
# NAME failing with DETAIL, header and payload still shown, and stderr saying
# why.
assert_check_fails() {
	assert_rc 3
	assert_verdict INVALID
	assert_check "$1" fail "$2"
	assert_line "$OUT" "Header:"
	assert_line "$OUT" "Payload:"
	assert_log ERROR "verification failed: "
}

# assert_all_pass: exit 0, valid, and no check fails.
assert_all_pass() {
	assert_rc 0 || return 1
	assert_verdict valid
	if grep -qE '^  [a-z]+ +fail ' "$OUT"; then
		fail "no check should fail: $(grep -E '^  [a-z]+ +fail ' "$OUT")"
	fi
	assert_no_log_level ERROR
}

# ---- JSON (python3) ------------------------------------------------------------------

# json_flatten FILE: FILE must be exactly one line holding one JSON object
# (no duplicate names); writes $T_TMP/fields with a line 'PATH<TAB>JSON' for
# every value (objects also '<PATH>.{}' with their member names, in order).
# Returns non-zero (after a failure message) when FILE is not that.
FIELDS=$T_TMP/fields
json_flatten() {
	: >"$FIELDS"
	if ! "$PY" - "$1" >"$FIELDS" 2>"$T_TMP/py.err" <<'EOF'; then
import json, sys
raw = open(sys.argv[1], 'rb').read()
if not raw.endswith(b'\n') or raw.count(b'\n') != 1:
    sys.exit("not exactly one newline-terminated line (%d newlines)" % raw.count(b'\n'))
def pairs(p):
    names = [k for k, _ in p]
    if len(names) != len(set(names)):
        raise ValueError("duplicate member names: %r" % names)
    return dict(p)
try:
    doc = json.loads(raw.decode('utf-8'), object_pairs_hook=pairs)
except Exception as e:
    sys.exit("not JSON: %s" % e)
if not isinstance(doc, dict):
    sys.exit("not a JSON object")
def walk(path, v):
    print("%s\t%s" % (path, json.dumps(v, ensure_ascii=False, separators=(',', ':'))))
    if isinstance(v, dict):
        print("%s.{}\t%s" % (path, ",".join(v.keys())))
        for k, x in v.items():
            walk(path + "." + k, x)
walk("", doc)
EOF
		fail "$(basename "$1") is not one JSON object on one line: $(cat "$T_TMP/py.err")"
		_show_last_run
		return 1
	fi
}

# jfield PATH: the JSON of PATH (e.g. .verification.status) from the last
# json_flatten; empty when absent.
jfield() {
	awk -F '\t' -v p="$1" '$1 == p { sub(/^[^\t]*\t/, ""); print; exit }' "$FIELDS"
}

_has_field() {
	awk -F '\t' -v p="$1" '$1 == p { f = 1 } END { exit !f }' "$FIELDS"
}

# assert_field PATH JSON: the value at PATH is exactly JSON (compact).
assert_field() {
	local got
	if ! _has_field "$1"; then
		fail "JSON field $1 is missing (expected $2)"
		return 1
	fi
	got=$(jfield "$1")
	assert_eq "$2" "$got" "JSON field $1"
}

assert_no_field() {
	if _has_field "$1"; then
		fail "JSON field $1 should be absent, got $(jfield "$1")"
		return 1
	fi
}

# ---- JWT helpers ------------------------------------------------------------------------

# b64url: stdin base64url-encoded (no padding) to stdout.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

# der2raw HALF: an ECDSA DER signature (stdin) to R || S, HALF bytes each.
der2raw() {
	"$PY" -c '
import sys
d = sys.stdin.buffer.read(); half = int(sys.argv[1])
def tlv(b, i):
    t = b[i]; l = b[i + 1]; i += 2
    if l & 0x80:
        n = l & 0x7f; l = int.from_bytes(b[i:i + n], "big"); i += n
    return t, b[i:i + l], i + l
t, seq, _ = tlv(d, 0); assert t == 0x30
t, r, i = tlv(seq, 0); assert t == 0x02
t, s, _ = tlv(seq, i); assert t == 0x02
out = b"".join(int.from_bytes(x, "big").to_bytes(half, "big") for x in (r, s))
sys.stdout.buffer.write(out)' "$1"
}

_md_of() {
	case $1 in
	??256) echo sha256 ;;
	??384) echo sha384 ;;
	??512) echo sha512 ;;
	*) return 1 ;;
	esac
}

# jws_sign ALG KEY INPUT: the base64url signature of INPUT (header.payload)
# with ALG: RSxxx and ESxxx with the private key PEM file KEY, HSxxx with the
# bytes of the file KEY as the HMAC secret, none: empty.
jws_sign() {
	local alg=$1 key=$2 input=$3 md d
	d=$(mktemp -d "$T_TMP/sign.XXXXXX")
	printf '%s' "$input" >"$d/in"
	case $alg in
	none) return 0 ;;
	RS*)
		md=$(_md_of "$alg")
		openssl dgst "-$md" -sign "$key" -out "$d/sig" "$d/in" || return 1
		b64url <"$d/sig"
		;;
	ES*)
		md=$(_md_of "$alg")
		openssl dgst "-$md" -sign "$key" -out "$d/der" "$d/in" || return 1
		case $alg in
		ES256) der2raw 32 ;;
		ES384) der2raw 48 ;;
		ES512) der2raw 66 ;;
		esac <"$d/der" | b64url
		;;
	HS*)
		md=$(_md_of "$alg")
		"$PY" -c '
import hmac, hashlib, sys
key = open(sys.argv[1], "rb").read(); msg = open(sys.argv[2], "rb").read()
sys.stdout.buffer.write(hmac.new(key, msg, getattr(hashlib, sys.argv[3])).digest())' \
			"$key" "$d/in" "$md" | b64url
		;;
	*) return 1 ;;
	esac
}

# make_jwt ALG KEY HEADER_JSON PAYLOAD_JSON: a compact JWS of exactly these
# header and payload bytes, signed as jws_sign does.
make_jwt() {
	local h p s
	h=$(printf '%s' "$3" | b64url)
	p=$(printf '%s' "$4" | b64url)
	s=$(jws_sign "$1" "$2" "$h.$p") || return 1
	printf '%s.%s.%s' "$h" "$p" "$s"
}

# assert_openssl_verifies TOKEN PUBKEY_PEM [ALG]
assert_openssl_verifies() {
	if ! jwt_verifies "$@"; then
		fail "openssl does not verify the ${3:-RS256} signature of '$1' with $2"
		return 1
	fi
}

# tamper_payload TOKEN OLD NEW: TOKEN with OLD replaced by NEW in the
# payload JSON, header and signature untouched.
tamper_payload() {
	local tok=$1 h p s
	h=${tok%%.*}
	s=${tok##*.}
	p=$(jwt_payload "$tok")
	p=${p/"$2"/"$3"}
	printf '%s.%s.%s' "$h" "$(printf '%s' "$p" | b64url)" "$s"
}

# tamper_signature TOKEN: TOKEN with one bit of the signature's first byte
# flipped (the base64url stays canonical).
tamper_signature() {
	local tok=$1 s c
	s=${tok##*.}
	c=${s:0:1}
	if [ "$c" = A ]; then c=B; else c=A; fi
	printf '%s.%s' "${tok%.*}" "$c${s:1}"
}
