#!/usr/bin/env bash
# The Windows suite: qs-jwt.exe from the zip, under wine64, with the Windows
# build of SoftHSM2. Run by scripts/windows.sh test, which sets
#   QSJWT_WIN_ZIP      the zip to test
#   QSJWT_WIN_SOFTHSM  the prefix of the cross-built SoftHSM2
#   QSJWT_WIN_BUILD    the build folder (wine prefix and temporaries go there)
#   QSJWT_WIN_UNIT     the cmocka unit tests (test_*.exe) with their DLLs
# Every case prints ok/FAIL/skip with its name; the last line is the summary
# "N passed, N failed, N skipped"; the exit status is 1 on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
VEC=$top/tests/data/vectors
# `faketime` is tests/lib/bin/faketime (libfaketime preloaded directly):
# Debian's wrapper stops with "sem_open: File exists" when a killed wrapper
# left a semaphore of its PID's name in /dev/shm and the PID comes round.
PATH=$top/tests/lib/bin:$PATH
: "${QSJWT_WIN_ZIP:?}" "${QSJWT_WIN_SOFTHSM:?}" "${QSJWT_WIN_BUILD:?}" "${QSJWT_WIN_UNIT:?}"

WINE=/usr/lib/wine/wine64
export WINEPREFIX=$QSJWT_WIN_BUILD/wine-test WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
export TMPDIR=$QSJWT_WIN_BUILD/tmp
# WINEPATH would add folders to wine's PATH: the module tests need it untouched.
unset QSJWT_PKCS11_PIN QSJWT_KEY_PASSPHRASE NO_COLOR SOFTHSM2_CONF WINEPATH
mkdir -p "$TMPDIR"
T=$(mktemp -d "$TMPDIR/run.XXXXXX")
stop() {
	wineserver -k 2>/dev/null
	rm -rf "$T"
}
trap stop EXIT

(cd "$T" && unzip -q "$QSJWT_WIN_ZIP")
PKG=$(echo "$T"/qs-jwt-*-windows-x86_64)
EXE=$PKG/qs-jwt.exe
SOFTHSM_DLL=$QSJWT_WIN_SOFTHSM/lib/softhsm/libsofthsm2.dll
SOFTHSM_UTIL=$QSJWT_WIN_SOFTHSM/bin/softhsm2-util.exe
# One wineserver for the whole run (started here, stopped by stop()).
wineserver -p 2>/dev/null
"$WINE" wineboot -i >/dev/null 2>&1

n_pass=0 n_fail=0 n_skip=0
CASE=
begin() {
	CASE=$1
	CASE_OK=1
}
fail() {
	CASE_OK=0
	printf '      %s\n' "$*"
}
end() {
	if [ "$CASE_OK" = 1 ]; then
		n_pass=$((n_pass + 1))
		printf 'ok   %s\n' "$CASE"
	else
		n_fail=$((n_fail + 1))
		printf 'FAIL %s\n' "$CASE"
	fi
}
skip() {
	n_skip=$((n_skip + 1))
	printf 'skip %s: %s\n' "$1" "$2"
}

# qs ARGS: run qs-jwt.exe in the current folder; RC, $T/out, $T/err.
qs() {
	"$WINE" "$EXE" "$@" >"$T/out" 2>"$T/err" </dev/null
	RC=$?
}
# The same with the clock pinned to 2030-01-01T00:00:00Z.
qs_pinned() {
	TZ=UTC NO_FAKE_STAT=1 faketime -f '@2030-01-01 00:00:00' "$WINE" "$EXE" "$@" \
		>"$T/out" 2>"$T/err" </dev/null
	RC=$?
}
qs_stdin() { # FILE ARGS: stdin from FILE
	local f=$1
	shift
	"$WINE" "$EXE" "$@" >"$T/out" 2>"$T/err" <"$f"
	RC=$?
}

