# shellcheck shell=bash
# The checks every token module goes through, on the module the calling
# script set up. Set before calling:
#   TK_MODULE  the module's path     TK_LABEL  the token's label
#   TK_PIN     the user PIN          TK_PINF   a 0600 file holding it
#   TK_BITS    the key size --cert-create makes by default on this token
#   TK_OBJECTS a function printing the token's objects (sorted, one a line)
# and optionally:
#   TK_TOKEN   the label as a URI attribute value (percent-encoded; default
#              TK_LABEL)
#   TK_INIT    the module's --pkcs11-module-init string
#   TK_TOOL_MODULE  the module pkcs11-tool loads (default TK_MODULE)
#   TK_SPY_ENV NAME=VALUE words for the run through pkcs11-spy
# Each case_* function is one or a few `begin` cases; the scripts call them
# in this order and add the module's own checks in between.

TK_KEYDIR=$T_TMP/key
mkdir -p "$TK_KEYDIR"

# tk_setup: after the TK_ variables are set.
tk_setup() {
	[ -n "${TK_SPY_ENV+set}" ] || TK_SPY_ENV=()
	TK_TOKEN=${TK_TOKEN:-$TK_LABEL}
	TK_TOOL_MODULE=${TK_TOOL_MODULE:-$TK_MODULE}
	TK_MOD=(--pkcs11-module "$TK_MODULE")
	TK_SPYMOD=(--pkcs11-module "$SPY_MODULE")
	if [ -n "${TK_INIT:-}" ]; then
		TK_MOD+=(--pkcs11-module-init "$TK_INIT")
		TK_SPYMOD+=(--pkcs11-module-init "$TK_INIT")
	fi
}

case_list_tokens() {
	begin "list-tokens: the initialised token, with its URI"
	qsp11 list-tokens "${TK_MOD[@]}"
	assert_rc 0
	assert_contains "$OUT" "token: $TK_LABEL"
	assert_contains "$OUT" "flags: token-initialized, login-required, user-pin-initialized, rng"
	assert_contains "$OUT" ";token=$TK_TOKEN?module-path="
}

# case_cert_create: --cert-create of key 'jwt' (default size); the run's
# stderr stays in $ERR for the caller's own checks until the next run.
case_cert_create() {
	begin "--cert-create on the token: RSA-$TK_BITS, files, certificate and JWT verify"
	qs "${CLAIMS[@]}" "${TK_MOD[@]}" --pkcs11-uri "pkcs11:token=$TK_TOKEN;object=jwt" \
		--pkcs11-pin-file "$TK_PINF" --cert-create --cert-create-expires-days 30 \
		--cert-file-prefix "$TK_KEYDIR/" --loglevel verbose
	assert_ok_token
	assert_log INFO "generating an RSA-$TK_BITS key pair on token '$TK_LABEL' ..."
	assert_log INFO "wrote '$TK_KEYDIR/publickey.pem' and '$TK_KEYDIR/publickey.cer'; the private key stays on the token"
	assert_dir_listing "$TK_KEYDIR" "publickey.cer publickey.pem"
	verify_jwt "$TOKEN" "$TK_KEYDIR/publickey.pem"
	assert_eq "$(cat "$TK_KEYDIR/publickey.pem")" "$(pub_of_cert "$TK_KEYDIR/publickey.cer")" \
		"the certificate's public key"
	assert_eq "$TK_KEYDIR/publickey.cer: OK" \
		"$(openssl verify -CAfile "$TK_KEYDIR/publickey.cer" "$TK_KEYDIR/publickey.cer" 2>&1)" \
		"openssl verify of the certificate"
	assert_contains <(openssl x509 -in "$TK_KEYDIR/publickey.cer" -noout -text) \
		"Public-Key: ($TK_BITS bit)"
}

