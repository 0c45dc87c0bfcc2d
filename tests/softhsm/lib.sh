# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Shared helpers for the qs-jwt tests against real SoftHSM2 tokens. Source it
# from a test script:
#
#   . "$(dirname "$0")/lib.sh"
#   hsm_new main qlik "$PIN"            # a fresh token store under $T_TMP/main
#   hsm_keygen jwt-signing 01           # an RSA-2048 key pair made by pkcs11-tool
#   begin "what this case checks"
#   qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=jwt-signing' \
#      --pkcs11-pin-file "$HSM_DIR/pin"
#   assert_ok_token && verify_jwt "$TOKEN" "$(hsm_pubkey 01)"
#   ...
#   finish
#
# Environment: QSJWT_BIN (the qs-jwt binary), QSJWT_SOURCE_DIR (the source
# tree: scripts/softhsm.sh and tests/data). Cases, assertions, JWT checks and
# at_exit come from tests/lib/common.sh. Each script makes its own token
# stores in its own temporary directory, so scripts run in parallel.

# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# Nothing from the caller's environment may choose a PIN, a store or a server.
unset QSJWT_PKCS11_PIN QSJWT_KEY_PASSPHRASE NO_COLOR SOFTHSM2_CONF \
	P11_KIT_SERVER_ADDRESS P11_KIT_SERVER_PID PKCS11SPY PKCS11SPY_OUTPUT GNUTLS_PIN
t_need_bin
t_need_source_dir
t_need_tools openssl faketime base64 timeout softhsm2-util pkcs11-tool p11tool p11-kit python3
VEC=$QSJWT_SOURCE_DIR/tests/data/vectors

# shellcheck source=../../scripts/softhsm.sh
. "$QSJWT_SOURCE_DIR/scripts/softhsm.sh"
[ -e "$SOFTHSM_MODULE" ] || { echo "SoftHSM2 module not found: $SOFTHSM_MODULE" >&2; exit 2; }

P11_DIR=/usr/lib/x86_64-linux-gnu/pkcs11
SPY_MODULE=$P11_DIR/pkcs11-spy.so
CLIENT_MODULE=$P11_DIR/p11-kit-client.so

t_tmp hsm

# Claims every run needs.
CLAIMS=(--userdir ACME --userid jdoe --username 'John Doe' --useremail john.doe@example.com
	--expires 60m --audience qlik-aud)
CLAIMS_PAYLOAD='{"userId":"jdoe","userDirectory":"ACME","name":"John Doe","email":"john.doe@example.com","iat":1893456000,"exp":1893459600,"aud":"qlik-aud"}'
# The claims of tests/data/vectors/all-claims.cmd (its token: all-claims.jwt).
VEC_CLAIMS=(--userdir ACME --userid jdoe --username 'John Doe' --useremail john.doe@example.com
	--groups Sales Finance --expires 60m --audience qlik-aud)

# ---- running qs-jwt ----------------------------------------------------------------

# run (tests/lib/common.sh) clears RUN_ENV after each run; a hang is cut
# after 90 s (exit 124).
RUN_TIMEOUT=90

# with_env NAME=VALUE... -- FUNCTION ARGS...: run FUNCTION (qs, qs_pinned,
# qsp11, ...) with these variables set for qs-jwt only.
with_env() {
	RUN_ENV=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		RUN_ENV+=("$1")
		shift
	done
	shift
	"$@"
}

# qs, qs_pinned (PINNED, PINNED_IAT): tests/lib/common.sh.

# qsp11 SUBCOMMAND ARGS...: qs-jwt pkcs11 SUBCOMMAND ARGS.
qsp11() { run "$QSJWT_BIN" pkcs11 "$@"; }

# spy LOGFILE FUNCTION ARGS...: run FUNCTION (qs, qsp11, ...) with OpenSC's
# pkcs11-spy.so in front of SoftHSM2: the caller passes
# --pkcs11-module "$SPY_MODULE" (or names the spy in the URI). Every PKCS#11
# call is written to LOGFILE.
spy() {
	local log=$1
	shift
	rm -f "$log"
	RUN_ENV+=("PKCS11SPY=${SPY_TARGET:-$SOFTHSM_MODULE}" "PKCS11SPY_OUTPUT=$log")
	"$@"
}

# spy_count LOGFILE FUNCTION: how many times the spy saw FUNCTION (C_Login, ...).
spy_count() {
	local n
	n=$(grep -cE "^[0-9]+: $2\$" "$1" 2>/dev/null)
	echo "${n:-0}"
}

# spy_calls LOGFILE: the PKCS#11 function names in call order, one a line.
spy_calls() { sed -nE 's/^[0-9]+: (C_[A-Za-z]+)$/\1/p' "$1" 2>/dev/null; }

# ---- token stores ---------------------------------------------------------------------

