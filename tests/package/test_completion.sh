#!/usr/bin/env bash
# The shell completions: completions/qs-jwt.bash called the way bash calls it
# (COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT) and completions/_qs-jwt run
# by zsh's completion system in a pseudo-terminal. Both must offer exactly the
# options that `qs-jwt <command> --help` lists, so they cannot drift apart.
. "$(dirname "$0")/lib.sh"

command -v zsh >/dev/null || fatal "missing tool: zsh"

BASH_COMP=$QSJWT_SOURCE_DIR/completions/qs-jwt.bash
ZSH_COMP=$QSJWT_SOURCE_DIR/completions/_qs-jwt
ZSH_COMPLETE=$PKG_DIR/zsh_complete.zsh

# A directory with known files for file-name completion.
WORK=$T_TMP/work
mkdir -p "$WORK/sub"
touch "$WORK/key.pem" "$WORK/other.txt"

# bcomp WORD...: what the bash completion offers when the cursor ends the
# last word (sorted, space-separated), from a fresh bash in $WORK.
bcomp() {
	(cd "$WORK" && bash --norc --noprofile -c '
		. "$1" || exit 3
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=(unset)
		_qs_jwt qs-jwt "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || exit 4
		((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"' _ "$BASH_COMP" "$@") | sort | tr '\n' ' '
}

# zcomp LINE: the same for zsh.
zcomp() {
	local out rc
	out=$(zsh -f "$ZSH_COMPLETE" "$QSJWT_SOURCE_DIR/completions" "$WORK" "$1")
	rc=$?
	[ "$rc" = 0 ] || fail "zsh completion session for '$1' failed ($rc)"
	printf '%s\n' "$out" | sed '/^$/d' | tr '\n' ' '
}

# help_options CMD...: the options `qs-jwt CMD... --help` lists (the option
# column of its option lines), one per line.
help_options() {
	"$QSJWT_BIN" "$@" --help 2>&1 | sed -n 's/^  \(-[^ ].*\)$/\1/p' | sed 's/   .*//' |
		grep -oE '(^|[ ,[])--?[a-zA-Z0-9][a-z0-9-]*' | grep -oE -- '-.*' | sort -u
}

help_commands() {
	"$QSJWT_BIN" --help | awk '$0 == "Commands:" { on = 1; next } /^$/ { on = 0 } on { print $1 }'
}

# ---- bash --------------------------------------------------------------------

begin "bash: the script parses and registers _qs_jwt for qs-jwt"
bash -n "$BASH_COMP" || fail "bash -n $BASH_COMP"
got=$(bash --norc -c '. "$1"; complete -p qs-jwt' _ "$BASH_COMP" 2>&1)
assert_eq "complete -F _qs_jwt qs-jwt" "$got" "complete -p qs-jwt"
# With bash-completion's own helpers loaded as well.
if [ -f /usr/share/bash-completion/bash_completion ]; then
	got=$(bash --norc -c '. /usr/share/bash-completion/bash_completion; . "$1"; complete -p qs-jwt' \
		_ "$BASH_COMP" 2>&1)
	assert_eq "complete -F _qs_jwt qs-jwt" "$got" "complete -p qs-jwt with bash-completion"
fi

begin "bash: commands and subcommands"
assert_eq "create-qscloud create-qseow " "$(bcomp qs-jwt cr)" "qs-jwt cr"
assert_eq "list-keys list-tokens " "$(bcomp qs-jwt pkcs11 l)" "qs-jwt pkcs11 l"
want=$( (help_commands; echo --help; echo --version) | sort | tr '\n' ' ')
assert_eq "$want" "$(bcomp qs-jwt '')" "qs-jwt <TAB> against qs-jwt --help"
assert_eq "--json " "$(bcomp qs-jwt --version '')" "qs-jwt --version <TAB>"

begin "bash: options by prefix"
assert_eq "--cert-privatekey-file " "$(bcomp qs-jwt create-qseow --cert-privatekey-f)" \
	"create-qseow --cert-privatekey-f"
assert_eq "--subject " "$(bcomp qs-jwt create-qscloud --subj)" "create-qscloud --subj"
assert_eq "--jwt --jwt-file " "$(bcomp qs-jwt decode --jw)" "decode --jw"
assert_eq "" "$(bcomp qs-jwt decode --batch)" "decode has no --batch"

begin "bash: values of fixed sets"
assert_eq "warn warning " "$(bcomp qs-jwt decode --loglevel w)" "decode --loglevel w"
assert_eq "debug error info verbose warn warning " "$(bcomp qs-jwt pkcs11 list-keys --loglevel '')" \
	"pkcs11 list-keys --loglevel <TAB>"
assert_eq "RS256 RS384 RS512 " "$(bcomp qs-jwt create-qseow --alg RS)" "create-qseow --alg RS"
assert_eq "false true " "$(bcomp qs-jwt create-qseow --cert-create '')" "--cert-create <TAB>"
assert_eq "--force " "$(bcomp qs-jwt create-qseow --cert-create --fo)" "--cert-create --fo"
assert_eq "true " "$(bcomp qs-jwt create-qscloud --useremail-verified t)" "--useremail-verified t"
assert_eq "2048 3072 4096 " "$(bcomp qs-jwt create-qseow --cert-create-key-bits '')" \
	"--cert-create-key-bits <TAB>"
# "--opt=value": '=' is a word of its own by default (COMP_WORDBREAKS) ...
assert_eq "warn warning " "$(bcomp qs-jwt decode --loglevel = w)" "decode --loglevel=w (split)"
assert_eq "debug error info verbose warn warning " "$(bcomp qs-jwt decode --loglevel =)" \
	"decode --loglevel= (split)"
# ... and part of the word without it.
assert_eq "--loglevel=warn --loglevel=warning " "$(bcomp qs-jwt decode --loglevel=w)" \
	"decode --loglevel=w (one word)"

begin "bash: nothing to offer for free values"
for o in --userdir --groups --expires --audience --jobs --pkcs11-uri; do
	assert_eq "" "$(bcomp qs-jwt create-qseow "$o" '')" "create-qseow $o <TAB>"
done

begin "bash: file names after options that take a file"
assert_eq "key.pem " "$(bcomp qs-jwt create-qseow --cert-privatekey-file k)" \
	"--cert-privatekey-file k"
assert_eq "key.pem other.txt sub " "$(bcomp qs-jwt create-qseow --cert-privatekey-file '')" \
	"--cert-privatekey-file <TAB>"
for o in --cert-privatekey-passphrase-file --pkcs11-pin-file --pkcs11-module --batch \
	--cert-file-prefix; do
	assert_eq "other.txt " "$(bcomp qs-jwt create-qseow "$o" o)" "create-qseow $o o"
done
for o in --jwt-file --cert-publickey-file; do
	assert_eq "key.pem " "$(bcomp qs-jwt decode "$o" k)" "decode $o k"
done
assert_eq "key.pem " "$(bcomp qs-jwt pkcs11 list-keys --pkcs11-pin-file k)" \
	"pkcs11 list-keys --pkcs11-pin-file k"

begin "bash: every command offers exactly the options of its --help"
for c in create-qseow create-qscloud decode serve "pkcs11 list-tokens" "pkcs11 list-keys"; do
	# shellcheck disable=SC2086 # a command is one or two words
	want=$(help_options $c | grep -- '^--' | tr '\n' ' ')
	[ -n "$want" ] || fail "no options in qs-jwt $c --help"
	# shellcheck disable=SC2086
	assert_eq "$want" "$(bcomp qs-jwt $c --)" "qs-jwt $c --<TAB>"
done

# ---- zsh ---------------------------------------------------------------------

begin "zsh: the function parses, is a #compdef for qs-jwt and names every command"
zsh -n "$ZSH_COMP" || fail "zsh -n $ZSH_COMP"
assert_eq "#compdef qs-jwt" "$(head -n 1 "$ZSH_COMP")" "first line of _qs-jwt"
for c in $(help_commands) list-tokens list-keys; do
	grep -q "'$c:" "$ZSH_COMP" || fail "_qs-jwt does not describe the command $c"
done

begin "zsh: commands and subcommands"
assert_eq "create-qscloud create-qseow " "$(zcomp 'qs-jwt cr')" "qs-jwt cr"
assert_eq "$(help_commands | sort | tr '\n' ' ')" "$(zcomp 'qs-jwt ')" "qs-jwt <TAB>"
assert_eq "list-keys list-tokens " "$(zcomp 'qs-jwt pkcs11 l')" "qs-jwt pkcs11 l"

begin "zsh: options and values"
assert_eq "--cert-privatekey-file " "$(zcomp 'qs-jwt create-qseow --cert-privatekey-f')" \
	"create-qseow --cert-privatekey-f"
assert_eq "warn warning " "$(zcomp 'qs-jwt decode --loglevel w')" "decode --loglevel w"
assert_eq "RS256 RS384 RS512 " "$(zcomp 'qs-jwt create-qseow --alg RS')" "create-qseow --alg RS"
assert_eq "false true " "$(zcomp 'qs-jwt create-qscloud --useremail-verified ')" \
	"create-qscloud --useremail-verified <TAB>"
assert_eq "2048 3072 4096 " "$(zcomp 'qs-jwt create-qseow --cert-create-key-bits ')" \
	"--cert-create-key-bits <TAB>"
assert_eq "key.pem " "$(zcomp 'qs-jwt create-qseow --cert-privatekey-file k')" \
	"--cert-privatekey-file k"
assert_eq "key.pem " "$(zcomp 'qs-jwt decode --jwt-file=k')" "decode --jwt-file=k"

begin "zsh: every command offers exactly the options of its --help"
for c in create-qseow create-qscloud decode serve "pkcs11 list-tokens" "pkcs11 list-keys"; do
	# shellcheck disable=SC2086 # a command is one or two words
	want=$(help_options $c | tr '\n' ' ')
	assert_eq "$want" "$(zcomp "qs-jwt $c -")" "qs-jwt $c -<TAB>"
done

finish
