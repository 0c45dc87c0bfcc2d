#!/usr/bin/env bash
# create-qseow --batch with a key file: every token is the one a single run
# with the same values prints (byte for byte, clock pinned), in input order
# whatever --jobs; bad lines are reported with their physical line numbers
# and the batch goes on; comments and empty lines; usage errors; standard
# input; the progress line only on a terminal.
. "$(dirname "$0")/lib.sh"

KEYARGS=(--cert-privatekey-file "$KEY")
DEFAULTS=(--expires 60m --audience qlik-aud)
# Single runs as the reference: pinned clock, the same key.
SINGLE=("${PINNED_CMD[@]}" "${KEYARGS[@]}")

# ---- inputs -------------------------------------------------------------------------------

USERS=$T_TMP/users.jsonl
write_users "$USERS"
EXP20=$T_TMP/users.expected
expect_singles "$USERS" "$EXP20" "${DEFAULTS[@]}" -- "${SINGLE[@]}"
[ -s "$EXP20" ] || { echo "no expected output for the users: cannot go on" >&2; exit 1; }

# ---- byte for byte against single runs -----------------------------------------------------

begin "22 varied users, default --jobs: output equals 22 single runs byte for byte"
qs_pinned --batch "$USERS" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_file_eq "$EXP20" "$OUT"
assert_summary INFO "$N_USERS" 0

begin "22 varied users: the tokens of lines 1 and 2 are the reference vectors"
assert_eq "$(cat "$VEC/all-claims.jwt")" "$(out_tokens "$OUT" 1 | cut -d' ' -f2)" "token of line 1"
assert_eq "$(cat "$VEC/unicode.jwt")" "$(out_tokens "$OUT" 2 | cut -d' ' -f2)" "token of line 2"
assert_eq '{"userId":"","userDirectory":"","name":"","email":"","group":[""],"iat":1893456000,"exp":1893459600,"aud":"qlik-aud"}' \
	"$(jwt_payload "$(out_tokens "$OUT" 4 | cut -d' ' -f2)")" "payload of line 4 (empty strings)"
assert_eq '{"userId":"exp2h","userDirectory":"ACME","name":"Two Hours","email":"e@x","iat":1893456000,"exp":1893463200,"aud":"qlik-aud"}' \
	"$(jwt_payload "$(out_tokens "$OUT" 5 | cut -d' ' -f2)")" "payload of line 5 (per-line expires, no groups)"
want16='{"line":16,"userid":"DOMAIN\\user name","userdir":"dir with spaces","token":"'
assert_eq "$want16" "$(sed -n 16p "$OUT" | head -c ${#want16})" "start of output line 16"

begin "22 varied users: every token verifies with openssl (RS256)"
verify_out_tokens "$OUT" "$PUB" RS256
assert_eq "$N_USERS" "$VERIFIED" "tokens verified"

for alg in RS512 RS384; do
	begin "--alg $alg: 22 users equal 22 single runs with --alg $alg; tokens verify"
	expect_singles "$USERS" "$T_TMP/users.$alg" "${DEFAULTS[@]}" -- "${SINGLE[@]}" --alg "$alg"
	qs_pinned --batch "$USERS" --alg "$alg" "${DEFAULTS[@]}" "${KEYARGS[@]}"
	assert_rc 0
	assert_file_eq "$T_TMP/users.$alg" "$OUT"
	assert_summary INFO "$N_USERS" 0
	verify_out_tokens "$OUT" "$PUB" "$alg"
done

for jobs in 1 2 4; do
	begin "--jobs $jobs: the whole output equals the single runs, in input order"
	qs_pinned --batch "$USERS" --jobs "$jobs" "${DEFAULTS[@]}" "${KEYARGS[@]}"
	assert_rc 0
	assert_file_eq "$EXP20" "$OUT"
	assert_summary INFO "$N_USERS" 0
done

