#!/usr/bin/env bash
# The reference vectors: tokens the original qs-jwt made with the clock pinned
# to 2030-01-01T00:00:00Z, reproduced byte for byte, plus checks that the
# openssl verification used everywhere can fail.
. "$(dirname "$0")/lib.sh"

WORK=$T_TMP/vectors
cp -R "$VEC" "$WORK"
chmod -R u+w "$WORK"

n_vectors=0
for cmd in "$VEC"/*.cmd; do
	name=$(basename "$cmd" .cmd)
	n_vectors=$((n_vectors + 1))
	begin "vector $name: byte for byte under faketime"
	eval "set -- $(cat "$cmd")"
	assert_eq create-qseow "$1" "first word of $name.cmd"
	shift
	at "$WORK" qs_pinned "$@"
	assert_rc 0
	assert_file_eq "$VEC/$name.jwt" "$OUT"
	assert_empty_stderr
	assert_token_stdout && {
		verify_jwt "$TOKEN" "$VEC/publickey.pem"
		pub_of_cert "$VEC/publickey.cer" >"$T_TMP/cerpub.pem"
		verify_jwt "$TOKEN" "$T_TMP/cerpub.pem"
	}

	begin "vector $name: same token twice (deterministic)"
	at "$WORK" qs_pinned "$@"
	assert_rc 0
	assert_file_eq "$VEC/$name.jwt" "$OUT"

	begin "vector $name: same token at the default log level (logs only on stderr)"
	args=()
	for a in "$@"; do
		case $a in
		--minimal-output) ;;
		*) args+=("$a") ;;
		esac
	done
	# Drop "--loglevel error": the last two words of every .cmd.
	assert_eq "--loglevel error" "${args[*]: -2}" "end of $name.cmd"
	args=("${args[@]:0:${#args[@]}-2}")
	at "$WORK" qs_pinned "${args[@]}"
	assert_rc 0
	assert_file_eq "$VEC/$name.jwt" "$OUT"
	assert_log INFO "JWT"

	begin "vector $name: key by absolute path from another directory"
	new=()
	for a in "$@"; do
		[ "$a" = privatekey.pem ] && a=$VEC/privatekey.pem
		new+=("$a")
	done
	at "$T_TMP" qs_pinned "${new[@]}"
	assert_rc 0
	assert_file_eq "$VEC/$name.jwt" "$OUT"
done

begin "there are reference vectors"
assert_true test "$n_vectors" -ge 2

begin "all-claims: payload JSON bytes"
TOKEN=$(cat "$VEC/all-claims.jwt")
assert_payload '{"userId":"jdoe","userDirectory":"ACME","name":"John Doe","email":"john.doe@example.com","group":["Sales","Finance"],"iat":1893456000,"exp":1893459600,"aud":"qlik-aud"}'

begin "unicode: payload JSON bytes (raw UTF-8, no \\u escapes)"
TOKEN=$(cat "$VEC/unicode.jwt")
assert_payload '{"userId":"göran","userDirectory":"ÅÄÖ","name":"Göran Sandér","email":"göran@exämple.se","group":["Ünïcødé 😀","日本語"],"iat":1893456000,"exp":1893459600,"aud":"aüd"}'

# The verifier must be able to say no, or every check above is worthless.
begin "openssl check rejects a token with a changed payload"
TOKEN=$(cat "$VEC/all-claims.jwt")
IFS=. read -r h p s <<<"$TOKEN"
p2=$(printf '%s' '{"userId":"root","userDirectory":"ACME","name":"John Doe","email":"john.doe@example.com","group":["Sales","Finance"],"iat":1893456000,"exp":1893459600,"aud":"qlik-aud"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
assert_false jwt_verifies "$h.$p2.$s" "$VEC/publickey.pem"
assert_true jwt_verifies "$h.$p.$s" "$VEC/publickey.pem"

begin "openssl check rejects a wrong key and a wrong digest"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T_TMP/other.pem" 2>/dev/null
openssl pkey -in "$T_TMP/other.pem" -pubout -out "$T_TMP/other.pub" 2>/dev/null
assert_false jwt_verifies "$TOKEN" "$T_TMP/other.pub"
assert_false jwt_verifies "$TOKEN" "$VEC/publickey.pem" RS384
assert_false jwt_verifies "$TOKEN" "$VEC/publickey.pem" RS512

begin "vector key pair is consistent (publickey.pem = key of publickey.cer = from privatekey.pem)"
openssl pkey -in "$VEC/privatekey.pem" -pubout >"$T_TMP/derived.pub"
assert_file_eq "$VEC/publickey.pem" "$T_TMP/derived.pub"
assert_file_eq "$VEC/publickey.pem" "$T_TMP/cerpub.pem"

finish
