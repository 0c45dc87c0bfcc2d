#!/usr/bin/env bash
# The man pages against the binary: every option, command, environment variable
# and exit code that `--help` lists is documented in the page of that command,
# and every option a page documents exists, so the two cannot drift apart.
. "$(dirname "$0")/lib.sh"

for tool in man col perl; do
	command -v "$tool" >/dev/null || fatal "missing tool: $tool"
done

MAN_DIR=$QSJWT_BUILD_DIR/doc

# render PAGE: the page as plain text in $T_TMP/PAGE.txt, and with the line
# breaks groff makes after a hyphen undone in $T_TMP/PAGE.joined.
render() {
	local page=$1 src=$MAN_DIR/$1.1
	if [ ! -f "$src" ]; then
		fail "no rendered page $src (doc/$page.1.scd)"
		return 1
	fi
	# No hyphenation (-rHY=0): groff then breaks lines only after a hyphen
	# the text has, and joining those lines gives the text back.
	MANROFFOPT=-rHY=0 MANWIDTH=100 man -E ascii -l "$src" 2>"$T_TMP/$page.err" |
		col -bx >"$T_TMP/$page.txt"
	if [ -s "$T_TMP/$page.err" ]; then
		fail "man/groff warnings for $page: $(cat "$T_TMP/$page.err")"
	fi
	perl -0pe 's/-\n[ \t]+/-/g' "$T_TMP/$page.txt" >"$T_TMP/$page.joined"
}

# section PAGE NAME: the lines of one section (headings start in column 0).
section() {
	awk -v s="$2" '/^[^ \t]/ { on = ($0 == s); next } on' "$T_TMP/$1.txt"
}

# Definition terms: lines at the first indent (7) that the indented (11)
# text of their definition follows.
_terms() {
	awk '/^           [^ ]/ && prev ~ /^       [^ ]/ { print substr(prev, 8) } { prev = $0 }'
}

# terms PAGE SECTION: the definition terms of a section.
terms() {
	section "$1" "$2" | _terms
}

# option_terms PAGE: the options the page defines (the words starting with '-'
# of its terms that start with '-'), one per line.
option_terms() {
	_terms <"$T_TMP/$1.txt" | grep -- '^-' |
		grep -oE '(^|[ ,[])--?[a-zA-Z0-9][a-z0-9-]*' | grep -oE -- '-.*' | sort -u
}

# help_options CMD...: the options `qs-jwt CMD... --help` lists: the option
# column of its option lines (two spaces, then '-').
help_options() {
	"$QSJWT_BIN" "$@" --help >"$T_TMP/help" 2>&1 || fail "qs-jwt $* --help failed"
	sed -n 's/^  \(-[^ ].*\)$/\1/p' "$T_TMP/help" | sed 's/   .*//' |
		grep -oE '(^|[ ,[])--?[a-zA-Z0-9][a-z0-9-]*' | grep -oE -- '-.*' | sort -u
}

# help_block CMD... -- TITLE: the first words of the lines of a block of
# --help ("Commands:", "Environment:", "Exit codes:").
help_block() {
	local title=${*: -1}
	"$QSJWT_BIN" "${@:1:$#-1}" --help 2>&1 |
		awk -v t="$title" '$0 == t { on = 1; next } /^[^ ]/ || /^$/ { on = 0 } on && /^  [^ ]/ { print $1 }'
}

# mentions PAGE WORD: the page names WORD as a whole word.
mentions() {
	grep -qE -- "(^|[^A-Za-z0-9_-])$(printf '%s' "$2" | sed 's/[][().+*?^$|\\]/\\&/g')([^A-Za-z0-9_-]|$)" \
		"$T_TMP/$1.joined"
}

PAGES="qs-jwt qs-jwt-create-qseow qs-jwt-create-qscloud qs-jwt-decode qs-jwt-pkcs11 qs-jwt-serve"

for page in $PAGES; do
	begin "$page: renders, with the standard sections"
	render "$page" || continue
	for s in NAME SYNOPSIS "EXIT STATUS" ENVIRONMENT EXAMPLES "SEE ALSO"; do
		grep -qx "$s" "$T_TMP/$page.txt" || fail "$page has no $s section"
	done
	grep -qxE 'OPTIONS|COMMANDS' "$T_TMP/$page.txt" || fail "$page has neither OPTIONS nor COMMANDS"
	name=$(section "$page" NAME | sed -n 's/^ *\([^ ]*\) - .*/\1/p' | head -n 1)
	assert_eq "$page" "$name" "$page: the name in its NAME section"
	section "$page" EXAMPLES | grep -q 'qs-jwt ' || fail "$page: EXAMPLES has no qs-jwt command line"
done

# check_options PAGE CMD...: the page documents exactly the options of
# `qs-jwt CMD... --help` (with several commands: of all of them).
check_options() {
	local page=$1 opt
	shift
	: >"$T_TMP/want"
	local c
	for c in "$@"; do
		# shellcheck disable=SC2086 # a command is one or two words
		help_options $c >>"$T_TMP/want"
	done
	sort -u -o "$T_TMP/want" "$T_TMP/want"
	[ "$(wc -l <"$T_TMP/want")" -ge 2 ] || fail "found no options in the --help of: $*"
	option_terms "$page" >"$T_TMP/have"
	while read -r opt; do
		mentions "$page" "$opt" || fail "$page does not mention $opt"
	done <"$T_TMP/want"
	assert_eq "" "$(comm -23 "$T_TMP/want" "$T_TMP/have" | tr '\n' ' ')" \
		"$page: options of --help without an entry of their own"
	assert_eq "" "$(comm -13 "$T_TMP/want" "$T_TMP/have" | tr '\n' ' ')" \
		"$page: documented options that --help does not list"
}