begin "no --jobs: as many workers as online CPUs (verbose log); --jobs 3: three"
CPUS=$(getconf _NPROCESSORS_ONLN)
cpu_word='jobs'
[ "$CPUS" = 1 ] && cpu_word='job'
qs --batch "$USERS" --loglevel verbose "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_contains "$ERR" "batch from $USERS with $CPUS $cpu_word"
qs --batch "$USERS" --jobs 3 --loglevel verbose "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_contains "$ERR" "batch from $USERS with 3 jobs"

begin "--jobs 256 (more workers than lines): the same output"
qs_pinned --batch "$USERS" --jobs 256 "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_file_eq "$EXP20" "$OUT"

# ---- order with more lines than the window ----------------------------------------------------

# 1500 lines (the output window is a few hundred lines): a slow pinned clock,
# so that every line gets the same iat on any machine.
ORDER=$T_TMP/order.jsonl
python3 - "$ORDER" <<'EOF'
import json, sys
with open(sys.argv[1], 'w', encoding='utf-8') as f:
    for i in range(1, 1501):
        d = {"userid": "u%d" % i, "userdir": "D%d" % (i % 7), "username": "Nämé %d" % i,
             "useremail": "u%d@example.com" % i}
        if i % 3 == 0:
            d["groups"] = ["g%d" % (i % 5), "all"]
        if i % 11 == 0:
            d["expires"] = "%dm" % (i % 90 + 1)
        if i % 13 == 0:
            d["audience"] = "aud-%d" % i
        f.write(json.dumps(d, ensure_ascii=False) + "\n")
EOF
for jobs in 1 2 4; do
	begin "1500 lines, --jobs $jobs: lines 1..1500 in order, each with its user"
	qs_slow --batch "$ORDER" --jobs "$jobs" "${DEFAULTS[@]}" "${KEYARGS[@]}"
	cp "$OUT" "$T_TMP/order.out.$jobs"
	assert_rc 0
	assert_summary INFO 1500 0
	chk=$(python3 - "$ORDER" "$OUT" <<'EOF'
import json, sys
ins = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
outs = [json.loads(l) for l in open(sys.argv[2], encoding='utf-8')]
if len(outs) != len(ins):
    print('%d output lines for %d input lines' % (len(outs), len(ins)))
    sys.exit()
for n, (i, o) in enumerate(zip(ins, outs), 1):
    if list(o) != ['line', 'userid', 'userdir', 'token'] or o['line'] != n or \
            o['userid'] != i['userid'] or o['userdir'] != i['userdir']:
        print('output line %d is %s' % (n, json.dumps(o)[:150]))
        sys.exit()
print('ok')
EOF
)
	assert_eq ok "$chk" "order check"
done

begin "1500 lines: --jobs 1, 2 and 4 give identical output files"
assert_file_eq "$T_TMP/order.out.1" "$T_TMP/order.out.2"
assert_file_eq "$T_TMP/order.out.1" "$T_TMP/order.out.4"

begin "1500 lines: sampled lines equal single runs (first, window edges, last)"
SLOW_SINGLE=("${SLOW_CMD[@]}" "${KEYARGS[@]}")
expect_singles "$ORDER" "$T_TMP/order.sample" --only 1,33,143,255,256,257,512,513,1001,1430,1500 \
	"${DEFAULTS[@]}" -- "${SLOW_SINGLE[@]}"
grep -E '^\{"line":(1|33|143|255|256|257|512|513|1001|1430|1500),' "$T_TMP/order.out.4" >"$T_TMP/order.got"
assert_file_eq "$T_TMP/order.sample" "$T_TMP/order.got"

begin "1500 lines: a sample of 50 tokens verifies with openssl"
verify_out_tokens "$T_TMP/order.out.2" "$PUB" RS256 "$(seq -s, 1 31 1500),last"
assert_eq 50 "$VERIFIED" "tokens verified"

# ---- bad lines --------------------------------------------------------------------------------