case_key_attributes() {
	local priv
	begin "the new private key, read by pkcs11-tool: sign only, sensitive, never extractable"
	priv=$(pkcs11-tool --module "$TK_TOOL_MODULE" --token-label "$TK_LABEL" --login --pin "$TK_PIN" \
		--list-objects --type privkey 2>/dev/null)
	assert_contains <(printf '%s\n' "$priv") "label:      jwt"
	assert_eq "  Usage:      sign" "$(printf '%s\n' "$priv" | grep 'Usage:')" "private key usage"
	# CKA_SENSITIVE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE (and CKA_LOCAL
	# where the module sets it)
	assert_eq "  Access:     sensitive, always sensitive, never extractable${TK_LOCAL-, local}" \
		"$(printf '%s\n' "$priv" | grep 'Access:')" "private key access flags"
	assert_eq 1 "$(printf '%s\n' "$priv" | grep -c '^Private Key Object')" "private keys on the token"
	assert_eq 1 "$($TK_OBJECTS | grep -c '^Certificate Object')" "certificates on the token"
}

case_list_keys() {
	begin "list-keys: the new key, with a URI that names it"
	qsp11 list-keys "${TK_MOD[@]}" --pkcs11-uri "pkcs11:token=$TK_TOKEN" \
		--pkcs11-pin-file "$TK_PINF"
	assert_rc 0
	assert_contains "$OUT" "key: jwt"
	assert_contains "$OUT" ";object=jwt;type=private?module-path="
}

# case_sign MECHANISM_LINE: sign with the key; openssl verifies; the
# verbose log says which mechanism signed (MECHANISM_LINE, exactly once).
case_sign() {
	begin "sign with the key on the token: openssl verifies; the log says which mechanism signed"
	qs "${CLAIMS[@]}" "${TK_MOD[@]}" --pkcs11-uri "pkcs11:token=$TK_TOKEN;object=jwt" \
		--pkcs11-pin-file "$TK_PINF" --loglevel verbose
	assert_ok_token
	verify_jwt "$TOKEN" "$TK_KEYDIR/publickey.pem"
	TK_SIGNED=$TOKEN
	assert_log VERBOSE "$1"
	assert_eq 1 "$(grep -c "signs RS256 with" "$ERR")" "lines that say which mechanism signed"

	begin "--alg RS512 on the token"
	qs "${CLAIMS[@]}" "${TK_MOD[@]}" --pkcs11-uri "pkcs11:token=$TK_TOKEN;object=jwt" \
		--pkcs11-pin-file "$TK_PINF" --alg RS512
	assert_ok_token
	verify_jwt "$TOKEN" "$TK_KEYDIR/publickey.pem" RS512
}

case_decode() {
	begin "decode verifies with the token's public key (no PIN)"
	printf '%s\n' "$TK_SIGNED" >"$T_TMP/signed.jwt"
	run "$QSJWT_BIN" decode --jwt-file "$T_TMP/signed.jwt" "${TK_MOD[@]}" \
		--pkcs11-uri "pkcs11:token=$TK_TOKEN;object=jwt" --minimal-output
	assert_rc 0
	assert_eq valid "$(json_get "$OUT" 'd["verification"]["status"]')" "verification status"
	assert_contains "$OUT" "RS256 signature verified with the key (RSA $TK_BITS bits)"

	begin "decode of a token signed by another key: exit 3"
	run "$QSJWT_BIN" decode --jwt-file "$VEC/all-claims.jwt" "${TK_MOD[@]}" \
		--pkcs11-uri "pkcs11:token=$TK_TOKEN;object=jwt" --minimal-output
	assert_rc 3
	assert_eq invalid "$(json_get "$OUT" 'd["verification"]["status"]')" "verification status"
}

