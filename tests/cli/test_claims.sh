#!/usr/bin/env bash
# Claims: --groups, empty strings, last value wins, required options,
# --expires, UTF-8 and length checks, JSON escaping, --alg.
. "$(dirname "$0")/lib.sh"

KEY=$VEC/privatekey.pem
PUB=$VEC/publickey.pem
# The payload for CLAIMS with a "group" member inserted before iat.
with_group() {
	printf '%s' "{\"userId\":\"jdoe\",\"userDirectory\":\"ACME\",\"name\":\"John Doe\",\"email\":\"john.doe@example.com\",\"group\":$1,\"iat\":1893456000,\"exp\":1893459600,\"aud\":\"qlik-aud\"}"
}

# payload_case DESCRIPTION EXPECTED_PAYLOAD ARGS...: a pinned run with the
# vector key gives a verifying RS256 token with exactly this payload.
payload_case() {
	local desc=$1 want=$2
	shift 2
	begin "$desc"
	qs_pinned "$@" --cert-privatekey-file "$KEY"
	assert_ok_token || return
	assert_payload "$want"
	verify_jwt "$TOKEN" "$PUB"
}

# ---- --groups ---------------------------------------------------------------------

payload_case "no --groups: no group claim" "$CLAIMS_PAYLOAD" "${CLAIMS[@]}"
payload_case "--groups with one value is an array" "$(with_group '["Sales"]')" \
	"${CLAIMS[@]}" --groups Sales
payload_case "--groups takes every argument up to the next option" \
	"$(with_group '["Sales","Finance","IT"]')" \
	--groups Sales Finance IT "${CLAIMS[@]}"
payload_case "--groups repeated appends" "$(with_group '["a","b","c","d"]')" \
	--groups a b "${CLAIMS[@]}" --groups c --groups d
payload_case "--groups: commas do not split" "$(with_group '["Sales,Finance","x, y"]')" \
	"${CLAIMS[@]}" --groups Sales,Finance "x, y"
payload_case "--groups: empty strings are kept" "$(with_group '["","x",""]')" \
	"${CLAIMS[@]}" --groups "" x ""
payload_case "--groups=value form, then more values" "$(with_group '["a","b"]')" \
	"${CLAIMS[@]}" --groups=a b
payload_case "--groups values with spaces and quotes" "$(with_group '["Domain Users","say \"hi\""]')" \
	"${CLAIMS[@]}" --groups "Domain Users" 'say "hi"'

begin "--groups at the end without a value"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --groups
assert_usage_error "--groups" "needs a value"

begin "--groups stops at an option: a following unknown option is an error"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --groups a --bogus
assert_usage_error "unknown option '--bogus'"

# ---- empty strings, last value wins, option order --------------------------------------

payload_case "empty strings are kept in every claim" \
	'{"userId":"","userDirectory":"","name":"","email":"","iat":1893456000,"exp":1893459600,"aud":""}' \
	--userdir "" --userid "" --username "" --useremail "" --expires 60m --audience ""

payload_case "single-valued options: the last one wins" \
	'{"userId":"u2","userDirectory":"D2","name":"N2","email":"e2","iat":1893456000,"exp":1893463200,"aud":"a2"}' \
	--userdir D1 --userid u1 --username N1 --useremail e1 --expires 1h --audience a1 \
	--userdir D2 --userid u2 --username N2 --useremail e2 --expires 2h --audience a2

payload_case "option order does not change the payload" "$(with_group '["g"]')" \
	--audience qlik-aud --groups g --expires 60m --useremail john.doe@example.com \
	--username 'John Doe' --userid jdoe --userdir ACME

payload_case "--option=value form" "$CLAIMS_PAYLOAD" \
	--userdir=ACME --userid=jdoe "--username=John Doe" --useremail=john.doe@example.com \
	--expires=60m --audience=qlik-aud

payload_case "values that look like options after a single-valued option are values" \
	'{"userId":"-x","userDirectory":"--y","name":"-","email":"--","iat":1893456000,"exp":1893459600,"aud":"qlik-aud"}' \
	--userdir --y --userid -x --username - --useremail -- --expires 60m --audience qlik-aud

begin "--alg: the last one wins"
qs_pinned "${CLAIMS[@]}" --alg RS512 --alg RS256 --cert-privatekey-file "$KEY"
assert_ok_token && verify_jwt "$TOKEN" "$PUB" RS256

# ---- required options -------------------------------------------------------------------