BAD=$T_TMP/bad.jsonl
python3 - "$BAD" <<'EOF'
import sys
ok = '{"userid":"ok%d","userdir":"D","username":"Ok","useremail":"ok@x"}'
L = [
    ok % 1,                                                                   # 1
    b'not json',                                                              # 2
    b'[1,2]',                                                                 # 3
    b'"just a string"',                                                       # 4
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x"} trailing', # 5
    b'{"userid":"a","userdir":"D","username":"A"',                            # 6
    b'{"userdir":"D","username":"A","useremail":"a@x"}',                      # 7
    b'{"userid":"a","username":"A","useremail":"a@x"}',                       # 8
    b'{"userid":"a","userdir":"D","useremail":"a@x"}',                        # 9
    b'{"userid":"a","userdir":"D","username":"A"}',                           # 10
    '{"userid":"ök","userdir":"Ä","username":"Ö","useremail":"ö@x","groups":["Ü"]}', # 11
    b'{"userid":42,"userdir":"D","username":"A","useremail":"a@x"}',          # 12
    b'{"userid":"a","userdir":"D","username":null,"useremail":"a@x"}',        # 13
    b'{"userid":"a","userdir":"D","username":"A","useremail":true}',          # 14
    b'{"userid":"a","userdir":{"x":1},"username":"A","useremail":"a@x"}',     # 15
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x","groups":"G"}',        # 16
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x","groups":[1]}',        # 17
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x","groups":["ok",null]}', # 18
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x","expires":3600}',      # 19
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x","audience":["x"]}',    # 20
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x","role":"admin"}',      # 21
    b'{"userid":"a","userdir":"D","username":"A","username":"B","useremail":"a@x"}',      # 22
    b'{"userid":"a","userdir":"D","username":"\xff","useremail":"a@x"}',      # 23 invalid byte
    b'{"userid":"a\xc0\xaf","userdir":"D","username":"A","useremail":"a@x"}', # 24 overlong
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x\xe2\x82"}', # 25 truncated
    b'{"userid":"\xed\xa0\x80","userdir":"D","username":"A","useremail":"a@x"}', # 26 surrogate
    b'{"userid":"a","userdir":"D","useremail":"a@x","username":"' + b'x' * 65600 + b'"}', # 27 > 64 KiB
    ok % 28,                                                                  # 28
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x","expires":"xx"}',      # 29
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x","expires":"1d2h"}',    # 30
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x","expires":""}',        # 31
    b'{"userid":"a","userdir":"D","username":"A","useremail":"a@x","expires":"10000y"}',  # 32
    b'{}',                                                                    # 33
    b'{"userid":"ok34","userdir":"D","username":"Ok","useremail":"ok@x","expires":"5m","audience":"a34"}', # 34
]
with open(sys.argv[1], 'wb') as f:
    for l in L:
        f.write((l.encode() if isinstance(l, str) else l) + b'\n')
EOF
NOTOBJ="the line is not a JSON object"
NOTUTF8="the line is not valid UTF-8"
KNOWN="(known: userid, userdir, username, useremail, groups, expires, audience)"
BAD_ERRORS=(
	--error "2:$NOTOBJ" --error "3:$NOTOBJ" --error "4:$NOTOBJ" --error "5:$NOTOBJ"
	--error "6:$NOTOBJ"
	--error "7:missing field 'userid'" --error "8:missing field 'userdir'"
	--error "9:missing field 'username'" --error "10:missing field 'useremail'"
	--error "12:field 'userid' must be a string" --error "13:field 'username' must be a string"
	--error "14:field 'useremail' must be a string" --error "15:field 'userdir' must be a string"
	--error "16:field 'groups' must be an array of strings"
	--error "17:field 'groups' must be an array of strings"
	--error "18:field 'groups' must be an array of strings"
	--error "19:field 'expires' must be a string" --error "20:field 'audience' must be a string"
	--error "21:unknown field 'role' $KNOWN" --error "22:field 'username' given twice"
	--error "23:$NOTUTF8" --error "24:$NOTUTF8" --error "25:$NOTUTF8" --error "26:$NOTUTF8"
	--error "27:the line is longer than 64 KiB"
	--error "29:expires 'xx' is not a timespan (e.g. 60m, 8h, 7d)"
	--error "30:expires '1d2h' is not a timespan (e.g. 60m, 8h, 7d)"
	--error "31:expires '' is not a timespan (e.g. 60m, 8h, 7d)"
	--error "32:expires '10000y' puts exp outside 1970 to 9999"
	--error "33:missing field 'userid'"
)
expect_singles "$BAD" "$T_TMP/bad.expected" "${BAD_ERRORS[@]}" "${DEFAULTS[@]}" -- "${SINGLE[@]}"

