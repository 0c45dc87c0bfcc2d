#!/usr/bin/env bash
# --cert-create: the three files, their contents and modes, the certificate,
# refusal to overwrite, --force, and all-or-nothing writing (also when
# interrupted or when a file appears half way).
. "$(dirname "$0")/lib.sh"

FILES="publickey.pem privatekey.pem publickey.cer"
CC=(--cert-create true --cert-create-expires-days 30 --cert-create-key-bits 2048)

newdir() { mktemp -d "$T_TMP/cc.XXXXXX"; }

# check_set DIR PREFIX DAYS BITS [ALG]: the three files PREFIX* in DIR form a
# consistent, well-formed set; the token in $TOKEN verifies with the
# certificate. With PINNED=1 the validity starts at the pinned clock.
check_set() {
	local d=$1 p=$2 days=$3 bits=$4 alg=${5:-RS256} pub priv cer text nb na f
	pub=$d/${p}publickey.pem
	priv=$d/${p}privatekey.pem
	cer=$d/${p}publickey.cer
	assert_exists "$pub" && assert_exists "$priv" && assert_exists "$cer" || return 1
	assert_mode "$pub" 644
	assert_mode "$priv" 600
	assert_mode "$cer" 644
	assert_true test -f "$priv" -a ! -L "$priv"
	assert_eq "-----BEGIN PUBLIC KEY-----" "$(head -1 "$pub")" "first line of publickey.pem"
	assert_eq "-----END PUBLIC KEY-----" "$(tail -1 "$pub")" "last line of publickey.pem"
	assert_eq "-----BEGIN RSA PRIVATE KEY-----" "$(head -1 "$priv")" "first line of privatekey.pem"
	assert_eq "-----END RSA PRIVATE KEY-----" "$(tail -1 "$priv")" "last line of privatekey.pem"
	assert_eq "-----BEGIN CERTIFICATE-----" "$(head -1 "$cer")" "first line of publickey.cer"
	assert_eq "-----END CERTIFICATE-----" "$(tail -1 "$cer")" "last line of publickey.cer"
	for f in "$pub" "$priv" "$cer"; do
		assert_eq 0 "$(tr -cd '\r' <"$f" | wc -c)" "CR bytes in $(basename "$f") (LF line endings)"
		assert_eq '\n' "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" "last byte of $(basename "$f")"
	done
	# Keys: RSA of BITS bits, e = 65537, consistent everywhere.
	assert_true openssl rsa -in "$priv" -check -noout >/dev/null 2>&1
	text=$(openssl rsa -in "$priv" -noout -text 2>/dev/null)
	case $text in
	*"Private-Key: ($bits bit, 2 primes)"*) ;;
	*) fail "privatekey.pem is not a $bits-bit two-prime RSA key: $(printf '%s' "$text" | head -1)" ;;
	esac
	case $text in
	*"publicExponent: 65537 (0x10001)"*) ;;
	*) fail "public exponent of privatekey.pem is not 65537" ;;
	esac
	openssl pkey -in "$priv" -pubout >"$T_TMP/derived.pub" 2>/dev/null
	pub_of_cert "$cer" >"$T_TMP/cert.pub"
	assert_file_eq "$pub" "$T_TMP/derived.pub"
	assert_file_eq "$pub" "$T_TMP/cert.pub"
	# The certificate.
	text=$(openssl x509 -in "$cer" -noout -text 2>&1)
	local want
	for want in "Version: 3 (0x2)" "Issuer: CN = qs-jwt" "Subject: CN = qs-jwt" \
		"Public-Key: ($bits bit)" "Exponent: 65537 (0x10001)" \
		"X509v3 Basic Constraints: critical" "X509v3 Key Usage: critical" \
		"X509v3 Subject Key Identifier:"; do
		case $text in
		*"$want"*) ;;
		*) fail "certificate text lacks '$want'" ;;
		esac
	done
	assert_eq 2 "$(printf '%s\n' "$text" | grep -c 'Signature Algorithm: sha256WithRSAEncryption')" \
		"sha256WithRSAEncryption (inner and outer algorithm)"
	assert_eq "CA:FALSE" "$(printf '%s\n' "$text" | grep -A1 'Basic Constraints: critical' | tail -1 | tr -d ' ')" "basic constraints"
	assert_eq "Digital Signature" "$(printf '%s\n' "$text" | grep -A1 'Key Usage: critical' | tail -1 | sed 's/^ *//')" "key usage"
	# SKI = SHA-1 of the RSAPublicKey (RFC 5280 4.2.1.2, method 1).
	local ski want_ski
	ski=$(printf '%s\n' "$text" | grep -A1 'Subject Key Identifier' | tail -1 | tr -d ' :' | tr A-F a-f)
	want_ski=$(openssl rsa -pubin -in "$pub" -RSAPublicKey_out -outform DER 2>/dev/null | openssl dgst -sha1 -r | cut -d' ' -f1)
	assert_eq "$want_ski" "$ski" "subject key identifier"
	local serial
	serial=$(openssl x509 -in "$cer" -noout -serial | sed 's/^serial=//')
	assert_ne 01 "$serial" "serial"
	assert_true test "${#serial}" -ge 2
	SERIAL=$serial
	# Validity: DAYS days.
	nb=$(date -u -d "$(openssl x509 -in "$cer" -noout -startdate | sed 's/^notBefore=//')" +%s)
	na=$(date -u -d "$(openssl x509 -in "$cer" -noout -enddate | sed 's/^notAfter=//')" +%s)
	assert_eq $((days * 86400)) $((na - nb)) "notAfter - notBefore in seconds"
	# Checked at its notBefore: a certificate made under a pinned clock is
	# not valid yet today.
	if ! openssl verify -check_ss_sig -attime "$nb" -CAfile "$cer" "$cer" >"$T_TMP/verify.out" 2>&1; then
		fail "openssl verify -check_ss_sig: $(cat "$T_TMP/verify.out")"
	fi
	assert_eq "$cer: OK" "$(cat "$T_TMP/verify.out")" "openssl verify"
	NOT_BEFORE=$nb
	# The token verifies with the certificate's key.
	[ -n "${TOKEN:-}" ] && verify_jwt "$TOKEN" "$T_TMP/cert.pub" "$alg"
	return 0
}