for opt in userdir userid username useremail expires audience; do
	begin "missing --$opt: usage error"
	args=()
	set -- "${CLAIMS[@]}"
	while [ $# -gt 0 ]; do
		[ "$1" = "--$opt" ] || args+=("$1" "$2")
		shift 2
	done
	qs "${args[@]}" --cert-privatekey-file "$KEY"
	assert_usage_error "required" "'--$opt"
done

begin "no options at all: usage error"
qs
assert_usage_error "required option"

# ---- --expires ----------------------------------------------------------------------------

# exp_case EXPIRES EXP_MINUS_IAT [warn]
exp_case() {
	begin "--expires '$1' gives exp - iat = $2"
	qs_pinned --userdir D --userid u --username n --useremail e --audience a \
		--expires "$1" --cert-privatekey-file "$KEY"
	assert_ok_token || return
	assert_payload "{\"userId\":\"u\",\"userDirectory\":\"D\",\"name\":\"n\",\"email\":\"e\",\"iat\":1893456000,\"exp\":$((PINNED_IAT + $2)),\"aud\":\"a\"}"
	verify_jwt "$TOKEN" "$PUB"
	if [ "${3:-}" = warn ]; then
		assert_log WARN "--expires" "'$1'"
	else
		assert_no_log_level WARN
	fi
}

exp_case 60m 3600
exp_case 48h 172800
exp_case 365d 31536000
exp_case 5y 157788000
exp_case 1.5h 5400
exp_case "2 days" 172800
exp_case "2   days" 172800
exp_case .5h 1800
exp_case 59999ms 59
exp_case 1.999s 1
exp_case 68.1y 2149072559
exp_case 1H 3600
# M is minutes (the `ms` grammar is case-insensitive), with a warning for
# whoever meant a month.
exp_case 1M 60 warn
exp_case '2 M' 120 warn
exp_case 2W 1209600
exp_case 1Y 31557600
exp_case 90s 90
exp_case "10 sec" 10
exp_case 10secs 10
exp_case "1 second" 1
exp_case "5 seconds" 5
exp_case "2 min" 120
exp_case 2mins 120
exp_case "1 minute" 60
exp_case "3 minutes" 180
exp_case 2hr 7200
exp_case 2hrs 7200
exp_case "1 hour" 3600
exp_case "2 hours" 7200
exp_case "1 day" 86400
exp_case "1 week" 604800
exp_case "2 weeks" 1209600
exp_case 1yr 31557600
exp_case 2yrs 63115200
exp_case "1 year" 31557600
exp_case "2 years" 63115200
exp_case 5000msec 5
exp_case 5000msecs 5
exp_case "5000 millisecond" 5
exp_case "5000 milliseconds" 5
exp_case 100 0 warn
exp_case 120000 120 warn
exp_case 1.5 0 warn
exp_case -1h -3600 warn
exp_case "-30 min" -1800 warn
exp_case 0s 0 warn
exp_case 0 0 warn
exp_case 251508844799s 251508844799
exp_case "$(printf '0%.0s' $(seq 1 98))1s" 1

begin "--expires without a unit: the warning says milliseconds"
qs "${CLAIMS[@]}" --expires 3600 --cert-privatekey-file "$KEY"
assert_ok_token "$PUB"
assert_log WARN "--expires" "'3600'" "milliseconds"

begin "--expires negative: the warning says expired when issued"
qs "${CLAIMS[@]}" --expires -1h --cert-privatekey-file "$KEY"
assert_ok_token "$PUB"
assert_log WARN "--expires" "'-1h'"

for bad in "" abc h 1x 1d2h " 1h" "1h " +1h 1e3 5. "1 hour " "1,5h" "1.5.2h" "--" "-" "1 h r" \
	"1	h" "1hours2" "$(printf '0%.0s' $(seq 1 100))1s"; do
	begin "--expires '${bad:0:30}' is not a timespan: usage error"
	qs "${CLAIMS[@]}" --expires "$bad" --cert-privatekey-file "$KEY"
	assert_usage_error "--expires"
done

for bad in 251508844800s 8000y 1e400 -61y -100y; do
	begin "--expires '$bad' puts exp outside 1970..9999: usage error"
	qs_pinned "${CLAIMS[@]}" --expires "$bad" --cert-privatekey-file "$KEY"
	case $bad in
	1e400) assert_usage_error "--expires" "'1e400'" ;;
	*) assert_usage_error "--expires" "'$bad'" "9999" ;;
	esac
done

begin "--expires of 99 digits (far past year 9999): usage error"
qs_pinned "${CLAIMS[@]}" --expires "$(printf '9%.0s' $(seq 1 99))" --cert-privatekey-file "$KEY"
assert_usage_error "--expires" "9999"

# ---- UTF-8 and length ---------------------------------------------------------------------

# Every kind of bad sequence for --username, one for each other option.
utf8_cases=()
for bytes in '\xff' '\xc3' '\xc0\xaf' '\xed\xa0\x80' '\xf4\x90\x80\x80' '\xe2\x82'; do
	utf8_cases+=("username $bytes")
done
for opt in userdir userid useremail audience expires groups; do
	utf8_cases+=("$opt \xc3\x28")