case_batch() {
	local users=$T_TMP/users.jsonl i n line tok
	begin "batch, --jobs 2 (a session each): every token verifies"
	for i in 1 2 3 4 5 6 7 8; do
		printf '{"userid":"u%d","userdir":"ACME","username":"User %d","useremail":"u%d@example.com"}\n' \
			"$i" "$i" "$i"
	done >"$users"
	qs --batch "$users" --jobs 2 --expires 10m --audience qlik-aud "${TK_MOD[@]}" \
		--pkcs11-uri "pkcs11:token=$TK_TOKEN;object=jwt" --pkcs11-pin-file "$TK_PINF"
	assert_rc 0
	assert_eq 8 "$(wc -l <"$OUT")" "output lines"
	assert_log INFO "batch: 8 tokens issued, 0 lines failed"
	n=0
	while IFS= read -r line; do
		tok=$(printf '%s' "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
		jwt_verifies "$tok" "$TK_KEYDIR/publickey.pem" RS256 && n=$((n + 1))
	done <"$OUT"
	assert_eq 8 "$n" "batch tokens verified by openssl"
}

# case_batch_default LINE: --batch with the default --jobs. LINE is the
# verbose line the token's ulMaxSessionCount gives, or "" for a token that
# reports no limit (the CPU count is used).
case_batch_default() {
	local users=$T_TMP/users.jsonl
	begin "batch, default --jobs: ${1:-no session limit reported}, no CKR_SESSION_COUNT, every line issued"
	qs --batch "$users" --expires 10m --audience qlik-aud "${TK_MOD[@]}" \
		--pkcs11-uri "pkcs11:token=$TK_TOKEN;object=jwt" --pkcs11-pin-file "$TK_PINF" \
		--loglevel verbose
	assert_rc 0
	assert_eq 8 "$(wc -l <"$OUT")" "output lines"
	assert_log INFO "batch: 8 tokens issued, 0 lines failed"
	if [ -n "$1" ]; then
		assert_log VERBOSE "$1"
	else
		assert_not_contains "$ERR" "more session"
	fi
	assert_not_contains "$ERR" "CKR_SESSION_COUNT"
}

case_wrong_pin() {
	local bad=$T_TMP/bad.pin
	begin "wrong PIN through pkcs11-spy: exit 5, exactly one C_Login, nothing on stdout"
	(umask 077 && echo 1357bad >"$bad")
	RUN_ENV=("${TK_SPY_ENV[@]}")
	SPY_TARGET=$TK_MODULE spy "$T_TMP/spy.log" qs "${CLAIMS[@]}" "${TK_SPYMOD[@]}" \
		--pkcs11-uri "pkcs11:token=$TK_TOKEN;object=jwt" --pkcs11-pin-file "$bad"
	assert_fails 5 "wrong PIN for token '$TK_LABEL'. It was tried once and is not retried"
	assert_spy_count "$T_TMP/spy.log" C_Login 1
	assert_nowhere 1357bad "$OUT" "$ERR"

	begin "the right PIN still works after one wrong try"
	qs "${CLAIMS[@]}" "${TK_MOD[@]}" --pkcs11-uri "pkcs11:token=$TK_TOKEN;object=jwt" \
		--pkcs11-pin-file "$TK_PINF"
	assert_ok_token
	verify_jwt "$TOKEN" "$TK_KEYDIR/publickey.pem"
}

case_duplicate_and_sigint() {
	local after bg_err=$T_TMP/bg.err bg_pid
	begin "--cert-create for a label already on the token: exit 1, nothing made"
	after=$($TK_OBJECTS)
	mkdir -p "$T_TMP/dup"
	qs "${CLAIMS[@]}" "${TK_MOD[@]}" --pkcs11-uri "pkcs11:token=$TK_TOKEN;object=jwt" \
		--pkcs11-pin-file "$TK_PINF" --cert-create --cert-create-expires-days 30 \
		--cert-file-prefix "$T_TMP/dup/"
	assert_fails 1 "token '$TK_LABEL' already holds an object labelled 'jwt'; nothing was created"
	assert_same_text "$after" "$($TK_OBJECTS)" "objects on the token"
	assert_dir_listing "$T_TMP/dup" ""

	begin "SIGINT during generation: dies of SIGINT, no new objects, no files"
	mkdir -p "$T_TMP/int"
	: >"$bg_err"
	"$QSJWT_BIN" create-qseow "${CLAIMS[@]}" "${TK_MOD[@]}" \
		--pkcs11-uri "pkcs11:token=$TK_TOKEN;object=int-key" --pkcs11-pin-file "$TK_PINF" \
		--cert-create --cert-create-expires-days 30 --cert-file-prefix "$T_TMP/int/" \
		>"$T_TMP/bg.out" 2>"$bg_err" </dev/null &
	bg_pid=$!
	if wait_for_file_text "$bg_err" "generating an RSA-$TK_BITS key pair on token '$TK_LABEL'" 30; then
		kill -INT "$bg_pid"
		wait "$bg_pid"
		RC=$?
		cp "$T_TMP/bg.out" "$OUT"
		cp "$bg_err" "$ERR"
		assert_fails 130 "interrupted; nothing was written or kept"
		assert_same_text "$after" "$($TK_OBJECTS)" "objects on the token"
		assert_dir_listing "$T_TMP/int" ""
	else
		fail "no 'generating an RSA-$TK_BITS' line within 30 s: $(cat "$bg_err")"
		kill -9 "$bg_pid" 2>/dev/null
		wait "$bg_pid" 2>/dev/null
	fi
}

# tk_objects: every object on the token, one line each, sorted, seen by
# pkcs11-tool (an independent client) after a login.
tk_objects() {
	pkcs11-tool --module "$TK_TOOL_MODULE" --token-label "$TK_LABEL" --login --pin "$TK_PIN" \
		--list-objects 2>/dev/null | grep -E '^(Private Key|Public Key|Certificate|Data) Object|label:|ID:' |
		sed 's/^[[:space:]]*//' | paste - - - | LC_ALL=C sort
}

# case_create_cert_existing: pkcs11 create-cert for a key pkcs11-tool made
# on the token (RSA-2048, id 77), stored beside it with --store-on-token.
case_create_cert_existing() {
	local d=$T_TMP/existing certs
	begin "create-cert for a key made by pkcs11-tool: verified certificate, files, stored with the key's id and label"
	if ! pkcs11-tool --module "$TK_TOOL_MODULE" --token-label "$TK_LABEL" --login --pin "$TK_PIN" \
		--keypairgen --key-type rsa:2048 --label pre --id 77 --usage-sign >"$T_TMP/keygen.log" 2>&1; then
		fail "pkcs11-tool cannot make a key on the token: $(tail -n 3 "$T_TMP/keygen.log")"
		return
	fi
	pkcs11-tool --module "$TK_TOOL_MODULE" --token-label "$TK_LABEL" --read-object --type pubkey --id 77 \
		-o "$T_TMP/pre.der" >/dev/null 2>&1 &&
		openssl pkey -pubin -inform DER -in "$T_TMP/pre.der" -out "$T_TMP/pre.pem" 2>/dev/null ||
		fail "cannot read the new public key with pkcs11-tool"
	mkdir -p "$d"
	qsp11 create-cert "${TK_MOD[@]}" --pkcs11-uri "pkcs11:token=$TK_TOKEN;object=pre" \
		--pkcs11-pin-file "$TK_PINF" --cert-create-expires-days 30 --cert-file-prefix "$d/" --store-on-token
	assert_rc 0
	assert_empty_stdout
	assert_dir_listing "$d" "publickey.cer publickey.pem"
	assert_eq "$d/publickey.cer: OK" "$(openssl verify -CAfile "$d/publickey.cer" "$d/publickey.cer" 2>&1)" \
		"openssl verify of the certificate"
	assert_file_eq "$T_TMP/pre.pem" "$d/publickey.pem"
	assert_eq "$(cat "$T_TMP/pre.pem")" "$(pub_of_cert "$d/publickey.cer")" "the certificate's key"
	# label and id of each certificate on the token
	certs=$(pkcs11-tool --module "$TK_TOOL_MODULE" --token-label "$TK_LABEL" --login --pin "$TK_PIN" \
		--list-objects --type cert 2>/dev/null |
		awk '/^Certificate Object/ { l = "" } /^  label:/ { l = $2 } /^  ID:/ { print l " " $2 }' |
		grep '^pre ')
	assert_eq "pre 77" "$certs" "label and id of the certificate stored for key 'pre'"

	begin "a JWT signed by that key verifies against the new certificate"
	qs "${CLAIMS[@]}" "${TK_MOD[@]}" --pkcs11-uri "pkcs11:token=$TK_TOKEN;object=pre" \
		--pkcs11-pin-file "$TK_PINF"
	assert_ok_token
	verify_jwt "$TOKEN" "$(pub_of_cert "$d/publickey.cer" >"$T_TMP/pre-cert.pem" && echo "$T_TMP/pre-cert.pem")"
}