# ---- the files -------------------------------------------------------------------------------

begin "--cert-create true: three files, token signed with the new key (pinned clock)"
D=$(newdir)
mkdir "$D/out"
at "$D" qs_pinned "${CLAIMS[@]}" "${CC[@]}" --cert-file-prefix out/qlik_
assert_ok_token && {
	assert_payload "$CLAIMS_PAYLOAD"
	assert_dir_listing "$D/out" "qlik_publickey.pem qlik_privatekey.pem qlik_publickey.cer"
	assert_dir_listing "$D" "out"
	check_set "$D/out" qlik_ 30 2048
	assert_eq "$PINNED_IAT" "$NOT_BEFORE" "notBefore = iat"
	assert_log INFO "'out/qlik_publickey.pem'" "'out/qlik_privatekey.pem'" "'out/qlik_publickey.cer'"
	assert_log INFO "2030-01-01T00:00:00Z" "2030-01-31T00:00:00Z"
	fp=$(openssl x509 -in "$D/out/qlik_publickey.cer" -noout -fingerprint -sha256 | sed 's/^.*=//')
	assert_log INFO "$fp"
	assert_stderr_all_log_lines
}
SERIAL1=${SERIAL:-}

begin "bare --cert-create, no prefix: files in the working directory"
D=$(newdir)
at "$D" qs "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 --cert-create-key-bits 2048
assert_ok_token && {
	assert_dir_listing "$D" "$FILES"
	check_set "$D" "" 1 2048
	now=$(date +%s)
	assert_true test $((now - NOT_BEFORE)) -ge 0 -a $((now - NOT_BEFORE)) -lt 120
	assert_ne "$SERIAL1" "$SERIAL" "serial of a second certificate"
}

