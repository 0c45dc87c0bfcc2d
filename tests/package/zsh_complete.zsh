#!/usr/bin/env zsh
# zsh_complete.zsh FPATH_DIR WORK_DIR LINE: the candidates zsh's completion
# system offers when TAB is pressed after LINE, in an interactive zsh (in a
# pseudo-terminal) with FPATH_DIR first in fpath, in WORK_DIR; sorted, one per
# line. A wrapper around compadd prints what each call adds.
# Exit 2 when the session does not answer.
emulate -L zsh
zmodload zsh/zpty || exit 2

local dir=$1 work=$2 line=$3 out= all= ok=0
integer i

zpty qsjwt_z zsh -f -i || exit 2
{
	zpty -w qsjwt_z "cd ${(q)work} && fpath=(${(q)dir} \$fpath)"
	zpty -w qsjwt_z 'autoload -Uz compinit && compinit -u -D'
	# No listing: the candidates come from the wrapper, and nothing can stop
	# at a "do you wish to see all" prompt.
	zpty -w qsjwt_z 'unsetopt auto_list list_ambiguous; setopt no_beep'
	zpty -w qsjwt_z 'compadd() {
		if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
		local -a __hits
		builtin compadd -A __hits "$@"
		local h; for h in $__hits; do print -r -- "<CAND>$h"; done
		builtin compadd "$@"
	}'
	# ^X^G (no special key of the terminal driver) prints the end marker
	# from within zle, after the keys before it.
	zpty -w qsjwt_z 'qsjwt-done() { print -r -- "<DO""NE>"; BUFFER= }; zle -N qsjwt-done'
	zpty -w qsjwt_z 'bindkey "^X^G" qsjwt-done'
	# Type only once zle reads the keys, at the prompt after this command.
	zpty -w qsjwt_z "PS1='<PRO''MPT>'; print '<REA''DY>'"
	for ((i = 0; i < 500; i++)); do
		if zpty -r -t qsjwt_z out; then
			all+=$out
			[[ $all == *'<READY>'*'<PROMPT>'* ]] && { ok=1; break }
		else
			sleep 0.02
		fi
	done
	((ok)) || exit 2
	all= ok=0
	zpty -w -n qsjwt_z "$line"$'\t'$'\C-x\C-g'
	for ((i = 0; i < 1000; i++)); do
		if zpty -r -t qsjwt_z out; then
			all+=$out
			[[ $all == *'<DONE>'* ]] && { ok=1; break }
		else
			sleep 0.02
		fi
	done
	((ok)) || exit 2
} always {
	zpty -d qsjwt_z 2>/dev/null
}
print -rl -- ${(f)all//$'\r'/} | sed -n 's/.*<CAND>//p' | sort -u
