#!/usr/bin/env bash
# qs-jwt decode --profile qseow|qscloud, --expected-issuer, --expected-keyid:
# every rule passing and failing on tokens built here and signed with the
# test key, in text and --json, exit 3 when any fails; a token shaped like
# the original create-qscloud's fails with each of its defects named.
. "$(dirname "$0")/lib.sh"

D=$T_TMP/profile
mkdir -p "$D"
PRIV=$VEC/privatekey.pem
PUB=$VEC/publickey.pem
AUD=qlik.api/login/jwt-session
QSC_HDR='{"alg":"RS256","typ":"JWT","kid":"my-key"}'
# A Qlik Cloud payload that passes every rule (iat = nbf = the pinned clock,
# exp one hour later).
qsc_payload() {
	local groups=${1-'"groups":["Sales","Finance"],'}
	printf '{"jti":"j-1","sub":"jdoe","subType":"user","name":"John Doe","email":"jdoe@example.com",%s"email_verified":true,"iat":1893456000,"nbf":1893456000,"exp":1893459600,"aud":"%s","iss":"my-issuer"}' \
		"$groups" "$AUD"
}
QSC_OK=$(make_jwt RS256 "$PRIV" "$QSC_HDR" "$(qsc_payload)")
ALL=$(cat "$VEC/all-claims.jwt")
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/ec.key" 2>/dev/null
openssl pkey -in "$D/ec.key" -pubout -out "$D/ec.pub"

# pcheck WIDTH NAME RESULT DETAIL: the text output has this check line (the
# name column is as wide as the longest check name).
pcheck() {
	assert_line "$OUT" "$(printf '  %-*s %-6s %s' "$1" "$2" "$3" "$4")"
}
QSC_W=22 # qscloud.email_verified
QSE_W=13 # qseow.userdir

# jcheck NAME RESULT DETAIL: the --json output's checks.NAME.
jcheck() {
	assert_field ".verification.checks.$1.result" "\"$2\""
	assert_field ".verification.checks.$1.detail" "$("$PY" -c 'import json,sys; print(json.dumps(sys.argv[1], ensure_ascii=False))' "$3")"
}

# qsc_dec TOKEN [ARGS]: decode --profile qscloud with the test key at the
# pinned clock.
qsc_dec() {
	local tok=$1
	shift
	dec_pinned --jwt "$tok" --cert-publickey-file "$PUB" --profile qscloud "$@"
}
qse_dec() {
	local tok=$1
	shift
	dec_pinned --jwt "$tok" --cert-publickey-file "$PUB" --profile qseow "$@"
}

QSC_PASS_LINES='Verification: valid
  signature              pass   RS256 signature verified with the key (RSA 2048 bits)
  exp                    pass   expires at 2030-01-01T01:00:00Z
  nbf                    pass   valid since 2030-01-01T00:00:00Z
  iat                    pass   issued at 2030-01-01T00:00:00Z
  qscloud.alg            pass   alg RS256 is accepted
  qscloud.kid            pass   '"'kid' is 'my-key'"'
  qscloud.sub            pass   '"'sub' is 'jdoe'"'
  qscloud.subType        pass   '"'subType' is 'user'"'
  qscloud.jti            pass   '"'jti' is 'j-1'"'
  qscloud.iat            pass   '"'iat' is a number"'
  qscloud.nbf            pass   '"'nbf' is a number"'
  qscloud.exp            pass   '"'exp' is a number"'
  qscloud.lifetime       pass   exp is 3600 s after nbf (at most 3600)
  qscloud.iss            pass   '"'iss' is 'my-issuer'"'
  qscloud.aud            pass   '"'aud' is 'qlik.api/login/jwt-session'"'
  qscloud.groups         pass   '"'groups' is an array of 2 strings"'
  qscloud.name           pass   '"'name' is a string"'
  qscloud.email          pass   '"'email' is a string"'
  qscloud.email_verified pass   '"'email_verified' is true"

# ---- qscloud: everything passes ----------------------------------------------------------

begin "qscloud: a token with every rule kept is valid (exit 0), every check listed in order"
qsc_dec "$QSC_OK" --expected-issuer my-issuer --expected-keyid my-key
assert_rc 0
assert_empty_stderr
sed -n '/^Verification:/,$p' "$OUT" >"$D/verif"
printf '%s\n' "$QSC_PASS_LINES" >"$D/want"
assert_file_eq "$D/want" "$D/verif"