# check_block PAGE SECTION CMD... -- TITLE: every entry of a --help block is a
# term of the page's section.
check_block() {
	local page=$1 sect=$2 w n=0
	shift 2
	terms "$page" "$sect" | tr ',' '\n' | sed 's/^ *//; s/ .*//' >"$T_TMP/terms"
	while read -r w; do
		n=$((n + 1))
		grep -qxF -- "$w" "$T_TMP/terms" || fail "$page: '$w' (qs-jwt ${*:1:$#-1} --help) is not in $sect"
	done < <(help_block "$@")
	[ "$n" -gt 0 ] || fail "no '${*: -1}' block in qs-jwt ${*:1:$#-1} --help"
}

begin "qs-jwt: the top-level options"
check_options qs-jwt ""

begin "qs-jwt: every command, with a page of its own"
check_block qs-jwt COMMANDS "Commands:"
help_block "Commands:" >"$T_TMP/commands"
assert_eq "create-qseow create-qscloud decode pkcs11 serve " "$(tr '\n' ' ' <"$T_TMP/commands")" "commands of qs-jwt --help"
while read -r c; do
	[ -f "$MAN_DIR/qs-jwt-$c.1" ] || fail "command $c has no page qs-jwt-$c.1"
	mentions qs-jwt "qs-jwt-$c(1)" || fail "qs-jwt(1) does not refer to qs-jwt-$c(1)"
done <"$T_TMP/commands"

begin "qs-jwt: exit codes and environment"
check_block qs-jwt "EXIT STATUS" "Exit codes:"
check_block qs-jwt ENVIRONMENT "Environment:"
terms qs-jwt ENVIRONMENT | tr ',' '\n' | sed 's/^ *//' >"$T_TMP/env"
for v in QSJWT_KEY_PASSPHRASE QSJWT_PKCS11_PIN NO_COLOR SOFTHSM2_CONF P11_KIT_SERVER_ADDRESS; do
	grep -qxF "$v" "$T_TMP/env" || fail "qs-jwt(1) ENVIRONMENT has no entry for $v"
done
terms qs-jwt "EXIT STATUS" >"$T_TMP/codes"
assert_eq "0 1 2 3 4 5 128+N " "$(tr '\n' ' ' <"$T_TMP/codes")" "qs-jwt(1) exit codes"

for c in create-qseow create-qscloud decode serve; do
	page=qs-jwt-$c
	begin "$page: every option of qs-jwt $c --help, and no other"
	check_options "$page" "$c"
	begin "$page: exit codes and environment of --help"
	check_block "$page" "EXIT STATUS" "$c" "Exit codes:"
	check_block "$page" ENVIRONMENT "$c" "Environment:"
done

begin "qs-jwt-pkcs11: the options of both subcommands"
check_options qs-jwt-pkcs11 "pkcs11 list-tokens" "pkcs11 list-keys"

begin "qs-jwt-pkcs11: both subcommands, in it and in qs-jwt(1)"
"$QSJWT_BIN" pkcs11 --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' >"$T_TMP/subs"
assert_eq "list-tokens list-keys " "$(tr '\n' ' ' <"$T_TMP/subs")" "subcommands of qs-jwt pkcs11 --help"
terms qs-jwt-pkcs11 COMMANDS >"$T_TMP/subterms"
while read -r s; do
	grep -qxF "$s" "$T_TMP/subterms" || fail "qs-jwt-pkcs11(1) COMMANDS has no entry for $s"
	mentions qs-jwt "$s" || fail "qs-jwt(1) does not name pkcs11 $s"
done <"$T_TMP/subs"
check_block qs-jwt-pkcs11 "EXIT STATUS" pkcs11 list-keys "Exit codes:"

begin "qs-jwt-pkcs11: the URI attributes, PIN rules and environment"
for s in "PKCS#11 URIS" "PIN RULES"; do
	grep -qx "$s" "$T_TMP/qs-jwt-pkcs11.txt" || fail "qs-jwt-pkcs11 has no $s section"
done
for a in token manufacturer serial model library-manufacturer library-description \
	library-version object id type module-path module-name pin-source pin-value; do
	mentions qs-jwt-pkcs11 "$a" || fail "qs-jwt-pkcs11(1) does not name the URI attribute $a"
done
terms qs-jwt-pkcs11 ENVIRONMENT >"$T_TMP/env"
for v in QSJWT_PKCS11_PIN SOFTHSM2_CONF P11_KIT_SERVER_ADDRESS; do
	grep -qxF "$v" "$T_TMP/env" || fail "qs-jwt-pkcs11(1) ENVIRONMENT has no entry for $v"
done

begin "qs-jwt-create-qseow: the files --cert-create writes"
terms qs-jwt-create-qseow FILES >"$T_TMP/files"
assert_eq "PREFIXpublickey.pem PREFIXpublickey.cer PREFIXprivatekey.pem " \
	"$(tr '\n' ' ' <"$T_TMP/files")" "FILES entries"
section qs-jwt-create-qseow FILES | grep -q 'mode 0600' || fail "FILES does not give the key file's mode 0600"

begin "the help check can fail: an option missing from a page is found"
cp "$T_TMP/qs-jwt-decode.txt" "$T_TMP/saved.txt"
grep -v -- '--clock-skew' "$T_TMP/saved.txt" >"$T_TMP/qs-jwt-decode.txt"
option_terms qs-jwt-decode >"$T_TMP/have"
help_options decode >"$T_TMP/want"
assert_eq "--clock-skew " "$(comm -23 "$T_TMP/want" "$T_TMP/have" | tr '\n' ' ')" "options missing from a cut page"
cp "$T_TMP/saved.txt" "$T_TMP/qs-jwt-decode.txt"

finish