begin "--cert-create=true with an absolute prefix"
D=$(newdir)
qs "${CLAIMS[@]}" --cert-create=true --cert-create-expires-days 7 --cert-create-key-bits 2048 \
	--cert-file-prefix "$D/abs-"
assert_ok_token && {
	assert_dir_listing "$D" "abs-publickey.pem abs-privatekey.pem abs-publickey.cer"
	check_set "$D" abs- 7 2048
}

begin "prefix that is a directory with a trailing slash"
D=$(newdir)
mkdir "$D/sub"
qs "${CLAIMS[@]}" "${CC[@]}" --cert-file-prefix "$D/sub/"
assert_ok_token && {
	assert_dir_listing "$D/sub" "$FILES"
	check_set "$D/sub" "" 30 2048
}

begin "--cert-create-key-bits 3072"
D=$(newdir)
at "$D" qs "${CLAIMS[@]}" --cert-create --cert-create-expires-days 2 --cert-create-key-bits 3072 \
	--alg RS512
assert_ok_token && {
	check_set "$D" "" 2 3072 RS512
	assert_eq 384 "$(b64url_decode "${TOKEN##*.}" | wc -c)" "RS512 signature length with RSA-3072"
}

begin "--cert-create-expires-days 36500 (the maximum), pinned clock"
D=$(newdir)
at "$D" qs_pinned "${CLAIMS[@]}" --cert-create --cert-create-expires-days 36500 --cert-create-key-bits 2048
assert_ok_token && {
	check_set "$D" "" 36500 2048
	assert_eq "$PINNED_IAT" "$NOT_BEFORE" "notBefore = iat"
}

# ---- bad option values ----------------------------------------------------------------------

for bad in 0 36501 1.5 abc -1 "" " 5" "5 " +5 1e3 99999999999999999999; do
	begin "--cert-create-expires-days '$bad': usage error"
	D=$(newdir)
	at "$D" qs "${CLAIMS[@]}" --cert-create --cert-create-expires-days "$bad" --cert-create-key-bits 2048
	assert_usage_error "--cert-create-expires-days" "'$bad'"
	assert_dir_listing "$D" ""
done

for bad in 1024 2047 2049 4097 8192 512 0 abc "" 2048.0 -2048 "2048 "; do
	begin "--cert-create-key-bits '$bad': usage error"
	D=$(newdir)
	at "$D" qs "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 --cert-create-key-bits "$bad"
	assert_usage_error "--cert-create-key-bits" "'$bad'"
	assert_dir_listing "$D" ""
done

for bad in yes no 1 0 TRUE True; do
	begin "--cert-create '$bad': usage error"
	D=$(newdir)
	at "$D" qs "${CLAIMS[@]}" --cert-create "$bad" --cert-create-expires-days 1
	assert_usage_error "--cert-create " "'$bad'"
done

begin "--cert-create without --cert-create-expires-days: usage error"
D=$(newdir)
at "$D" qs "${CLAIMS[@]}" --cert-create --cert-create-key-bits 2048
assert_usage_error "--cert-create-expires-days"
assert_dir_listing "$D" ""

begin "--cert-create with a bad claim: usage error, no files"
D=$(newdir)
at "$D" qs "${CLAIMS[@]}" "${CC[@]}" --expires nonsense
assert_usage_error "--expires" "nonsense"
assert_dir_listing "$D" ""

begin "--force=yes: usage error"
D=$(newdir)
at "$D" qs "${CLAIMS[@]}" "${CC[@]}" --force=yes
assert_usage_error "--force" "takes no value"

# ---- refusing to overwrite, --force -----------------------------------------------------------

for f in $FILES; do
	begin "refuses to overwrite an existing x_$f: exit 1, nothing changed or added"
	D=$(newdir)
	printf 'existing %s\n' "$f" >"$D/x_$f"
	chmod 640 "$D/x_$f"
	cp -p "$D/x_$f" "$T_TMP/saved"
	at "$D" qs "${CLAIMS[@]}" "${CC[@]}" --cert-file-prefix x_
	assert_runtime_error "'x_$f'" "exists" "--force"
	assert_dir_listing "$D" "x_$f"
	assert_file_eq "$T_TMP/saved" "$D/x_$f"
	assert_mode "$D/x_$f" 640
	assert_not_contains "$ERR" "generating"
done

begin "refuses when all three exist: all unchanged"
D=$(newdir)
for f in $FILES; do printf 'old %s\n' "$f" >"$D/$f"; done
at "$D" qs "${CLAIMS[@]}" "${CC[@]}"
assert_runtime_error "exists"
assert_dir_listing "$D" "$FILES"
for f in $FILES; do assert_eq "old $f" "$(cat "$D/$f")" "content of $f"; done

begin "refuses a dangling symlink in place of privatekey.pem"
D=$(newdir)
ln -s "$D/victim" "$D/privatekey.pem"
at "$D" qs "${CLAIMS[@]}" "${CC[@]}"
assert_runtime_error "'privatekey.pem'" "exists"
assert_dir_listing "$D" "privatekey.pem"
assert_not_exists "$D/victim"

begin "--force replaces all three existing files (privatekey.pem back to 0600)"
D=$(newdir)
for f in $FILES; do printf 'old %s\n' "$f" >"$D/$f"; chmod 666 "$D/$f"; done
at "$D" qs "${CLAIMS[@]}" "${CC[@]}" --force
assert_ok_token && {
	assert_dir_listing "$D" "$FILES"
	check_set "$D" "" 30 2048
}

begin "--force with only one existing file"
D=$(newdir)
printf 'old\n' >"$D/p_publickey.cer"
at "$D" qs "${CLAIMS[@]}" "${CC[@]}" --force --cert-file-prefix p_
assert_ok_token && {
	assert_dir_listing "$D" "p_publickey.pem p_privatekey.pem p_publickey.cer"
	check_set "$D" p_ 30 2048
}

begin "--force replaces a symlink, never writes through it"
D=$(newdir)
printf 'victim\n' >"$D/victim"
ln -s "$D/victim" "$D/privatekey.pem"
at "$D" qs "${CLAIMS[@]}" "${CC[@]}" --force
assert_ok_token && {
	assert_eq victim "$(cat "$D/victim")" "content of the symlink's target"
	assert_true test -f "$D/privatekey.pem" -a ! -L "$D/privatekey.pem"
	assert_dir_listing "$D" "$FILES victim"
	check_set "$D" "" 30 2048
}

# ---- cannot write: nothing is created ----------------------------------------------------------

begin "prefix directory missing: exit 1 naming it, nothing created"
D=$(newdir)
at "$D" qs "${CLAIMS[@]}" "${CC[@]}" --cert-file-prefix nodir/x_
assert_runtime_error "'nodir'" "No such file or directory"
assert_dir_listing "$D" ""
assert_not_contains "$ERR" "generating"

begin "prefix directory missing (absolute, nested): exit 1, nothing created"
D=$(newdir)
qs "${CLAIMS[@]}" "${CC[@]}" --cert-file-prefix "$D/a/b/x_"
assert_runtime_error "'$D/a/b'" "No such file or directory"
assert_dir_listing "$D" ""

begin "prefix directory is a file: exit 1, nothing created"
D=$(newdir)
printf 'file\n' >"$D/notadir"
at "$D" qs "${CLAIMS[@]}" "${CC[@]}" --cert-file-prefix notadir/x_
assert_runtime_error "'notadir'" "not a directory"
assert_dir_listing "$D" "notadir"

for f in $FILES; do
	for force in "" --force; do
		begin "a directory named x_$f ${force:-(no --force)}: refused before generating, nothing created"
		D=$(newdir)
		mkdir "$D/x_$f"
		touch "$D/x_$f/inside"
		at "$D" qs "${CLAIMS[@]}" "${CC[@]}" --cert-file-prefix x_ $force
		assert_runtime_error "'x_$f'" "directory"
		assert_dir_listing "$D" "x_$f"
		assert_dir_listing "$D/x_$f" "inside"
		assert_not_contains "$ERR" "generating"
	done
done

begin "read-only directory: exit 1, nothing written"
if [ "$(id -u)" = 0 ]; then
	echo "  (running as root: directory permissions do not apply; covered by the cases above and below)"
else
	D=$(newdir)
	mkdir "$D/ro"
	chmod 555 "$D/ro"
	qs "${CLAIMS[@]}" "${CC[@]}" --cert-file-prefix "$D/ro/x_"
	assert_runtime_error "Permission denied"
	assert_dir_listing "$D/ro" ""
	chmod 755 "$D/ro"
fi

begin "--cert-file-prefix out with a directory out/: files 'out*' as the original, a warning"
D=$(newdir)
mkdir "$D/out"
at "$D" qs "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 --cert-create-key-bits 2048 \
	--cert-file-prefix out
assert_ok_token
assert_log WARN "--cert-file-prefix 'out' is a prefix" "did you mean 'out/'?"
assert_dir_listing "$D" "out outprivatekey.pem outpublickey.cer outpublickey.pem"
assert_dir_listing "$D/out" ""

begin "--cert-file-prefix out/ : no warning"
D=$(newdir)
mkdir "$D/out"
at "$D" qs "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 --cert-create-key-bits 2048 \
	--cert-file-prefix out/
assert_ok_token
assert_no_log_level WARN
assert_dir_listing "$D/out" "privatekey.pem publickey.cer publickey.pem"

# ---- half way: a file appears, a signal comes ------------------------------------------------------

# start_bg DIR ARGS...: qs-jwt create-qseow ARGS in DIR in the background; PID.
start_bg() {
	local d=$1
	shift
	(cd "$d" && exec "$QSJWT_BIN" create-qseow "$@") >"$OUT" 2>"$ERR" </dev/null &
	PID=$!
}

proc_state() { sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null; }

# stop_early DIR PREFIX PAUSE: wait until the three temporaries
# PREFIX*.tmp-XXXXXX exist (the signal handlers are in place by then), sleep
# PAUSE, SIGSTOP the process, and succeed if it is stopped with its three
# temporaries still empty (nothing written yet, so nothing committed).
stop_early() {
	local d=$1 p=$2 pause=$3 i s n f
	for i in $(seq 1 3000); do
		n=$(find "$d" -maxdepth 1 -name "$p*.tmp-??????" | wc -l)
		[ "$n" = 3 ] && break
		kill -0 "$PID" 2>/dev/null || return 1
		sleep 0.01
	done
	[ "$n" = 3 ] || return 1
	sleep "$pause"
	kill -STOP "$PID" 2>/dev/null || return 1
	for i in $(seq 1 500); do
		s=$(proc_state "$PID")
		[ "$s" = T ] || [ "$s" = t ] || [ "$s" = Z ] || [ -z "$s" ] && break
		sleep 0.01
	done
	[ "$s" = T ] || [ "$s" = t ] || return 1
	for f in $FILES; do
		n=$(find "$d" -maxdepth 1 -name "$p$f.tmp-??????" -size 0 | wc -l)
		[ "$n" = 1 ] || return 1
	done
	return 0
}

# resume_and_wait: SIGCONT the stopped process and collect its exit code.
resume_and_wait() {
	kill -CONT "$PID" 2>/dev/null
	wait "$PID"
	RC=$?
}

# interrupt SIGNAL EXPECTED_RC [KEY-OPTIONS...]
interrupt() {
	local sig=$1 want=$2 attempt pause landed=0
	shift 2
	for attempt in 1 2 3 4 5; do
		case $attempt in 1) pause=0.3 ;; 2) pause=0.1 ;; *) pause=0 ;; esac
		D=$(newdir)
		start_bg "$D" "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 \
			"$@" --cert-file-prefix x_
		if stop_early "$D" x_ "$pause"; then
			kill "-$sig" "$PID"
			resume_and_wait
			landed=1
			break
		fi
		# Too late (the key was ready already): let it finish, try again.
		resume_and_wait
	done
	if [ $landed = 0 ]; then
		fail "could not stop qs-jwt before it wrote its files, in 5 attempts"
		return
	fi
	assert_rc "$want"
	assert_empty_stdout
	assert_dir_listing "$D" ""
	assert_log INFO "4096"
	assert_log ERROR "interrupted"
}