begin "qscloud --json: status valid, every check pass, reason null"
qsc_dec "$QSC_OK" --json --expected-issuer my-issuer --expected-keyid my-key
assert_rc 0
assert_empty_stderr
if json_flatten "$OUT"; then
	assert_field .verification.status '"valid"'
	assert_field .verification.reason null
	assert_field '.verification.checks.{}' 'signature,exp,nbf,iat,qscloud.alg,qscloud.kid,qscloud.sub,qscloud.subType,qscloud.jti,qscloud.iat,qscloud.nbf,qscloud.exp,qscloud.lifetime,qscloud.iss,qscloud.aud,qscloud.groups,qscloud.name,qscloud.email,qscloud.email_verified'
	jcheck qscloud.lifetime pass "exp is 3600 s after nbf (at most 3600)"
	jcheck qscloud.groups pass "'groups' is an array of 2 strings"
	jcheck qscloud.email_verified pass "'email_verified' is true"
fi

begin "qscloud: a token from our create-qscloud passes the profile"
qsc_pinned --issuer my-issuer --keyid my-key --sub jdoe --username 'John Doe' \
	--useremail jdoe@example.com --useremail-verified false --groups G --expires 60m \
	--cert-privatekey-file "$PRIV"
assert_rc 0
TOKEN=$(cat "$OUT")
qsc_dec "$TOKEN" --expected-issuer my-issuer --expected-keyid my-key
assert_all_pass
pcheck $QSC_W qscloud.groups pass "'groups' is an array of 1 string"
pcheck $QSC_W qscloud.email_verified pass "'email_verified' is false"

# ---- qscloud: the original create-qscloud's token ------------------------------------------

# As the original made it: groups as "group", email_verified the string
# "true", a random sub, and --expires 2h.
ORIG_PL='{"jti":"Zm9v","sub":"cmFuZG9tLXN1Yi1vZi10aGUtb3JpZ2luYWw","subType":"user","name":"John Doe","email":"jdoe@example.com","group":["Sales","Finance"],"email_verified":"true","iat":1893456000,"nbf":1893456000,"exp":1893463200,"aud":"qlik.api/login/jwt-session","iss":"my-issuer"}'
ORIG=$(make_jwt RS256 "$PRIV" "$QSC_HDR" "$ORIG_PL")

begin "qscloud: the original's token fails, each defect named (text)"
qsc_dec "$ORIG"
assert_rc 3
assert_verdict INVALID
pcheck $QSC_W qscloud.lifetime fail "Qlik Cloud rejects a token whose exp is more than 3600 s after nbf (this one: 7200 s)"
pcheck $QSC_W qscloud.groups fail "the token has 'group', which Qlik Cloud ignores, and no 'groups': its groups are lost"
pcheck $QSC_W qscloud.email_verified fail "'email_verified' is a string, not a boolean"
pcheck $QSC_W signature pass "RS256 signature verified with the key (RSA 2048 bits)"
assert_eq 3 "$(grep -cE '^  [a-zA-Z_.]+ +fail ' "$OUT")" "failed checks"
assert_log ERROR "verification failed: Qlik Cloud rejects a token whose exp is more than 3600 s after nbf (this one: 7200 s)"
assert_eq 1 "$(wc -l <"$ERR")" "stderr lines"

begin "qscloud: the original's token fails, each defect named (--json)"
qsc_dec "$ORIG" --json
assert_rc 3
if json_flatten "$OUT"; then
	assert_field .verification.status '"invalid"'
	assert_field .verification.reason '"Qlik Cloud rejects a token whose exp is more than 3600 s after nbf (this one: 7200 s)"'
	jcheck qscloud.lifetime fail "Qlik Cloud rejects a token whose exp is more than 3600 s after nbf (this one: 7200 s)"
	jcheck qscloud.groups fail "the token has 'group', which Qlik Cloud ignores, and no 'groups': its groups are lost"
	jcheck qscloud.email_verified fail "'email_verified' is a string, not a boolean"
	jcheck qscloud.sub pass "'sub' is 'cmFuZG9tLXN1Yi1vZi10aGUtb3JpZ2luYWw'"