for jobs in 1 4; do
	begin "bad lines of every kind (--jobs $jobs): each reported with its line number, the others issued, exit 1"
	qs_pinned --batch "$BAD" --jobs "$jobs" "${DEFAULTS[@]}" "${KEYARGS[@]}"
	assert_rc 1
	assert_file_eq "$T_TMP/bad.expected" "$OUT"
	assert_summary WARN 4 30
done

begin "bad lines through a pipe on stdin: the same output"
qs_pinned_pipe "$BAD" --batch - "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 1
assert_file_eq "$T_TMP/bad.expected" "$OUT"
assert_summary WARN 4 30

# No expires or audience on the command line: only the lines that give them.
NOEA=$T_TMP/noea.jsonl
cat >"$NOEA" <<'EOF'
{"userid":"full","userdir":"D","username":"F","useremail":"f@x","expires":"1h","audience":"la"}
{"userid":"onlyexp","userdir":"D","username":"E","useremail":"e@x","expires":"1h"}
{"userid":"onlyaud","userdir":"D","username":"A","useremail":"a@x","audience":"la"}
{"userid":"none","userdir":"D","username":"N","useremail":"n@x"}
EOF
NOEXP="no expires: give it in the line or with --expires on the command line"
NOAUD="no audience: give it in the line or with --audience on the command line"

begin "no --expires/--audience: lines without them fail with their line numbers, the full one is issued"
expect_singles "$NOEA" "$T_TMP/noea.expected" --error "2:$NOAUD" --error "3:$NOEXP" --error "4:$NOEXP" \
	-- "${SINGLE[@]}"
qs_pinned --batch "$NOEA" "${KEYARGS[@]}"
assert_rc 1
assert_file_eq "$T_TMP/noea.expected" "$OUT"
assert_summary WARN 1 3

begin "--expires only: the line without an audience fails, the others are issued"
expect_singles "$NOEA" "$T_TMP/noea2.expected" --expires 2h --error "2:$NOAUD" --error "4:$NOAUD" \
	-- "${SINGLE[@]}"
qs_pinned --batch "$NOEA" --expires 2h "${KEYARGS[@]}"
assert_rc 1
assert_file_eq "$T_TMP/noea2.expected" "$OUT"
assert_summary WARN 2 2

begin "--audience only: the lines without expires fail, the others are issued"
expect_singles "$NOEA" "$T_TMP/noea3.expected" --audience ca --error "3:$NOEXP" --error "4:$NOEXP" \
	-- "${SINGLE[@]}"
qs_pinned --batch "$NOEA" --audience ca "${KEYARGS[@]}"
assert_rc 1
assert_file_eq "$T_TMP/noea3.expected" "$OUT"
assert_summary WARN 2 2

# ---- the 64 KiB limit --------------------------------------------------------------------------

# mkline FILE BYTES [NAME]: a valid user line of exactly BYTES bytes (before the
# newline), padded in the username.
mkline() {
	python3 - "$@" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
uid = sys.argv[3] if len(sys.argv) > 3 else 'big'
head = '{"userid":"%s","userdir":"D","useremail":"b@x","username":"' % uid
line = head + 'x' * (n - len(head) - 2) + '"}'
assert len(line) == n
open(path, 'a').write(line)
EOF
}
OKLINE='{"userid":"ok","userdir":"D","username":"Ok","useremail":"ok@x"}'