begin "SIGINT during key generation: dies by SIGINT (130), no files, no temporaries"
interrupt INT 130 --cert-create-key-bits 4096

# Without --cert-create-key-bits: the default is 4096 bits (the log line says so).
begin "SIGTERM during key generation (default size): dies by SIGTERM (143), no files, no temporaries"
interrupt TERM 143

# Whatever signal ends the run (SIGHUP: a dropped SSH session; SIGQUIT:
# Ctrl-\): 128+N, no files, no temporaries.
for sig in INT:130 TERM:143 HUP:129 QUIT:131; do
	begin "SIG${sig%:*} during key generation: exit ${sig#*:}, no files, no temporaries"
	interrupt "${sig%:*}" "${sig#*:}" --cert-create-key-bits 4096
done

begin "SIGINT with --force and existing files: old files untouched"
D=$(newdir)
landed=0
for attempt in 1 2 3 4 5; do
	for f in $FILES; do printf 'old %s\n' "$f" >"$D/$f"; done
	start_bg "$D" "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 \
		--cert-create-key-bits 4096 --force
	if stop_early "$D" "" 0.3 && [ "$(cat "$D/publickey.pem")" = "old publickey.pem" ]; then
		kill -INT "$PID"
		resume_and_wait
		landed=1
		break
	fi
	resume_and_wait