fi

# ---- qscloud: each rule failing ------------------------------------------------------------

# qsc_case NAME DETAIL HEADER PAYLOAD [ALG KEY [DECODE ARGS...]]: the token
# fails with check NAME and DETAIL, in text and in --json.
qsc_case() {
	local name=$1 detail=$2 hdr=$3 pl=$4 alg=${5:-RS256} key=${6:-$PRIV} tok
	shift 6 2>/dev/null || shift $#
	begin "qscloud: $name fails: $detail"
	tok=$(make_jwt "$alg" "$key" "$hdr" "$pl")
	qsc_dec "$tok" "$@"
	assert_rc 3
	assert_verdict INVALID
	pcheck $QSC_W "$name" fail "$detail"
	assert_log ERROR "verification failed: "
	qsc_dec "$tok" --json "$@"
	assert_rc 3
	if json_flatten "$OUT"; then
		assert_field .verification.status '"invalid"'
		jcheck "$name" fail "$detail"
	fi
}

P=$(qsc_payload)
# edit JSON KEY VALUE|-: the payload or header with KEY set to VALUE (JSON) or removed.
edit() {
	"$PY" -c '
import json, sys
d = json.loads(sys.argv[1])
if sys.argv[3] == "-":
    del d[sys.argv[2]]
else:
    d[sys.argv[2]] = json.loads(sys.argv[3])
print(json.dumps(d, separators=(",", ":"), ensure_ascii=False), end="")' "$1" "$2" "$3"
}

printf 'secret-for-hmac' >"$D/hmac"
qsc_case qscloud.alg "alg 'HS256' is not accepted; accepted: RS256, RS384, RS512, ES256, ES384, ES512" \
	'{"alg":"HS256","typ":"JWT","kid":"my-key"}' "$P" HS256 "$D/hmac"
qsc_case qscloud.kid "no 'kid' header parameter" '{"alg":"RS256","typ":"JWT"}' "$P"
qsc_case qscloud.kid "no 'kid' header parameter; expected 'my-key'" '{"alg":"RS256","typ":"JWT"}' "$P" \
	RS256 "$PRIV" --expected-keyid my-key
qsc_case qscloud.kid "'kid' is 'my-key', expected 'new-key'" "$QSC_HDR" "$P" RS256 "$PRIV" --expected-keyid new-key
qsc_case qscloud.kid "'kid' is a number, not a string" '{"alg":"RS256","typ":"JWT","kid":7}' "$P"
qsc_case qscloud.kid "'kid' is empty" '{"alg":"RS256","typ":"JWT","kid":""}' "$P"
qsc_case qscloud.sub "no 'sub' claim" "$QSC_HDR" "$(edit "$P" sub -)"
qsc_case qscloud.sub "'sub' is a number, not a string" "$QSC_HDR" "$(edit "$P" sub 42)"
qsc_case qscloud.subType "no 'subType' claim; expected 'user'" "$QSC_HDR" "$(edit "$P" subType -)"
qsc_case qscloud.subType "'subType' is 'client', expected 'user'" "$QSC_HDR" "$(edit "$P" subType '"client"')"
qsc_case qscloud.jti "no 'jti' claim" "$QSC_HDR" "$(edit "$P" jti -)"
qsc_case qscloud.jti "'jti' is a number, not a string" "$QSC_HDR" "$(edit "$P" jti 17111234567)"
qsc_case qscloud.iat "no 'iat' claim; Qlik Cloud requires it" "$QSC_HDR" "$(edit "$P" iat -)"
qsc_case qscloud.nbf "no 'nbf' claim; Qlik Cloud requires it" "$QSC_HDR" "$(edit "$P" nbf -)"
qsc_case qscloud.lifetime "exp - nbf cannot be computed without numbers for both" "$QSC_HDR" "$(edit "$P" nbf -)"
qsc_case qscloud.exp "no 'exp' claim; Qlik Cloud requires it" "$QSC_HDR" "$(edit "$P" exp -)"
qsc_case qscloud.exp "'exp' is a string, not a number" "$QSC_HDR" "$(edit "$P" exp '"1893459600"')"
qsc_case qscloud.lifetime "Qlik Cloud rejects a token whose exp is more than 3600 s after nbf (this one: 3601 s)" \
	"$QSC_HDR" "$(edit "$P" exp 1893459601)"