LIM=$T_TMP/limit.jsonl
{ echo "$OKLINE"; } >"$LIM"
mkline "$LIM" 65536 exact
echo >>"$LIM"
mkline "$LIM" 65537 over
echo >>"$LIM"
echo "$OKLINE" >>"$LIM"
mkline "$LIM" 300000 huge
echo >>"$LIM"
echo "$OKLINE" >>"$LIM"
expect_singles "$LIM" "$T_TMP/limit.expected" --error "3:the line is longer than 64 KiB" \
	--error "5:the line is longer than 64 KiB" "${DEFAULTS[@]}" -- "${SINGLE[@]}"

begin "a line of exactly 64 KiB is issued; 65537 and 300000 bytes are reported; the batch goes on"
qs_pinned --batch "$LIM" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 1
assert_file_eq "$T_TMP/limit.expected" "$OUT"
assert_summary WARN 4 2

begin "the 64 KiB limit through a pipe: the same output"
qs_pinned_pipe "$LIM" --batch - "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 1
assert_file_eq "$T_TMP/limit.expected" "$OUT"

for size in 65537 300000; do
	LAST=$T_TMP/last-long-$size.jsonl
	echo "$OKLINE" >"$LAST"
	mkline "$LAST" "$size" lastlong
	expect_singles "$LAST" "$T_TMP/last-long.expected" --error "2:the line is longer than 64 KiB" \
		"${DEFAULTS[@]}" -- "${SINGLE[@]}"
	begin "an over-long last line ($size bytes) without a final newline is reported (file)"
	qs_pinned --batch "$LAST" "${DEFAULTS[@]}" "${KEYARGS[@]}"
	assert_rc 1
	assert_file_eq "$T_TMP/last-long.expected" "$OUT"
	assert_summary WARN 1 1
	begin "an over-long last line ($size bytes) without a final newline is reported (pipe)"
	qs_pinned_pipe "$LAST" --batch - "${DEFAULTS[@]}" "${KEYARGS[@]}"
	assert_rc 1
	assert_file_eq "$T_TMP/last-long.expected" "$OUT"
	assert_summary WARN 1 1
done

begin "a last line without a final newline is issued"
NONL=$T_TMP/nonl.jsonl
printf '%s\n%s' "$OKLINE" '{"userid":"last","userdir":"D","username":"L","useremail":"l@x"}' >"$NONL"
expect_singles "$NONL" "$T_TMP/nonl.expected" "${DEFAULTS[@]}" -- "${SINGLE[@]}"
qs_pinned --batch "$NONL" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_file_eq "$T_TMP/nonl.expected" "$OUT"
assert_summary INFO 2 0

# ---- values a single run cannot be given ----------------------------------------------------

begin "a \\u0000 in a value is not issued (a single run cannot be given it; no truncated user)"
printf '%s\n' '{"userid":"admin\u0000evil","userdir":"D","username":"A","useremail":"a@x"}' \
	'{"userid":"a","userdir":"D","username":"A\u0000B","useremail":"a@x"}' "$OKLINE" >"$T_TMP/nul.jsonl"
qs_pinned --batch "$T_TMP/nul.jsonl" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 1
assert_eq '{"line":1,"error":' "$(sed -n 1p "$OUT" | cut -c1-18)" "start of output line 1"
assert_eq '{"line":2,"error":' "$(sed -n 2p "$OUT" | cut -c1-18)" "start of output line 2"
assert_eq '{"line":3,"userid":"ok",' "$(sed -n 3p "$OUT" | cut -c1-24)" "start of output line 3"
assert_eq 3 "$(wc -l <"$OUT")" "output lines"
assert_not_contains "$OUT" '"userid":"admin"'

