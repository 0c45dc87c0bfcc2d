# bash completion for qs-jwt(1)                                   -*- shell-script -*-
#
# Installed as share/bash-completion/completions/qs-jwt. Self-contained: it
# needs none of bash-completion's helpers, so it also works when sourced alone.
# The option lists follow `qs-jwt <command> --help`; tests/package/test_man.sh
# and test_completion.sh keep the three in step.

_qs_jwt_commands='create-qseow create-qscloud decode pkcs11 serve'
_qs_jwt_pkcs11_commands='list-tokens list-keys create-cert'

_qs_jwt_key_opts='--cert-privatekey-file --cert-privatekey-passphrase-file
	--cert-privatekey --pkcs11-uri --pkcs11-module --pkcs11-module-init --pkcs11-pin-file
	--allow-pin-in-uri --pkcs11-pin-final-try --cert-create --cert-create-key-bits
	--cert-create-expires-days --cert-file-prefix --force'

_qs_jwt_opts_create_qseow="--userdir --userid --username --useremail --groups
	--expires --audience --alg --batch --jobs $_qs_jwt_key_opts
	--loglevel --minimal-output --help --version"

_qs_jwt_opts_create_qscloud="--issuer --keyid --keyid-from-key --sub --subject --username --useremail
	--useremail-verified --groups --expires --alg $_qs_jwt_key_opts
	--loglevel --minimal-output --help --version"

_qs_jwt_opts_decode='--jwt --jwt-file --cert-publickey-file --cert-publickey
	--pkcs11-uri --pkcs11-module --pkcs11-module-init --pkcs11-pin-file --allow-pin-in-uri
	--pkcs11-pin-final-try --clock-skew --expected-audience --profile --userid-claim
	--userdir-claim --expected-issuer --expected-keyid --minimal-output --json
	--loglevel --help --version'

_qs_jwt_opts_serve='--listen --socket-mode --jobs --queue --policy --audit-log --audit-syslog
	--connection-timeout --certificate --alg --tls-cert --tls-key --tls-client-ca
	--cert-privatekey-file
	--cert-privatekey-passphrase-file --cert-privatekey --pkcs11-uri --pkcs11-module
	--pkcs11-module-init --pkcs11-pin-file --allow-pin-in-uri --pkcs11-pin-final-try --loglevel
	--help --version'

_qs_jwt_opts_pkcs11='--pkcs11-uri --pkcs11-module --pkcs11-module-init --pkcs11-pin-file
	--allow-pin-in-uri --pkcs11-pin-final-try --json --loglevel --help --version'

_qs_jwt_opts_pkcs11_create_cert='--pkcs11-uri --pkcs11-module --pkcs11-module-init --pkcs11-pin-file
	--allow-pin-in-uri --pkcs11-pin-final-try --cert-create-expires-days
	--cert-file-prefix --store-on-token --force --qscloud-issuer --keyid --jwk --loglevel --help
	--version'

# Options whose value is a file name.
_qs_jwt_file_opts=' --cert-privatekey-file --cert-privatekey-passphrase-file
	--pkcs11-pin-file --pkcs11-module --jwt-file --cert-publickey-file --batch
	--cert-file-prefix --policy --audit-log --certificate '

# Options that take a value we cannot guess: complete nothing after them.
_qs_jwt_value_opts=' --userdir --userid --username --useremail --groups --expires --audience
	--jobs --cert-privatekey --pkcs11-uri --pkcs11-module-init --cert-create-expires-days --issuer --keyid
	--sub --subject --jwt --cert-publickey --clock-skew --expected-audience
	--userid-claim --userdir-claim --expected-issuer --expected-keyid
	--listen --socket-mode --connection-timeout --qscloud-issuer '

# Whether word $2 is one of the words of $1.
_qs_jwt_in()
{
	local w
	for w in $1; do
		[[ $w == "$2" ]] && return 0
	done
	return 1
}

# COMPREPLY from the words of $1 that start with $2.
_qs_jwt_words()
{
	local w
	COMPREPLY=()
	for w in $1; do
		[[ $w == "$2"* ]] && COMPREPLY+=("$w")
	done
}

_qs_jwt_files()
{
	# compopt only works while readline runs a completion.
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$1")
}

# The completions of the value $2 of option $1, or of the option word $2.
_qs_jwt_complete()
{
	local opts=$1 prev=$2 cur=$3

	case $prev in
	--loglevel) _qs_jwt_words 'error warn warning info verbose debug' "$cur"; return ;;
	--alg) _qs_jwt_words 'RS256 RS384 RS512' "$cur"; return ;;
	--cert-create-key-bits) _qs_jwt_words '2048 3072 4096' "$cur"; return ;;
	--useremail-verified) _qs_jwt_words 'true false' "$cur"; return ;;
	--profile) _qs_jwt_words 'qseow qscloud' "$cur"; return ;;
	--cert-create)
		# The value is optional: the next word may be an option instead.
		if [[ $cur != -* ]]; then
			_qs_jwt_words 'true false' "$cur"
			return
		fi
		;;
	esac
	if _qs_jwt_in "$_qs_jwt_file_opts" "$prev"; then
		_qs_jwt_files "$cur"
		return
	fi
	if _qs_jwt_in "$_qs_jwt_value_opts" "$prev"; then
		COMPREPLY=()
		return
	fi
	_qs_jwt_words "$opts" "$cur"
}

_qs_jwt()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=
	local cmd=${COMP_WORDS[1]:-}
	local pre='' opts i

	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# "--opt=value": split into option and value, whether or not '=' is in
	# COMP_WORDBREAKS (by default it is, and "=" arrives as a word of its own).
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		cur=${cur#*=}
		pre=$prev=
	fi

	if ((COMP_CWORD == 1)); then
		_qs_jwt_words "$_qs_jwt_commands --help --version" "$cur"
		return 0
	fi

	case $cmd in
	--version)
		((COMP_CWORD == 2)) && _qs_jwt_words '--json' "$cur"
		return 0
		;;
	create-qseow) opts=$_qs_jwt_opts_create_qseow ;;
	create-qscloud) opts=$_qs_jwt_opts_create_qscloud ;;
	decode) opts=$_qs_jwt_opts_decode ;;
	serve) opts=$_qs_jwt_opts_serve ;;
	pkcs11)
		if ((COMP_CWORD == 2)); then
			_qs_jwt_words "$_qs_jwt_pkcs11_commands --help" "$cur"
			return 0
		fi
		_qs_jwt_in "$_qs_jwt_pkcs11_commands" "${COMP_WORDS[2]}" || return 0
		opts=$_qs_jwt_opts_pkcs11
		[[ ${COMP_WORDS[2]} == create-cert ]] && opts=$_qs_jwt_opts_pkcs11_create_cert
		;;
	*) return 0 ;;
	esac

	_qs_jwt_complete "$opts" "$prev" "$cur"
	if [[ -n $pre ]]; then
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=$pre${COMPREPLY[i]}
		done
	fi
	return 0
}

complete -F _qs_jwt qs-jwt