qsc_case qscloud.iss "no 'iss' claim" "$QSC_HDR" "$(edit "$P" iss -)"
qsc_case qscloud.iss "'iss' is 'my-issuer', expected 'tenant.eu.qlikcloud.com'" "$QSC_HDR" "$P" RS256 "$PRIV" \
	--expected-issuer tenant.eu.qlikcloud.com
qsc_case qscloud.aud "no 'aud' claim; expected 'qlik.api/login/jwt-session'" "$QSC_HDR" "$(edit "$P" aud -)"
qsc_case qscloud.aud "'aud' is 'qlik-aud', expected 'qlik.api/login/jwt-session'" "$QSC_HDR" "$(edit "$P" aud '"qlik-aud"')"
qsc_case qscloud.aud "'aud' is an array, not a string" "$QSC_HDR" "$(edit "$P" aud '["qlik.api/login/jwt-session"]')"
qsc_case qscloud.groups "'groups' is a string, not an array of strings" "$QSC_HDR" "$(edit "$P" groups '"Sales"')"
qsc_case qscloud.groups "'groups' item 1 is a number, not a string" "$QSC_HDR" "$(edit "$P" groups '["Sales",5]')"
qsc_case qscloud.name "'name' is an array, not a string" "$QSC_HDR" "$(edit "$P" name '["John"]')"
qsc_case qscloud.email "'email' is null, not a string" "$QSC_HDR" "$(edit "$P" email null)"
qsc_case qscloud.email_verified "'email_verified' is a number, not a boolean" "$QSC_HDR" "$(edit "$P" email_verified 1)"

begin "qscloud: exp exactly 3600 s after nbf passes; nbf later than iat counts from nbf"
tok=$(make_jwt RS256 "$PRIV" "$QSC_HDR" "$(edit "$(edit "$P" nbf 1893455000)" exp 1893458600)")
qsc_dec "$tok"
assert_all_pass
pcheck $QSC_W qscloud.lifetime pass "exp is 3600 s after nbf (at most 3600)"

begin "qscloud: no groups, name, email, email_verified: reported absent, still valid"
PL_MIN='{"jti":"j","sub":"s","subType":"user","iat":1893456000,"nbf":1893456000,"exp":1893456300,"aud":"qlik.api/login/jwt-session","iss":"i"}'
qsc_dec "$(make_jwt RS256 "$PRIV" "$QSC_HDR" "$PL_MIN")"
assert_all_pass
pcheck $QSC_W qscloud.groups absent "no 'groups' claim"
pcheck $QSC_W qscloud.name absent "no 'name' claim; Qlik's reference says a token should have one"
pcheck $QSC_W qscloud.email absent "no 'email' claim; Qlik's reference says a token should have one"
pcheck $QSC_W qscloud.email_verified absent "no 'email_verified' claim; Qlik's reference says a token should have one"
qsc_dec "$(make_jwt RS256 "$PRIV" "$QSC_HDR" "$PL_MIN")" --json
assert_rc 0
if json_flatten "$OUT"; then
	assert_field .verification.status '"valid"'
	jcheck qscloud.name absent "no 'name' claim; Qlik's reference says a token should have one"
fi

begin "qscloud: both group and groups: groups is checked, group ignored"
qsc_dec "$(make_jwt RS256 "$PRIV" "$QSC_HDR" "$(edit "$P" group '["x"]')")"
assert_all_pass
pcheck $QSC_W qscloud.groups pass "'groups' is an array of 2 strings"

begin "qscloud: an ES256 token verified with its EC key passes the alg rule"
tok=$(make_jwt ES256 "$D/ec.key" '{"alg":"ES256","typ":"JWT","kid":"ec"}' "$P")
dec_pinned --jwt "$tok" --cert-publickey-file "$D/ec.pub" --profile qscloud
assert_all_pass
pcheck $QSC_W qscloud.alg pass "alg ES256 is accepted"