want_rc() {
	[ "$RC" = "$1" ] || fail "exit $RC, want $1; stderr: $(head -c 600 "$T/err")"
}
want_empty_stdout() {
	[ ! -s "$T/out" ] || fail "stdout not empty: $(head -c 200 "$T/out")"
}
want_err() {
	grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(head -c 600 "$T/err")"
}
want_same() { # expected actual
	cmp -s "$1" "$2" || fail "$2 differs from $1"
}
no_cr() {
	! grep -q $'\r' "$1" || fail "$1 holds a CR"
}
# The token on stdout: one line, LF-terminated, no CR.
token() {
	no_cr "$T/out"
	tr -d '\n' <"$T/out"
}
b64url_dec() {
	local s
	s=$(printf '%s' "$1" | tr '_-' '/+')
	while [ $((${#s} % 4)) != 0 ]; do s="$s="; done
	printf '%s' "$s" | base64 -d
}
# verify TOKEN PUBKEY.pem [dgst]: an RS256 signature checked by openssl.
verify() {
	local tok=$1 pub=$2 d=${3:-sha256}
	b64url_dec "${tok##*.}" >"$T/sig"
	printf '%s' "${tok%.*}" >"$T/signed"
	openssl dgst -"$d" -verify "$pub" -signature "$T/sig" "$T/signed" >/dev/null 2>&1 ||
		fail "openssl does not verify the token with $pub"
}
payload() {
	local p=${1#*.}
	b64url_dec "${p%%.*}"
}

W=$T/work
mkdir -p "$W"
cp "$VEC"/* "$W"/
cd "$W" || exit 1
openssl pkey -in privatekey.pem -pubout -out pub.pem 2>/dev/null
openssl rsa -in privatekey.pem -traditional -out pkcs1.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in privatekey.pem -out pkcs8.pem 2>/dev/null
openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:s3cret -in privatekey.pem -out enc.pem 2>/dev/null
printf 's3cret\n' >pass.txt
chmod 600 pass.txt
QSEOW=(create-qseow --userdir ACME --userid jdoe --username 'John Doe' --useremail j@example.com
	--groups Sales --expires 60m --audience qlik-aud --loglevel error)

# ---- reference vectors --------------------------------------------------------
for cmd in "$VEC"/*.cmd; do
	name=$(basename "$cmd" .cmd)
	begin "vector $name: byte for byte under the pinned clock"
	eval "set -- $(cat "$cmd")"
	qs_pinned "$@"
	want_rc 0
	want_same "$VEC/$name.jwt" "$T/out"
	[ ! -s "$T/err" ] || fail "stderr: $(head -c 300 "$T/err")"
	verify "$(token)" pub.pem
	end
done
ref=$(tr -d '\n' <"$VEC/all-claims.jwt")
eval "set -- $(cat "$VEC/all-claims.cmd")"
VARGS=("$@")
with_key() { # KEYOPTS...: the all-claims vector with another key source
	local a out=()
	for a in "${VARGS[@]}"; do
		case $a in
		--cert-privatekey-file) out+=("__KEY__") ;;
		privatekey.pem) ;;
		*) out+=("$a") ;;
		esac
	done
	ARGS=()
	for a in "${out[@]}"; do
		if [ "$a" = __KEY__ ]; then ARGS+=("$@"); else ARGS+=("$a"); fi
	done
}

# ---- file keys ----------------------------------------------------------------------
for k in pkcs1 pkcs8; do
	begin "file key $k: the reference token"
	with_key --cert-privatekey-file $k.pem
	qs_pinned "${ARGS[@]}"
	want_rc 0
	[ "$(token)" = "$ref" ] || fail "token differs"
	end
done
begin "encrypted key, passphrase file: the reference token"
with_key --cert-privatekey-file enc.pem --cert-privatekey-passphrase-file pass.txt
qs_pinned "${ARGS[@]}"
want_rc 0
[ "$(token)" = "$ref" ] || fail "token differs"
end
begin "encrypted key, QSJWT_KEY_PASSPHRASE: the reference token"
with_key --cert-privatekey-file enc.pem
QSJWT_KEY_PASSPHRASE=s3cret qs_pinned "${ARGS[@]}"
want_rc 0
[ "$(token)" = "$ref" ] || fail "token differs"
end
begin "encrypted key, wrong passphrase: exit 1, empty stdout"
with_key --cert-privatekey-file enc.pem
QSJWT_KEY_PASSPHRASE=wrong qs_pinned "${ARGS[@]}"
want_rc 1
want_empty_stdout
end
begin "passphrase file readable by others (wine maps mode 0644 to the DACL): refused, exit 2"
cp pass.txt pass644.txt && chmod 644 pass644.txt
with_key --cert-privatekey-file enc.pem --cert-privatekey-passphrase-file pass644.txt
qs_pinned "${ARGS[@]}"
want_rc 2
want_empty_stdout
want_err "qs-jwt create-qseow: error: --cert-privatekey-passphrase-file 'pass644.txt' is readable by other users (its DACL lets"
want_err "icacls"
end
begin "key as a parameter: the reference token"
with_key --cert-privatekey "$(cat pkcs8.pem)"
qs_pinned "${ARGS[@]}"
want_rc 0
[ "$(token)" = "$ref" ] || fail "token differs"
end
begin "key on stdin (--cert-privatekey -): the reference token"
with_key --cert-privatekey -
TZ=UTC NO_FAKE_STAT=1 faketime -f '@2030-01-01 00:00:00' "$WINE" "$EXE" "${ARGS[@]}" \
	<pkcs1.pem >"$T/out" 2>"$T/err"
RC=$?
want_rc 0
[ "$(token)" = "$ref" ] || fail "token differs"
end
begin "missing key file: exit 1, empty stdout, the path in the message"
qs "${QSEOW[@]}" --cert-privatekey-file nope.pem
want_rc 1
want_empty_stdout
want_err "nope.pem"
end
begin "unknown option: exit 2, empty stdout"
qs create-qseow --nope
want_rc 2
want_empty_stdout
end
begin "no key source: exit 2"
qs "${QSEOW[@]}"
want_rc 2
want_empty_stdout
end

# ---- standard descriptors missing at start ------------------------------------------
# Started with no standard handle (a service, a GUI parent), the CRT gives
# the descriptor the value -2: it is reopened on NUL, and without stdout
# nothing is done (the token would be lost). tests/windows/nostd.c starts
# qs-jwt.exe so; closing a unix descriptor does not (wine opens a file of its
# own on that number).
NOSTD=$T/nostd.exe
x86_64-w64-mingw32-gcc-posix -municode -O2 -static -o "$NOSTD" "$top/tests/windows/nostd.c"
begin "no stdout at start: exit 1, the message, no key made, nothing written"
mkdir -p sfd
"$WINE" "$NOSTD" out "$EXE" "${QSEOW[@]}" --cert-create --cert-create-key-bits 2048 \
	--cert-create-expires-days 30 --cert-file-prefix sfd/ >"$T/out" 2>"$T/err" </dev/null
RC=$?
want_rc 1
want_err "cannot write to standard output: it is closed; nothing was done"
[ -z "$(ls sfd)" ] || fail "sfd holds: $(ls sfd)"
end
begin "no stderr at start: the token on stdout, exit 0"
"$WINE" "$NOSTD" err "$EXE" "${QSEOW[@]}" --cert-privatekey-file privatekey.pem \
	>"$T/out" 2>"$T/err" </dev/null
RC=$?
want_rc 0
verify "$(token)" pub.pem
end
begin "no stdin at start: a key read from it is empty (NUL): exit 1, empty stdout"
"$WINE" "$NOSTD" in "$EXE" "${QSEOW[@]}" --cert-privatekey - >"$T/out" 2>"$T/err"
RC=$?
want_rc 1
want_empty_stdout
want_err "key from standard input '(stdin)' is empty"
end

# ---- RS384/RS512, decode ------------------------------------------------------------
begin "RS512 verifies with openssl"
qs "${QSEOW[@]}" --alg RS512 --cert-privatekey-file privatekey.pem
want_rc 0
verify "$(token)" pub.pem sha512
end
begin "decode with verification: exit 0, the claims"
qs "${QSEOW[@]}" --cert-privatekey-file privatekey.pem
tok=$(token)
qs decode --jwt "$tok" --cert-publickey-file publickey.cer --json
want_rc 0
grep -q '"userId":"jdoe"' "$T/out" || fail "no userId in $(cat "$T/out")"
end
begin "decode with the wrong key: exit 3"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.pem 2>/dev/null
openssl pkey -in other.pem -pubout -out otherpub.pem 2>/dev/null
qs decode --jwt "$tok" --cert-publickey-file otherpub.pem --json
want_rc 3
end

# ---- create-qscloud -----------------------------------------------------------------
begin "create-qscloud: kid, iss, sub; verifies"
qs create-qscloud --issuer iss.example --keyid kid1 --sub u1 --username 'U One' --expires 5m \
	--cert-privatekey-file privatekey.pem --loglevel error
want_rc 0
tok=$(token)
verify "$tok" pub.pem
payload "$tok" | grep -q '"sub":"u1"' || fail "no sub"
b64url_dec "${tok%%.*}" | grep -q '"kid":"kid1"' || fail "no kid"
end

# ---- UTF-8 ------------------------------------------------------------------------------
begin "UTF-8 claims and a non-ASCII key path (wmain: UTF-16 argv)"
mkdir -p 'nøn-äscii 日本'
cp privatekey.pem 'nøn-äscii 日本/ключ.pem'
eval "set -- $(cat "$VEC/unicode.cmd")"
uargs=()
for a in "$@"; do
	[ "$a" = privatekey.pem ] && a='nøn-äscii 日本/ключ.pem'
	uargs+=("$a")
done
qs_pinned "${uargs[@]}"
want_rc 0
want_same "$VEC/unicode.jwt" "$T/out"
end

# ---- --cert-create -------------------------------------------------------------------
begin "--cert-create: three files, LF only, the token verifies with the new key"
mkdir -p out
qs "${QSEOW[@]}" --cert-create --cert-create-key-bits 2048 --cert-create-expires-days 30 \
	--cert-file-prefix out/
want_rc 0
for f in privatekey.pem publickey.pem publickey.cer; do
	[ -s "out/$f" ] || fail "out/$f missing"
done
no_cr out/privatekey.pem
no_cr out/publickey.pem
verify "$(token)" out/publickey.pem
openssl x509 -in out/publickey.cer -noout 2>/dev/null || fail "publickey.cer is not an X.509 certificate"
no_cr out/publickey.cer
[ "$(ls out | wc -l)" = 3 ] || fail "out holds: $(ls out)"
end
begin "--cert-create: the private key's DACL reads back owner-only"
# The private key was made with a protected DACL (owner, SYSTEM,
# Administrators). Read back through qs-jwt's own DACL check for secret files
# (GetSecurityInfo): it passes that check and fails on the next one (a key is
# too long for a passphrase). Wine keeps the DACL as Unix mode bits: none for
# others.
with_key --cert-privatekey-file enc.pem --cert-privatekey-passphrase-file out/privatekey.pem
qs_pinned "${ARGS[@]}"
want_rc 2
want_err "qs-jwt create-qseow: error: --cert-privatekey-passphrase-file 'out/privatekey.pem' holds a passphrase longer than 1023 bytes"
grep -q "readable by other users" "$T/err" && fail "the DACL check refused it: $(cat "$T/err")"
mode=$(stat -c %a out/privatekey.pem)
[ "${mode: -1}" = 0 ] || fail "mode $mode on the Linux side: others have access"
echo "      (Linux mode of the private key under wine: $mode)"
end
begin "--cert-create's log names the owner-only DACL, not a mode"
mkdir -p dacl
qs create-qseow --userdir D --userid u --username U --useremail u@x --expires 1m --audience a \
	--cert-create --cert-create-key-bits 2048 --cert-create-expires-days 30 --cert-file-prefix dacl/
want_rc 0
want_err "wrote 'dacl/publickey.pem', 'dacl/publickey.cer' and 'dacl/privatekey.pem' (owner-only DACL)"
end
begin "--cert-create again: refused (exit 1), files untouched, no temporaries, empty stdout"
sum=$(cat out/* | sha256sum)
qs "${QSEOW[@]}" --cert-create --cert-create-key-bits 2048 --cert-create-expires-days 30 \
	--cert-file-prefix out/
want_rc 1
want_empty_stdout
want_err "exists already"
[ "$(cat out/* | sha256sum)" = "$sum" ] || fail "files changed"
[ "$(ls out | wc -l)" = 3 ] || fail "out holds: $(ls out)"
end
begin "--cert-create --force: replaced, still three files"
qs "${QSEOW[@]}" --cert-create --cert-create-key-bits 2048 --cert-create-expires-days 30 \
	--cert-file-prefix out/ --force
want_rc 0
[ "$(cat out/* | sha256sum)" != "$sum" ] || fail "files not replaced"
[ "$(ls out | wc -l)" = 3 ] || fail "out holds: $(ls out)"
verify "$(token)" out/publickey.pem
end
begin "--cert-create into a missing folder: exit 1, nothing written"
qs "${QSEOW[@]}" --cert-create --cert-create-key-bits 2048 --cert-create-expires-days 30 \
	--cert-file-prefix missing/
want_rc 1
want_empty_stdout
[ ! -e missing ] || fail "missing/ appeared"
end
begin "Ctrl-C (SIGINT, which wine turns into CTRL_C_EVENT) during key generation: nothing left"
# Sent as soon as the "generating" line appears; RSA-4096 takes long enough
# under wine, but a fast run may finish first: up to 3 tries.
mkdir -p intr
RC=0
for _ in 1 2 3; do
	"$WINE" "$EXE" create-qseow --userdir D --userid u --username U --useremail u@x \
		--expires 1m --audience a --cert-create --cert-create-expires-days 30 \
		--cert-file-prefix intr/ >"$T/out" 2>"$T/err" </dev/null &
	pid=$!
	for _ in $(seq 1 200); do
		grep -q "generating an RSA" "$T/err" && break
		sleep 0.02
	done
	kill -INT $pid 2>/dev/null
	for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	kill -KILL $pid 2>/dev/null
	wait $pid
	RC=$?
	[ "$RC" = 0 ] || break
	rm -f intr/*
done
if [ "$RC" = 0 ]; then
	fail "key generation finished before the interrupt three times"
else
	want_rc 58 # STATUS_CONTROL_C_EXIT (0xC000013A) as wine reports it: its low byte
	want_err "interrupted; nothing was written or kept"
	[ -z "$(ls intr)" ] || fail "left: $(ls intr)"
	want_empty_stdout
fi
end

# ---- batch ----------------------------------------------------------------------------
begin "--batch with 2 jobs: one line per input, in order, each token verifies"
printf '%s\n' '{"userid":"a","userdir":"D","username":"A","useremail":"a@x","groups":["g"]}' \
	'{"userid":"b","userdir":"D","username":"B","useremail":"b@x","groups":[]}' \
	'{"userid":"c"}' >batch.jsonl
qs create-qseow --batch batch.jsonl --jobs 2 --expires 60m --audience aud \
	--cert-privatekey-file privatekey.pem --loglevel error
want_rc 1
no_cr "$T/out"
[ "$(wc -l <"$T/out")" = 3 ] || fail "$(wc -l <"$T/out") lines"
python3 - "$T/out" <<'EOF' || fail "batch output"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["line"] for l in lines] == [1, 2, 3], lines
assert lines[0]["userid"] == "a" and "token" in lines[0]
assert lines[1]["userid"] == "b" and "token" in lines[1]
assert "error" in lines[2], lines[2]
EOF
for i in 1 2; do
	tok=$(sed -n "${i}p" "$T/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
	verify "$tok" pub.pem
done
end

begin "--batch from a pipe (stdin): both lines, exit 0"
printf '%s\n' '{"userid":"a","userdir":"D","username":"A","useremail":"a@x","groups":[]}' \
	'{"userid":"b","userdir":"D","username":"B","useremail":"b@x","groups":[]}' |
	"$WINE" "$EXE" create-qseow --batch - --jobs 2 --expires 60m --audience aud \
		--cert-privatekey-file privatekey.pem --loglevel error >"$T/out" 2>"$T/err"
RC=$?
want_rc 0
[ "$(wc -l <"$T/out")" = 2 ] || fail "$(wc -l <"$T/out") lines"
verify "$(sed -n 2p "$T/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')" pub.pem
end

begin "Ctrl-C during --batch on an open pipe: the line signed is written, exit by the signal"
# The reader waits on a pipe that sends nothing more; the console control
# handler's flag (and wake pipe) must end that wait.
rm -f bfifo
mkfifo bfifo
"$WINE" "$EXE" create-qseow --batch - --jobs 2 --expires 60m --audience aud \
	--cert-privatekey-file privatekey.pem --loglevel error <bfifo >"$T/out" 2>"$T/err" &
pid=$!
exec 7>bfifo
printf '%s\n' '{"userid":"a","userdir":"D","username":"A","useremail":"a@x","groups":[]}' >&7
# The writer flushes each line: once it is out, the reader waits for more.
for _ in $(seq 1 300); do
	[ -s "$T/out" ] && break
	sleep 0.1
done
sleep 0.5
kill -INT $pid 2>/dev/null
for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -KILL $pid 2>/dev/null
wait $pid
RC=$?
exec 7>&-
rm -f bfifo
want_rc 58 # STATUS_CONTROL_C_EXIT's low byte, as wine reports it
want_err "batch interrupted by signal 2: 1 token issued, 0 lines failed"
[ "$(wc -l <"$T/out")" = 1 ] || fail "$(wc -l <"$T/out") lines on stdout"
end

# ---- serve: Linux only ------------------------------------------------------------------
begin "serve: not available on Windows, exit 2, empty stdout"
qs serve --socket x.sock --cert-privatekey-file privatekey.pem
want_rc 2
want_empty_stdout
want_err "serve is not available on Windows"
end

# ---- SoftHSM2 (the Windows DLL) ------------------------------------------------------
HSM=$W/hsm
mkdir -p "$HSM/tokens"
printf 'directories.tokendir = Z:%s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$HSM" >"$HSM/softhsm2.conf"
export SOFTHSM2_CONF="Z:$HSM/softhsm2.conf"
MOD="Z:$SOFTHSM_DLL"
printf '1234\n' >"$HSM/pin"
chmod 600 "$HSM/pin"
"$WINE" "$SOFTHSM_UTIL" --module "$MOD" --init-token --free --label qlik --pin 1234 --so-pin 5678 >/dev/null 2>&1
token_flags() {
	python3 - "$HSM"/tokens/*/token.object <<'EOF'
import struct, sys
b = open(sys.argv[1], 'rb').read()
tag = struct.pack('>QQ', 0x80000000 + 0x5348 + 3, 2)
i = b.find(tag)
print(hex(struct.unpack('>Q', b[i + 16:i + 24])[0]) if i >= 0 else 'none')
EOF
}
set_flags() {
	python3 - "$1" "$HSM"/tokens/*/token.object <<'EOF'
import struct, sys
mask = int(sys.argv[1], 0)
p = sys.argv[2]
b = bytearray(open(p, 'rb').read())
tag = struct.pack('>QQ', 0x80000000 + 0x5348 + 3, 2)
i = b.find(tag)
v = struct.unpack('>Q', b[i + 16:i + 24])[0]
b[i + 16:i + 24] = struct.pack('>Q', v | mask)
open(p, 'wb').write(b)
EOF
}
clear_pin_flags() {
	python3 - "$HSM"/tokens/*/token.object <<'EOF'
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
tag = struct.pack('>QQ', 0x80000000 + 0x5348 + 3, 2)
i = b.find(tag)
v = struct.unpack('>Q', b[i + 16:i + 24])[0]
b[i + 16:i + 24] = struct.pack('>Q', v & ~0x70000)
open(p, 'wb').write(b)
EOF
}

begin "SoftHSM2 DLL: pkcs11 list-tokens shows the token"
qs pkcs11 list-tokens --pkcs11-module "$MOD"
want_rc 0
grep -q 'token=qlik' "$T/out" || fail "no token=qlik in: $(cat "$T/out")"
end
URI='pkcs11:token=qlik;object=jwt'
begin "SoftHSM2 DLL: --cert-create generates the key on the token (two files), signs"
mkdir -p hout
qs "${QSEOW[@]}" --pkcs11-uri "$URI" --pkcs11-module "$MOD" --pkcs11-pin-file "$HSM/pin" \
	--cert-create --cert-create-key-bits 2048 --cert-create-expires-days 30 --cert-file-prefix hout/
want_rc 0
[ "$(ls hout | LC_ALL=C sort | tr '\n' ' ')" = "publickey.cer publickey.pem " ] ||
	fail "hout holds: $(ls hout)"
verify "$(token)" hout/publickey.pem
end
begin "SoftHSM2 DLL: pkcs11 list-keys shows the key"
qs pkcs11 list-keys --pkcs11-uri 'pkcs11:token=qlik' --pkcs11-module "$MOD" \
	--pkcs11-pin-file "$HSM/pin"
want_rc 0
grep -q 'object=jwt' "$T/out" || fail "no object=jwt in: $(cat "$T/out")"
end
begin "SoftHSM2 DLL: sign with the token key (PIN file), RS256 verifies"
qs "${QSEOW[@]}" --pkcs11-uri "$URI" --pkcs11-module "$MOD" --pkcs11-pin-file "$HSM/pin"
want_rc 0
tok=$(token)
verify "$tok" hout/publickey.pem
end
begin "SoftHSM2 DLL: decode --pkcs11-uri verifies"
qs decode --jwt "$tok" --pkcs11-uri "$URI" --pkcs11-module "$MOD" --json
want_rc 0
grep -q '"verification"' "$T/out" || fail "$(cat "$T/out")"
end
begin "SoftHSM2 DLL: QSJWT_PKCS11_PIN signs"
QSJWT_PKCS11_PIN=1234 qs "${QSEOW[@]}" --pkcs11-uri "$URI" --pkcs11-module "$MOD"
want_rc 0
end
begin "SoftHSM2 DLL: wrong PIN: exit 5, empty stdout, one failed login (COUNT_LOW set)"
clear_pin_flags
QSJWT_PKCS11_PIN=0000 qs "${QSEOW[@]}" --pkcs11-uri "$URI" --pkcs11-module "$MOD"
want_rc 5
want_empty_stdout
f=$(token_flags)
[ $((f & 0x10000)) != 0 ] || fail "flags $f: CKF_USER_PIN_COUNT_LOW not set"
[ $((f & 0x40000)) = 0 ] || fail "flags $f: locked"
end
begin "SoftHSM2 DLL: final-try flag: refused without a login (exit 5); the right PIN still works"
clear_pin_flags
set_flags 0x20000
QSJWT_PKCS11_PIN=0000 qs "${QSEOW[@]}" --pkcs11-uri "$URI" --pkcs11-module "$MOD"
want_rc 5
want_empty_stdout
f=$(token_flags)
[ $((f & 0x10000)) = 0 ] || fail "flags $f: a login was tried"
clear_pin_flags
qs "${QSEOW[@]}" --pkcs11-uri "$URI" --pkcs11-module "$MOD" --pkcs11-pin-file "$HSM/pin"
want_rc 0
end
begin "SoftHSM2 DLL: --batch with 2 jobs on the token"
qs create-qseow --batch batch.jsonl --jobs 2 --expires 60m --audience aud \
	--pkcs11-uri "$URI" --pkcs11-module "$MOD" --pkcs11-pin-file "$HSM/pin" --loglevel error
want_rc 1
[ "$(wc -l <"$T/out")" = 3 ] || fail "$(wc -l <"$T/out") lines"
for i in 1 2; do
	tok=$(sed -n "${i}p" "$T/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
	verify "$tok" hout/publickey.pem
done
end
begin "p11-kit registry: a module in C:\\ProgramData\\p11-kit\\modules, no --pkcs11-module"
reg="$WINEPREFIX/drive_c/ProgramData/p11-kit/modules"
mkdir -p "$reg"
printf 'module: %s\n' "$(printf '%s' "$MOD" | tr / '\\')" >"$reg/softhsm2-test.module"
qs pkcs11 list-tokens
want_rc 0
grep -q 'token=qlik' "$T/out" || fail "no token=qlik in: $(cat "$T/out")"
qs "${QSEOW[@]}" --pkcs11-uri "$URI" --pkcs11-pin-file "$HSM/pin"
want_rc 0
verify "$(token)" hout/publickey.pem
rm -f "$reg/softhsm2-test.module"
end
begin "SoftHSM2 DLL: a module path that does not exist: exit 4, empty stdout"
qs "${QSEOW[@]}" --pkcs11-uri "$URI" --pkcs11-module 'Z:/nope/none.dll' --pkcs11-pin-file "$HSM/pin"
want_rc 4
want_empty_stdout
end

# ---- module DLLs: their own folder, non-ASCII paths --------------------------------
# The SoftHSM2 DLL links the C++ runtime as DLLs (libstdc++-6.dll and others,
# see scripts/windows.sh), which sit beside it only: neither qs-jwt's folder,
# wine's system folders nor PATH hold them. Like Yubico's libykcs11.dll, it
# loads only when its own folder is searched for the DLLs it needs.
SOFTHSM_DIR=$(dirname "$SOFTHSM_DLL")
begin "module DLL needing DLLs beside it (libstdc++-6.dll), no PATH change: lists and signs"
vend="$W/vendor tools/bin"
mkdir -p "$vend"
cp "$SOFTHSM_DIR"/*.dll "$vend"/
x86_64-w64-mingw32-objdump -p "$vend/libsofthsm2.dll" >"$T/imports"
grep -q 'DLL Name: libstdc++-6.dll' "$T/imports" ||
	fail "libsofthsm2.dll does not import libstdc++-6.dll: nothing to find beside it"
for d in "$PKG" "$WINEPREFIX/drive_c/windows/system32"; do
	[ ! -e "$d/libstdc++-6.dll" ] || fail "$d holds libstdc++-6.dll: the test proves nothing"
done
qs pkcs11 list-tokens --pkcs11-module "Z:$vend/libsofthsm2.dll"
want_rc 0
grep -q 'token=qlik' "$T/out" || fail "no token=qlik in: $(cat "$T/out")"
qs "${QSEOW[@]}" --pkcs11-uri "$URI" --pkcs11-module "Z:$vend/libsofthsm2.dll" \
	--pkcs11-pin-file "$HSM/pin"
want_rc 0
verify "$(token)" hout/publickey.pem
end
begin "the same module DLL without the DLLs beside it: exit 4, empty stdout (they are needed)"
mkdir -p "$W/alone"
cp "$SOFTHSM_DLL" "$W/alone/"
qs pkcs11 list-tokens --pkcs11-module "Z:$W/alone/libsofthsm2.dll"
want_rc 4
want_empty_stdout
want_err "cannot load PKCS#11 module"
no_cr "$T/err" # FormatMessage's CR LF is not passed on
end
# Outside every ANSI code page wine may use (the CJK characters with the
# Latin ones): p11-kit must load it through the wide API.
UNI='Ünïcødé-モジュール'
begin "module DLL in a folder with a non-ASCII name ($UNI): lists, signs, decodes"
udir="$W/tokens/$UNI"
mkdir -p "$udir"
cp "$SOFTHSM_DIR"/*.dll "$udir"/
mv "$udir/libsofthsm2.dll" "$udir/softhsm2.dll"
umod="Z:$udir/softhsm2.dll"
qs pkcs11 list-tokens --pkcs11-module "$umod"
want_rc 0
grep -q 'token=qlik' "$T/out" || fail "no token=qlik in: $(cat "$T/out")"
qs "${QSEOW[@]}" --pkcs11-uri "$URI" --pkcs11-module "$umod" --pkcs11-pin-file "$HSM/pin"
want_rc 0
tok=$(token)
verify "$tok" hout/publickey.pem
qs decode --jwt "$tok" --pkcs11-uri "$URI" --pkcs11-module "$umod" --json
want_rc 0
grep -q '"verification"' "$T/out" || fail "$(cat "$T/out")"
end
begin "p11-kit registry: a module with a non-ASCII path in C:\\ProgramData\\p11-kit\\modules"
printf 'module: %s\n' "$(printf '%s' "$umod" | tr / '\\')" >"$reg/unicode-test.module"
qs pkcs11 list-tokens
want_rc 0
grep -q 'token=qlik' "$T/out" || fail "no token=qlik in: $(cat "$T/out")"
qs "${QSEOW[@]}" --pkcs11-uri "$URI" --pkcs11-pin-file "$HSM/pin"
want_rc 0
verify "$(token)" hout/publickey.pem
rm -f "$reg/unicode-test.module"
end

# ---- the cmocka unit tests, cross-built --------------------------------------------
# Each test_*.exe is one case: exit 0, cmocka's PASSED line, no FAILED one; a
# test cmocka skipped is counted as a skip, by name. They read the test data
# by its Linux path, which wine resolves on drive Z: (the current folder's).
n_unit=0
for t in "$QSJWT_WIN_UNIT"/test_*.exe; do
	[ -f "$t" ] || continue
	n_unit=$((n_unit + 1))
	name=$(basename "$t" .exe)
	begin "unit $name (cmocka) under wine"
	timeout 600 "$WINE" "$t" >"$T/out" 2>&1 </dev/null
	RC=$?
	tr -d '\r' <"$T/out" >"$T/unit"
	want_rc 0
	grep -q '^\[  PASSED  \] [0-9]* test(s)\.$' "$T/unit" || fail "no PASSED line: $(tail -c 600 "$T/unit")"
	! grep -q '^\[  FAILED  \]' "$T/unit" || fail "$(grep -B3 '^\[  FAILED  \]' "$T/unit" | head -c 800)"
	end
	# (a skip is listed twice: when it happens and in the summary)
	sed -n 's/^\[  SKIPPED \] \([A-Za-z0-9_]*\)$/\1/p' "$T/unit" | sort -u |
		sed "s/^/$name /" >"$T/skipped"
	while read -r sk; do
		skip "unit $sk" "cmocka skipped it under wine"
	done <"$T/skipped"
done
begin "unit tests: every portable module's test ran"
[ "$n_unit" = 13 ] || fail "$n_unit test executables in $QSJWT_WIN_UNIT, want 13 (tests/unit/CMakeLists.txt)"
end
skip "unit test_file" "POSIX file semantics (modes, FIFOs, symlinks, /dev/full); qs-jwt.exe's file cases above cover Windows"
skip "unit test_pin" "POSIX modes and FIFOs for PIN files; the DACL check is covered above"
skip "unit test_policy, test_audit, test_metrics, test_sd" "qs-jwt serve is Linux only"

# ---- cases that cannot exist on Windows ---------------------------------------------
skip "invalid UTF-8 in argv" "Windows passes UTF-16 arguments; wmain converts them (unpaired surrogates are refused)"
skip "FIFO key and PIN files" "Windows has no FIFOs"
skip "/proc/PID/cmdline wiping" "no /proc; the GetCommandLineW() copy is wiped instead (not observable under wine)"
skip "remote tokens (p11-kit client module)" "p11-kit does not build its client module for Windows"
skip "core dump limit" "no RLIMIT_CORE; SetErrorMode is set, Windows Error Reporting is a machine setting"

cd "$top" || true
printf '%d passed, %d failed, %d skipped\n' "$n_pass" "$n_fail" "$n_skip"
[ "$n_fail" = 0 ]