done
for c in "${utf8_cases[@]}"; do
	opt=${c%% *} bytes=${c#* }
	bad="ok$(printf "$bytes")x"
	begin "--$opt with invalid UTF-8 ($bytes): usage error naming the option"
	args=()
	set -- "${CLAIMS[@]}"
	while [ $# -gt 0 ]; do
		[ "$1" = "--$opt" ] || args+=("$1" "$2")
		shift 2
	done
	if [ "$opt" = groups ]; then
		qs "${args[@]}" --groups fine "$bad" --cert-privatekey-file "$KEY"
	else
		qs "${args[@]}" "--$opt" "$bad" --cert-privatekey-file "$KEY"
	fi
	assert_usage_error "--$opt " "UTF-8"
done

A64K=$(head -c 65536 /dev/zero | tr '\0' a)
for opt in userdir userid username useremail audience groups; do
	begin "--$opt longer than 64 KiB: usage error"
	qs "${CLAIMS[@]}" "--$opt" "${A64K}b" --cert-privatekey-file "$KEY"
	assert_usage_error "--$opt " "64 KiB"
done

begin "--cert-privatekey-file longer than 64 KiB: usage error"
qs "${CLAIMS[@]}" --cert-privatekey-file "${A64K}b"
assert_usage_error "--cert-privatekey-file " "64 KiB"

payload_case "--username of exactly 64 KiB is accepted" \
	"{\"userId\":\"jdoe\",\"userDirectory\":\"ACME\",\"name\":\"$A64K\",\"email\":\"john.doe@example.com\",\"iat\":1893456000,\"exp\":1893459600,\"aud\":\"qlik-aud\"}" \
	"${CLAIMS[@]}" --username "$A64K"

# ---- JSON escaping --------------------------------------------------------------------------

payload_case "JSON escaping as JSON.stringify: quotes, backslash, control characters, DEL, emoji" \
	"{\"userId\":\"jdoe\",\"userDirectory\":\"ACME\",\"name\":\"a\\\"b\\\\c/d<e>&\\bf\\tg\\nh\\fi\\rj\\u0001k\\u001fl$(printf '\x7f')m😀\",\"email\":\"john.doe@example.com\",\"iat\":1893456000,\"exp\":1893459600,\"aud\":\"qlik-aud\"}" \
	"${CLAIMS[@]}" --username "$(printf 'a"b\\c/d<e>&\bf\tg\nh\fi\rj\001k\037l\177m\360\237\230\200')"

payload_case "JSON escaping in groups and audience (\\u000b, \\u001b)" \
	"{\"userId\":\"jdoe\",\"userDirectory\":\"ACME\",\"name\":\"John Doe\",\"email\":\"john.doe@example.com\",\"group\":[\"a\\u000bb\",\"c\\\\\\\"d\"],\"iat\":1893456000,\"exp\":1893459600,\"aud\":\"x\\u001by\"}" \
	"${CLAIMS[@]}" --groups "$(printf 'a\013b')" 'c\"d' --audience "$(printf 'x\033y')"

# ---- --alg -------------------------------------------------------------------------------------

for alg in RS256 RS384 RS512; do
	begin "--alg $alg: header, payload and $alg signature"
	qs_pinned "${CLAIMS[@]}" --alg "$alg" --cert-privatekey-file "$KEY"
	assert_ok_token || continue
	assert_payload "$CLAIMS_PAYLOAD"
	verify_jwt "$TOKEN" "$PUB" "$alg"
	for other in RS256 RS384 RS512; do
		[ "$other" = "$alg" ] && continue
		assert_false jwt_verifies "$TOKEN" "$PUB" "$other"
	done
	sig=$(b64url_decode "${TOKEN##*.}" | wc -c)
	assert_eq 256 "$sig" "signature length in bytes"
	first=$TOKEN
	qs_pinned "${CLAIMS[@]}" --alg "$alg" --cert-privatekey-file "$KEY"
	assert_eq "$first" "$(cat "$OUT")" "second $alg token (deterministic)"
done

begin "--alg RS256 explicitly gives the reference vector"
eval "set -- $(cat "$VEC/all-claims.cmd")"
shift
at "$VEC" qs_pinned "$@" --alg RS256
assert_rc 0
assert_file_eq "$VEC/all-claims.jwt" "$OUT"

for bad in HS256 rs256 Rs256 RS255 PS256 ES256 none "" "RS256 " RS1024; do
	begin "--alg '$bad': usage error"
	qs "${CLAIMS[@]}" --alg "$bad" --cert-privatekey-file "$KEY"
	assert_usage_error "--alg" "'$bad'"
done

begin "--alg without a value: usage error"
qs "${CLAIMS[@]}" --cert-privatekey-file "$KEY" --alg
assert_usage_error "--alg" "needs a value"

finish