begin "qscloud: an expired token fails exp even when every profile rule passes"
dec_at '2030-01-01 02:00:00' --jwt "$QSC_OK" --cert-publickey-file "$PUB" --profile qscloud
assert_rc 3
pcheck $QSC_W exp fail "expired at 2030-01-01T01:00:00Z"
assert_eq 1 "$(grep -cE '^  [a-zA-Z_.]+ +fail ' "$OUT")" "failed checks"

begin "qscloud: a bad signature fails even when every profile rule passes"
dec_pinned --jwt "${QSC_OK%.*}.$(printf 'A%.0s' {1..342})" --cert-publickey-file "$PUB" --profile qscloud
assert_rc 3
pcheck $QSC_W signature fail "the RS256 signature does not verify with the key (RSA 2048 bits)"

# ---- qseow ------------------------------------------------------------------------------------

begin "qseow: the original's all-claims vector passes (text, exact check lines)"
qse_dec "$ALL"
assert_rc 0
assert_empty_stderr
sed -n '/^Verification:/,$p' "$OUT" >"$D/verif"
printf '%s\n' 'Verification: valid' \
	'  signature     pass   RS256 signature verified with the key (RSA 2048 bits)' \
	'  exp           pass   expires at 2030-01-01T01:00:00Z' \
	"  nbf           absent no 'nbf' claim" \
	'  iat           pass   issued at 2030-01-01T00:00:00Z' \
	'  qseow.alg     pass   alg RS256 is accepted' \
	"  qseow.userid  pass   'userId' is 'jdoe'" \
	"  qseow.userdir pass   'userDirectory' is 'ACME'" \
	"  qseow.group   pass   'group' is an array of 2 strings" >"$D/want"
assert_file_eq "$D/want" "$D/verif"

begin "qseow --json: the all-claims vector, every profile check pass"
qse_dec "$ALL" --json
assert_rc 0
if json_flatten "$OUT"; then
	assert_field .verification.status '"valid"'
	assert_field '.verification.checks.{}' 'signature,exp,nbf,iat,qseow.alg,qseow.userid,qseow.userdir,qseow.group'
	jcheck qseow.userid pass "'userId' is 'jdoe'"
	jcheck qseow.group pass "'group' is an array of 2 strings"
fi

QSE_HDR='{"alg":"RS256","typ":"JWT"}'
QP='{"userId":"jdoe","userDirectory":"ACME","name":"John Doe","email":"j@x","group":["Sales"],"iat":1893456000,"exp":1893459600,"aud":"qlik-aud"}'

qse_case() {
	local name=$1 detail=$2 hdr=$3 pl=$4 alg=${5:-RS256} key=${6:-$PRIV} pub=${7:-$PUB} tok
	shift 7 2>/dev/null || shift $#
	begin "qseow: $name fails: $detail"
	tok=$(make_jwt "$alg" "$key" "$hdr" "$pl")
	dec_pinned --jwt "$tok" --cert-publickey-file "$pub" --profile qseow "$@"
	assert_rc 3
	assert_verdict INVALID
	pcheck $QSE_W "$name" fail "$detail"
	assert_log ERROR "verification failed: "
	dec_pinned --jwt "$tok" --cert-publickey-file "$pub" --profile qseow --json "$@"
	assert_rc 3
	if json_flatten "$OUT"; then
		assert_field .verification.status '"invalid"'
		jcheck "$name" fail "$detail"
	fi
}

qse_case qseow.alg "alg 'ES256' is not accepted; accepted: RS256, RS384, RS512" \
	'{"alg":"ES256","typ":"JWT"}' "$QP" ES256 "$D/ec.key" "$D/ec.pub"