begin "a raw NUL byte in a line is reported, not issued"
printf '{"userid":"a\0b","userdir":"D","username":"A","useremail":"a@x"}\n%s\n' "$OKLINE" >"$T_TMP/rawnul.jsonl"
qs_pinned --batch "$T_TMP/rawnul.jsonl" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 1
assert_eq '{"line":1,"error":' "$(sed -n 1p "$OUT" | cut -c1-18)" "start of output line 1"
assert_eq '{"line":2,"userid":"ok",' "$(sed -n 2p "$OUT" | cut -c1-24)" "start of output line 2"
assert_eq 2 "$(wc -l <"$OUT")" "output lines"

begin "\"groups\":[] gives the token of a single run without --groups (no group claim)"
printf '%s\n' '{"userid":"g0","userdir":"D","username":"G","useremail":"g@x","groups":[]}' >"$T_TMP/g0.jsonl"
expect_singles "$T_TMP/g0.jsonl" "$T_TMP/g0.expected" "${DEFAULTS[@]}" -- "${SINGLE[@]}"
qs_pinned --batch "$T_TMP/g0.jsonl" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_file_eq "$T_TMP/g0.expected" "$OUT"
assert_eq '{"userId":"g0","userDirectory":"D","name":"G","email":"g@x","iat":1893456000,"exp":1893459600,"aud":"qlik-aud"}' \
	"$(jwt_payload "$(out_tokens "$OUT" 1 | cut -d' ' -f2)")" "payload"

# ---- comments and empty lines -----------------------------------------------------------------

COM=$T_TMP/comments.jsonl
cat >"$COM" <<'EOF'
# users for the batch (line 1)

{"userid":"c3","userdir":"D","username":"Three","useremail":"c3@x","groups":["G"]}
#{"userid":"commented","userdir":"D","username":"C","useremail":"c@x"}


{"userid":"c7","userdir":"D","username":"Seven","useremail":"c7@x","expires":"3h"}
# a comment between users
#
not json on line 10

{"userid":"c12","userdir":"D","username":"Twelve","useremail":"c12@x"}
# the end

EOF

begin "comments and empty lines are skipped; line numbers count every physical line"
expect_singles "$COM" "$T_TMP/comments.expected" --error "10:$NOTOBJ" "${DEFAULTS[@]}" -- "${SINGLE[@]}"
qs_pinned --batch "$COM" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 1
assert_file_eq "$T_TMP/comments.expected" "$OUT"
assert_eq '3 7 10 12' "$(sed 's/^{"line":\([0-9]*\),.*/\1/' "$OUT" | tr '\n' ' ' | sed 's/ $//')" "line numbers"
assert_not_contains "$OUT" commented
assert_summary WARN 3 1

begin "comments and empty lines through a pipe: the same output"
qs_pinned_pipe "$COM" --batch - "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 1
assert_file_eq "$T_TMP/comments.expected" "$OUT"

begin "only comments and empty lines: nothing to issue, exit 0, empty stdout"
printf '# nothing\n\n#{"userid":"x","userdir":"D","username":"N","useremail":"e"}\n\n' >"$T_TMP/only.jsonl"
qs_pinned --batch "$T_TMP/only.jsonl" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_empty_stdout
assert_summary INFO 0 0

begin "an empty file: exit 0, empty stdout"
: >"$T_TMP/empty.jsonl"
qs_pinned --batch "$T_TMP/empty.jsonl" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_empty_stdout
assert_summary INFO 0 0

# ---- standard input -----------------------------------------------------------------------------

begin "--batch - with the users on stdin (a file): equals the single runs"
qs_pinned_stdin "$USERS" --batch - "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_file_eq "$EXP20" "$OUT"
assert_summary INFO "$N_USERS" 0

begin "--batch - with the users through a pipe, --jobs 2: equals the single runs"
qs_pinned_pipe "$USERS" --batch - --jobs 2 "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_file_eq "$EXP20" "$OUT"
assert_summary INFO "$N_USERS" 0