done
if [ $landed = 1 ]; then
	assert_rc 130
	assert_empty_stdout
	assert_dir_listing "$D" "$FILES"
	for f in $FILES; do assert_eq "old $f" "$(cat "$D/$f")" "content of $f"; done
else
	fail "could not stop qs-jwt before it wrote its files, in 5 attempts"
fi

# A file that appears between the checks and the commit is never
# overwritten, and the files of the new set already placed are taken back.
for f in $FILES; do
	begin "x_$f appears during generation: exit 1, nothing of the new set left, intruder intact"
	landed=0
	for attempt in 1 2 3 4 5; do
		D=$(newdir)
		start_bg "$D" "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 \
			--cert-create-key-bits 2048 --cert-file-prefix x_
		if stop_early "$D" x_ 0; then
			printf 'intruder\n' >"$D/x_$f"
			resume_and_wait
			landed=1
			break
		fi
		resume_and_wait
	done
	if [ $landed = 1 ]; then
		assert_runtime_error "'x_$f'"
		assert_dir_listing "$D" "x_$f"
		assert_eq intruder "$(cat "$D/x_$f")" "content of the file that appeared"
	else
		fail "could not stop qs-jwt before it wrote its files, in 5 attempts"
	fi
done

begin "--force, a directory appears at publickey.cer during generation: exit 1, no new files left"
landed=0
for attempt in 1 2 3 4 5; do
	D=$(newdir)
	start_bg "$D" "${CLAIMS[@]}" --cert-create --cert-create-expires-days 1 \
		--cert-create-key-bits 2048 --cert-file-prefix x_ --force
	if stop_early "$D" x_ 0; then
		mkdir "$D/x_publickey.cer"
		resume_and_wait
		landed=1
		break
	fi
	resume_and_wait
done
if [ $landed = 1 ]; then
	assert_runtime_error "'x_publickey.cer'"
	assert_dir_listing "$D" "x_publickey.cer"
	assert_dir_listing "$D/x_publickey.cer" ""
else
	fail "could not stop qs-jwt before it wrote its files, in 5 attempts"
fi

finish