qse_case qseow.userid "no 'userId' claim" "$QSE_HDR" "$(edit "$QP" userId -)"
qse_case qseow.userid "'userId' is empty" "$QSE_HDR" "$(edit "$QP" userId '""')"
qse_case qseow.userid "'userId' is a number, not a string" "$QSE_HDR" "$(edit "$QP" userId 7)"
qse_case qseow.userdir "no 'userDirectory' claim" "$QSE_HDR" "$(edit "$QP" userDirectory -)"
qse_case qseow.userdir "'userDirectory' is a boolean, not a string" "$QSE_HDR" "$(edit "$QP" userDirectory true)"
qse_case qseow.group "'group' is a string, not an array of strings" "$QSE_HDR" "$(edit "$QP" group '"Sales"')"
qse_case qseow.group "'group' item 0 is an object, not a string" "$QSE_HDR" "$(edit "$QP" group '[{}]')"
qse_case qseow.userid "no 'uid' claim" "$QSE_HDR" "$QP" RS256 "$PRIV" "$PUB" --userid-claim uid
qse_case qseow.userdir "no 'dir' claim" "$QSE_HDR" "$QP" RS256 "$PRIV" "$PUB" --userdir-claim dir
qse_case qseow.iss "no 'iss' claim; expected 'me'" "$QSE_HDR" "$QP" RS256 "$PRIV" "$PUB" --expected-issuer me
qse_case qseow.kid "no 'kid' header parameter; expected 'k1'" "$QSE_HDR" "$QP" RS256 "$PRIV" "$PUB" --expected-keyid k1

begin "qseow: --userid-claim and --userdir-claim name the proxy's attributes"
tok=$(make_jwt RS256 "$PRIV" "$QSE_HDR" '{"uid":"jdoe","dir":"ACME","iat":1893456000,"exp":1893459600}')
qse_dec "$tok" --userid-claim uid --userdir-claim dir
assert_all_pass
pcheck $QSE_W qseow.userid pass "'uid' is 'jdoe'"
pcheck $QSE_W qseow.userdir pass "'dir' is 'ACME'"
pcheck $QSE_W qseow.group absent "no 'group' claim"

begin "qseow: --expected-issuer and --expected-keyid passing"
tok=$(make_jwt RS256 "$PRIV" '{"alg":"RS256","typ":"JWT","kid":"k1"}' "$(edit "$QP" iss '"me"')")
qse_dec "$tok" --expected-issuer me --expected-keyid k1
assert_all_pass
pcheck $QSE_W qseow.iss pass "'iss' is 'me'"
pcheck $QSE_W qseow.kid pass "'kid' is 'k1'"

# ---- no profile: --expected-issuer, --expected-keyid ------------------------------------------

begin "no profile: --expected-issuer and --expected-keyid add the checks iss and kid"
dec_pinned --jwt "$QSC_OK" --cert-publickey-file "$PUB" --expected-issuer my-issuer --expected-keyid my-key
assert_all_pass
assert_check iss pass "'iss' is 'my-issuer'"
assert_check kid pass "'kid' is 'my-key'"
assert_no_check qscloud.alg
dec_pinned --jwt "$QSC_OK" --cert-publickey-file "$PUB" --expected-issuer other --expected-keyid my-key --json
assert_rc 3
if json_flatten "$OUT"; then
	assert_field '.verification.checks.{}' 'signature,exp,nbf,iat,iss,kid'
	jcheck iss fail "'iss' is 'my-issuer', expected 'other'"
	assert_field .verification.reason "\"'iss' is 'my-issuer', expected 'other'\""
fi
dec_pinned --jwt "$ALL" --cert-publickey-file "$PUB" --expected-keyid k
assert_check_fails kid "no 'kid' header parameter; expected 'k'"

# ---- usage errors -------------------------------------------------------------------------------

begin "usage: --profile takes qseow or qscloud"
for bad in QSCLOUD qsc '' saas; do
	dec --jwt "$ALL" --cert-publickey-file "$PUB" --profile "$bad"
	assert_usage_error_of decode "--profile takes 'qseow' or 'qscloud', not '$bad'"
done

begin "usage: --profile, --expected-issuer, --expected-keyid need a key"
for opt in "--profile qscloud" "--profile qseow" "--expected-issuer i" "--expected-keyid k"; do
	# shellcheck disable=SC2086 # option and value
	dec --jwt "$ALL" $opt
	assert_usage_error_of decode "${opt% *} needs a key to verify with (--cert-publickey-file, --cert-publickey or --pkcs11-uri)"
done

begin "usage: --userid-claim and --userdir-claim only with --profile qseow"
dec --jwt "$ALL" --cert-publickey-file "$PUB" --userid-claim uid
assert_usage_error_of decode "--userid-claim only applies with --profile qseow"
dec --jwt "$ALL" --cert-publickey-file "$PUB" --profile qscloud --userdir-claim dir
assert_usage_error_of decode "--userdir-claim only applies with --profile qseow"

finish