# hsm_new NAME LABEL PIN [CONFIG_LINE...]: a fresh store in $T_TMP/NAME with
# token LABEL; exports SOFTHSM2_CONF (for qs-jwt too) and sets HSM_DIR,
# HSM_PIN (the user PIN) and HSM_LABEL.
hsm_new() {
	local name=$1 label=$2 pin=$3
	shift 3
	HSM_DIR=$T_TMP/$name
	HSM_LABEL=$label
	HSM_PIN=$pin
	softhsm_new "$HSM_DIR" "$label" "$pin" "$@" || { echo "softhsm_new failed" >&2; exit 2; }
}

# hsm_use NAME LABEL PIN: switch to a store made before.
hsm_use() {
	HSM_DIR=$T_TMP/$1
	HSM_LABEL=$2
	HSM_PIN=$3
	export SOFTHSM2_CONF=$HSM_DIR/softhsm2.conf
}

# ptool ARGS...: pkcs11-tool on SoftHSM2, the current token, logged in.
ptool() {
	pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$HSM_LABEL" --login \
		--pin "$HSM_PIN" "$@"
}

# hsm_keygen LABEL ID [pkcs11-tool options...]: an RSA-2048 key pair by
# pkcs11-tool (sign usage unless other options say otherwise).
hsm_keygen() {
	local label=$1 id=$2
	shift 2
	[ $# -gt 0 ] || set -- --usage-sign
	ptool --keypairgen --key-type rsa:2048 --label "$label" --id "$id" "$@" \
		>"$T_TMP/keygen.log" 2>&1 || {
		cat "$T_TMP/keygen.log" >&2
		echo "pkcs11-tool --keypairgen failed" >&2
		exit 2
	}
}

# hsm_import PEM LABEL ID [--no-public]: put the private key of PEM on the
# token (and its public key, unless --no-public).
hsm_import() {
	local pem=$1 label=$2 id=$3 d=$T_TMP/import.$$
	mkdir -p "$d"
	openssl pkey -in "$pem" -outform DER -out "$d/key.der" &&
		ptool --write-object "$d/key.der" --type privkey --label "$label" --id "$id" \
			>"$d/log" 2>&1 || { cat "$d/log" >&2; echo "import failed" >&2; exit 2; }
	if [ "${4:-}" != --no-public ]; then
		openssl pkey -in "$pem" -pubout -outform DER -out "$d/pub.der" &&
			ptool --write-object "$d/pub.der" --type pubkey --label "$label" --id "$id" \
				>"$d/log" 2>&1 || { cat "$d/log" >&2; echo "import failed" >&2; exit 2; }
	fi
	rm -rf "$d"
}

# hsm_pubkey ID: path of a PEM file with the public key object of id ID, read
# from the token by pkcs11-tool.
hsm_pubkey() {
	local f
	f=$T_TMP/pub-$(basename "$HSM_DIR")-$HSM_LABEL-$1
	pkcs11-tool --module "$SOFTHSM_MODULE" --token-label "$HSM_LABEL" --read-object \
		--type pubkey --id "$1" -o "$f.der" >/dev/null 2>&1 &&
		openssl pkey -pubin -inform DER -in "$f.der" -out "$f.pem" 2>/dev/null ||
		{ echo "cannot read the public key $1 from token $HSM_LABEL" >&2; return 1; }
	echo "$f.pem"
}

# hsm_serial: the serial number of the current token, as pkcs11-tool shows it.
hsm_serial() {
	pkcs11-tool --module "$SOFTHSM_MODULE" -L 2>/dev/null |
		awk -v want="$HSM_LABEL" '
			/token label/ { l = $0; sub(/^[^:]*: /, "", l) }
			/serial num/ { s = $0; sub(/^[^:]*: /, "", s); if (l == want) print s }'
}

# hsm_objects: every object on the current token, one line each, sorted
# (p11tool's URLs: class, label and id), seen after a login.
hsm_objects() {
	GNUTLS_PIN=$HSM_PIN p11tool --provider "$SOFTHSM_MODULE" --login --list-all \
		"pkcs11:token=$HSM_LABEL" 2>/dev/null | sed -n 's/^[[:space:]]*URL: //p' | LC_ALL=C sort
}

# hsm_set_flags OR_MASK: set bits in the token flags SoftHSM2 keeps in its
# token.object (attribute CKA_OS_TOKENFLAGS = CKA_VENDOR_DEFINED + 0x5348 + 3,
# stored as: type u64, kind u64 (2 = unsigned long), value u64, big-endian).
# SoftHSM2 reports these flags in C_GetTokenInfo. It never sets
# CKF_USER_PIN_LOCKED or CKF_USER_PIN_FINAL_TRY itself (failed logins only
# set CKF_USER_PIN_COUNT_LOW), so this is how a test gets a locked or
# final-try token; the module still answers every call for real.
hsm_set_flags() {
	python3 - "$1" "$HSM_DIR"/tokens/*/token.object <<'EOF'
import struct, sys
mask = int(sys.argv[1], 0)
for path in sys.argv[2:]:
    b = bytearray(open(path, 'rb').read())
    tag = struct.pack('>QQ', 0x80000000 + 0x5348 + 3, 2)
    i = b.find(tag)
    if i < 0 or b.find(tag, i + 1) >= 0:
        sys.exit('CKA_OS_TOKENFLAGS not found exactly once in ' + path)
    v = struct.unpack('>Q', b[i + 16:i + 24])[0]
    b[i + 16:i + 24] = struct.pack('>Q', v | mask)
    open(path, 'wb').write(b)
EOF
}
CKF_USER_PIN_COUNT_LOW=0x10000
CKF_USER_PIN_FINAL_TRY=0x20000
CKF_USER_PIN_LOCKED=0x40000

# hsm_flags: pkcs11-tool's text for the current token's flags.
hsm_flags() {
	pkcs11-tool --module "$SOFTHSM_MODULE" -L 2>/dev/null |
		awk -v want="$HSM_LABEL" '
			/token label/ { l = $0; sub(/^[^:]*: /, "", l) }
			/token flags/ { f = $0; sub(/^[^:]*: /, "", f); if (l == want) print f }'
}

# ---- assertions -----------------------------------------------------------------------

# assert_nowhere NEEDLE FILE...: none of the files holds NEEDLE anywhere (bytes,
# not lines).
assert_nowhere() {
	local needle=$1 f
	shift
	for f in "$@"; do
		if grep -qaF -- "$needle" "$f"; then
			fail "$(basename "$f") must not contain '$needle'"
			return 1
		fi
	done
}

# assert_same_text EXPECTED ACTUAL WHAT: multi-line comparison with a diff.
assert_same_text() {
	if [ "$1" != "$2" ]; then
		fail "$3 differs (- expected, + actual):"
		diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") | sed -n '1,20p' | sed 's/^/    /'
		return 1
	fi
}

# assert_fails CODE NEEDLE...: exit CODE, nothing on stdout, each NEEDLE on
# stderr.
assert_fails() {
	local code=$1 n
	shift
	assert_rc "$code" || return 1
	assert_empty_stdout
	for n in "$@"; do
		assert_contains "$ERR" "$n"
	done
}

# assert_spy_count LOG FUNCTION N
assert_spy_count() {
	local n
	if [ ! -s "$1" ]; then
		fail "the pkcs11-spy log $1 is missing or empty (was the spy loaded?)"
		return 1
	fi
	n=$(spy_count "$1" "$2")
	assert_eq "$3" "$n" "number of $2 calls seen by pkcs11-spy"
}

# ---- JWT helpers ------------------------------------------------------------------------

# want_jwk PEM: the JWK (RFC 7517) and RFC 7638 thumbprint of an RSA public
# key, computed from openssl's modulus and exponent: two lines, the JWK in
# RFC 7638's canonical form (compact, sorted members) and the thumbprint.
want_jwk() {
	local mod exp
	mod=$(openssl rsa -pubin -in "$1" -noout -modulus | sed 's/^Modulus=//')
	exp=$(openssl rsa -pubin -in "$1" -noout -text | sed -n 's/^Exponent: \([0-9]*\) .*/\1/p')
	python3 -c '
import base64, hashlib, json, sys
def b64(i):
    b = i.to_bytes((i.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
jwk = {"e": b64(int(sys.argv[2])), "kty": "RSA", "n": b64(int(sys.argv[1], 16))}
canon = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
print(canon.decode())
print(base64.urlsafe_b64encode(hashlib.sha256(canon).digest()).rstrip(b"=").decode())' "$mod" "$exp"
}

# json_get FILE PYTHON_EXPR: evaluate EXPR with `d` bound to the parsed JSON
# of FILE; prints the result (JSON-encoded unless it is a str).
json_get() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = eval(sys.argv[2])
print(r if isinstance(r, str) else json.dumps(r, sort_keys=True))
EOF
}

# hsm_slot_of SERIAL: the slot id (0x...) pkcs11-tool shows for the token
# with this serial, for pkcs11-tool --slot.
hsm_slot_of() {
	pkcs11-tool --module "$SOFTHSM_MODULE" -L 2>/dev/null |
		awk -v want="$1" '
			/^Slot / { s = $3; gsub(/[():]/, "", s) }
			/serial num/ { v = $0; sub(/^[^:]*: /, "", v); if (v == want) print s }'
}

# ptool_field CLASS LABEL FIELD: a field of the objects of CLASS ("Private Key
# Object", "Public Key Object", "Certificate Object") labelled LABEL, as
# `pkcs11-tool --list-objects --login` shows it (Usage, Access, ID, ...), one
# line per object.
ptool_field() {
	ptool --list-objects 2>/dev/null | awk -v cls="$1" -v lbl="$2" -v fld="$3" '
		/^[^ \t]/ { incls = index($0, cls) == 1; l = "" }
		incls && /^  label:/ { l = $0; sub(/^  label: */, "", l) }
		incls && l == lbl && index($0, "  " fld ":") == 1 { v = $0; sub("^  " fld ": *", "", v); print v }'
}