# ---- usage errors -------------------------------------------------------------------------------

for opt in userdir userid username useremail; do
	begin "--$opt with --batch: usage error, exit 2, nothing on stdout"
	qs --batch "$USERS" "--$opt" x "${DEFAULTS[@]}" "${KEYARGS[@]}"
	assert_usage_error "--$opt cannot be used with --batch"
done

begin "--groups with --batch: usage error, exit 2"
qs --batch "$USERS" --groups Sales Finance "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_usage_error "--groups cannot be used with --batch"

begin "--batch given after --userid: still a usage error, exit 2"
qs --userid x "${DEFAULTS[@]}" "${KEYARGS[@]}" --batch "$USERS"
assert_usage_error "--userid cannot be used with --batch"

begin "--jobs without --batch: usage error, exit 2"
qs --userdir ACME --userid jdoe --username J --useremail j@x "${DEFAULTS[@]}" "${KEYARGS[@]}" --jobs 2
assert_usage_error "--jobs only applies with --batch"

for j in 0 257 abc -1 1.5 2x '' 99999999999999999999; do
	begin "--jobs '$j': usage error, exit 2"
	qs --batch "$USERS" --jobs "$j" "${DEFAULTS[@]}" "${KEYARGS[@]}"
	assert_usage_error "--jobs must be a whole number from 1 to 256, not '$j'"
done

begin "--batch with an invalid --expires: usage error before any line, exit 2"
qs --batch "$USERS" --expires soon --audience a "${KEYARGS[@]}"
assert_usage_error "--expires 'soon' is not a timespan"

begin "--batch with a file that does not exist: exit 1, error, empty stdout"
qs --batch "$T_TMP/missing.jsonl" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 1
assert_empty_stdout
assert_contains "$ERR" "cannot read batch file '$T_TMP/missing.jsonl'"

begin "--batch with a directory: exit 1, error, empty stdout"
qs --batch "$T_TMP" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 1
assert_empty_stdout
assert_contains "$ERR" "it is a directory"

# ---- progress -----------------------------------------------------------------------------------

begin "stderr a terminal: a progress line ('\\r', issued count); stdout unchanged"
run_tty_stderr "${PINNED_CMD[@]}" --batch "$USERS" "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_file_eq "$EXP20" "$OUT"
# A pty turns "\n" into "\r\n": the progress line is the "\r" before the count.
assert_contains "$ERR" $'\r'"$N_USERS issued, "

begin "stderr a terminal, a file still being read: the progress line gives an ETA, the last one not"
ETAIN=$T_TMP/eta.jsonl
python3 - "$ETAIN" <<'EOF_PY'
import json, sys
with open(sys.argv[1], 'w') as f:
    for i in range(1, 4001):
        f.write(json.dumps({"userid": "u%d" % i, "userdir": "D", "username": "n" * 200,
                            "useremail": "u%d@example.com" % i}) + "\n")
EOF_PY
run_tty_stderr "$QSJWT_BIN" create-qseow --batch "$ETAIN" --jobs 1 "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_eq 4000 "$(wc -l <"$OUT")" "lines on stdout"
if ! grep -qaE $'\r''[0-9]+ issued, [0-9]+/s, ETA [0-9]+ s' "$ERR"; then
	fail "no progress line with an ETA: $(tr '\r' '|' <"$ERR" | head -c 400)"
fi
assert_contains "$ERR" $'\r'"4000 issued, "
assert_eq "" "$(tr '\r' '\n' <"$ERR" | grep -aE '^4000 issued, .*ETA')" "an ETA on the final progress line"

begin "stderr not a terminal: the summary line only, no '\\r'"
qs --batch "$ORDER" --jobs 2 "${DEFAULTS[@]}" "${KEYARGS[@]}"
assert_rc 0
assert_summary INFO 1500 0

finish
