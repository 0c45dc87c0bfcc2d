#!/usr/bin/env bash
# The README works as written: every fenced ```sh block of README.md is run
# against the built qs-jwt, and the test fails naming the README line of each
# block that fails.
#
# How a block runs
#   - with bash, `set -e -o pipefail`, in a fresh temporary directory that is
#     its working directory; HOME, TMPDIR and XDG_RUNTIME_DIR are fresh empty
#     directories beside it; stdin is /dev/null;
#   - the built binary is first on PATH as `qs-jwt`; no QSJWT_*, SOFTHSM2_CONF
#     or P11_KIT_* variable of the caller reaches it;
#   - it passes when it exits 0 within 120 s. A failure names the block's first
#     line and the README line of the command that failed.
#
# Directives: HTML comments, alone on a line, anywhere between the previous
# ```sh block and the one they apply to (several may precede one block):
#   <!-- readme-test: skip (REASON) -->
#       not run; the test prints REASON. For blocks that install system-wide
#       (apt-get, cmake --install, dpkg -i) or reach a Qlik server or another
#       machine.
#   <!-- readme-test: needs FIXTURE -->
#       prepare the block's directory first with fixture_FIXTURE (below):
#         pem    privatekey.pem (RSA-2048, the vectors' key), enc.pem (the same
#                key encrypted) and its passphrase in pass.txt (mode 0600)
#         token  a fresh SoftHSM2 store (SOFTHSM2_CONF exported) with the
#                token `qlik`, its user PIN in pin.txt (mode 0600), a key pair
#                `jwt-signing` made on it by `qs-jwt --cert-create` with its
#                certificate stored beside it, that certificate in
#                publickey.cer, and a JWT it signed (audience qlik-aud) in
#                token.txt and exported as TOKEN
#       A new fixture is a function fixture_NAME here; it runs in the block's
#       directory in the block's subshell (what it exports, the block sees)
#       and may start a background service if it registers the stop with
#       `group_at_exit 'kill "$PID"'`.
#   <!-- readme-test: type WORD... -->
#       run the block on a pseudo-terminal and type each WORD, in order, at
#       each prompt (output that stops without a newline), as a user would.
#   <!-- readme-test: continues -->
#       run this block in the same shell as the block before it (same
#       directory, variables, fixtures, background processes): for a block
#       that uses what the previous one started or defined.
#   <!-- readme-test: on-exit COMMAND -->
#       run COMMAND in the block's shell when its group of blocks ends, passed
#       or failed: how a block that starts a background service (`p11-kit
#       server`, `qs-jwt serve ... &`) gets it stopped, e.g. `p11-kit server -k`
#       or `kill "$SERVE_PID"`. As a safety net, each group runs in its own
#       process group, which is killed (by its id) when the group ends.
# A ```bash, ```shell or ```zsh fence, an unknown directive or a directive
# before no ```sh block is an error: every shell example is either run or
# skipped with a reason. Other fences (```cmake, plain ```) are not run.
#
# Environment: QSJWT_BIN (the qs-jwt binary), QSJWT_SOURCE_DIR (the source
# tree), README_FILE (default: QSJWT_SOURCE_DIR/README.md; the self-test
# gives its own file).
set -u
export LC_ALL=C
unset QSJWT_PKCS11_PIN QSJWT_KEY_PASSPHRASE NO_COLOR SOFTHSM2_CONF \
	P11_KIT_SERVER_ADDRESS P11_KIT_SERVER_PID PKCS11SPY PKCS11SPY_OUTPUT GNUTLS_PIN
umask 022

if [ -z "${QSJWT_BIN:-}" ] || [ ! -x "${QSJWT_BIN}" ]; then
	echo "QSJWT_BIN must name the qs-jwt binary (got '${QSJWT_BIN:-}')" >&2
	exit 2
fi
if [ -z "${QSJWT_SOURCE_DIR:-}" ] || [ ! -f "${QSJWT_SOURCE_DIR}/scripts/softhsm.sh" ]; then
	echo "QSJWT_SOURCE_DIR must name the source tree (got '${QSJWT_SOURCE_DIR:-}')" >&2
	exit 2
fi
QSJWT_BIN=$(cd "$(dirname "$QSJWT_BIN")" && pwd)/$(basename "$QSJWT_BIN")
QSJWT_SOURCE_DIR=$(cd "$QSJWT_SOURCE_DIR" && pwd)
README_FILE=${README_FILE:-$QSJWT_SOURCE_DIR/README.md}
README_NAME=$(basename "$README_FILE")
PTY_TYPE=$QSJWT_SOURCE_DIR/tests/readme/pty_type.py
BLOCK_TIMEOUT=${README_BLOCK_TIMEOUT:-120}
# shellcheck source=../../scripts/softhsm.sh
. "$QSJWT_SOURCE_DIR/scripts/softhsm.sh"

T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/qsjwt-readme.XXXXXX")
trap 'chmod -R u+rwx "$T_TMP" 2>/dev/null; rm -rf "$T_TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$T_TMP/bin"
ln -s "$QSJWT_BIN" "$T_TMP/bin/qs-jwt"

# ---- fixtures ---------------------------------------------------------------------

# Commands run when the current group ends (in its subshell), last added first.
G_CLEANUPS=()
group_at_exit() { G_CLEANUPS=("$*" "${G_CLEANUPS[@]}"); }

fixture_pem() {
	local vec=$QSJWT_SOURCE_DIR/tests/data/vectors
	(umask 077 &&
		cp "$vec/privatekey.pem" privatekey.pem &&
		od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >pass.txt &&
		openssl pkey -in privatekey.pem -aes256 -passout file:pass.txt -out enc.pem)
}

fixture_token() {
	local store=$G_DIR/softhsm pin
	pin=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
	softhsm_new "$store" qlik "$pin" || return 1
	(umask 077 && cp "$store/pin" pin.txt) || return 1
	mkdir "$G_DIR/fixture-token"
	qs-jwt create-qseow --minimal-output --pkcs11-uri 'pkcs11:token=qlik;object=jwt-signing' \
		--pkcs11-pin-file pin.txt --cert-create --cert-create-key-bits 2048 \
		--cert-create-expires-days 30 --cert-file-prefix "$G_DIR/fixture-token/" \
		--userdir ACME --userid jdoe --username 'John Doe' --useremail jdoe@acme.com \
		--expires 60m --audience qlik-aud >token.txt || return 1
	cp "$G_DIR/fixture-token/publickey.cer" publickey.cer
	TOKEN=$(cat token.txt)
	export TOKEN
}

# ---- reading the README -------------------------------------------------------------

# Per block i: first and last line of its body, directives.
B_FENCE=() B_FIRST=() B_LAST=() B_SKIP=() B_NEEDS=() B_TYPE=() B_CONT=() B_ONEXIT=()
ERRORS=()
parse() {
	local n=0 line in=0 other=0 i=-1 d_skip='' d_needs='' d_type='' d_cont=0 d_onexit='' d_any=0 d re
	re_dir='^<!--[[:space:]]*readme-test:[[:space:]]*(.*[^[:space:]])[[:space:]]*-->[[:space:]]*$'
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		if [ "$in" = 1 ]; then
			if [[ $line =~ ^[[:space:]]*\`\`\`[[:space:]]*$ ]]; then
				in=0
				B_LAST[i]=$((n - 1))
			fi
			continue
		fi
		if [ "$other" = 1 ]; then
			[[ $line =~ ^[[:space:]]*\`\`\`[[:space:]]*$ ]] && other=0
			continue
		fi
		if [[ $line =~ $re_dir ]]; then
			d=${BASH_REMATCH[1]}
			d_any=1
			case $d in
			"skip ("*")") d_skip=${d#skip (} d_skip=${d_skip%)} ;;
			"needs "*)
				for re in ${d#needs }; do
					declare -F "fixture_$re" >/dev/null ||
						ERRORS+=("$README_NAME:$n: unknown fixture '$re' (fixtures are the fixture_* functions of tests/readme/test_readme.sh)")
				done
				d_needs="$d_needs ${d#needs }" ;;
			"type "*) d_type=${d#type } ;;
			continues) d_cont=1 ;;
			"on-exit "*) d_onexit="$d_onexit${d#on-exit }"$'\n' ;;
			*) ERRORS+=("$README_NAME:$n: unknown directive '$d' (skip (REASON), needs FIXTURE, type WORD..., continues, on-exit COMMAND)") ;;
			esac
			continue
		fi
		if [[ $line =~ ^[[:space:]]*\`\`\`(.*)$ ]]; then
			case ${BASH_REMATCH[1]} in
			sh)
				in=1
				i=$((i + 1))
				B_FENCE[i]=$n B_FIRST[i]=$((n + 1)) B_SKIP[i]=$d_skip B_NEEDS[i]=$d_needs
				B_TYPE[i]=$d_type B_CONT[i]=$d_cont B_ONEXIT[i]=$d_onexit
				d_skip='' d_needs='' d_type='' d_cont=0 d_onexit='' d_any=0
				if [ "${B_CONT[i]}" = 1 ] && { [ "$i" = 0 ] || [ -n "${B_SKIP[i - 1]}" ]; }; then
					ERRORS+=("$README_NAME:$n: 'continues' needs a block before it that runs")
				fi
				;;
			bash | shell | zsh | console | "sh "*)
				ERRORS+=("$README_NAME:$n: fence '\`\`\`${BASH_REMATCH[1]}': shell examples are \`\`\`sh, marked with <!-- readme-test: ... --> comments")
				other=1 ;;
			*)
				[ "$d_any" = 1 ] && ERRORS+=("$README_NAME:$n: readme-test directive before a '\`\`\`${BASH_REMATCH[1]}' block (only \`\`\`sh blocks run)")
				d_any=0
				other=1 ;;
			esac
		fi
	done <"$README_FILE"
	[ "$in" = 1 ] && ERRORS+=("$README_NAME:${B_FENCE[i]}: block never closed")
	[ "$d_any" = 1 ] && ERRORS+=("$README_NAME: readme-test directive after the last \`\`\`sh block")
}

# ---- running a group of blocks --------------------------------------------------------

# write_script FIRST LAST FILE: blocks FIRST..LAST as one bash script in which
# every README line keeps its line number (so $LINENO is the README's).
write_script() {
	local first=$1 last=$2 file=$3 i onexit='' n=1 line
	for ((i = first; i <= last; i++)); do onexit="$onexit${B_ONEXIT[i]}"; done
	{
		# Line 1: the settings; the README's line 1 is never inside a block.
		printf 'set -e -o pipefail; trap '\''echo "$LINENO $?" >"$G_DIR/failed-at"'\'' ERR; '
		if [ -n "$onexit" ]; then
			printf 'trap %q EXIT' "$onexit"
		fi
		printf '\n'
		for ((i = first; i <= last; i++)); do
			while [ "$n" -lt $((B_FIRST[i] - 1)) ]; do
				printf '\n'
				n=$((n + 1))
			done
			sed -n "${B_FIRST[i]},${B_LAST[i]}p" "$README_FILE"
			n=${B_LAST[i]}
		done
	} >"$file"
}

PASSED=0 FAILED=0 SKIPPED=0
FAILED_BLOCKS=()

# run_group FIRST LAST: in a subshell, fixtures then the script; prints the result.
run_group() {
	local first=$1 last=$2 start=${B_FIRST[$1]} rc words=() i pid
	G_DIR=$(mktemp -d "$T_TMP/line$start.XXXXXX")
	mkdir "$G_DIR/work" "$G_DIR/home" "$G_DIR/tmp" "$G_DIR/run"
	chmod 700 "$G_DIR/run"
	write_script "$first" "$last" "$G_DIR/script.sh"
	(
		cd "$G_DIR/work" || exit 2
		export G_DIR HOME=$G_DIR/home TMPDIR=$G_DIR/tmp XDG_RUNTIME_DIR=$G_DIR/run
		export PATH=$T_TMP/bin:$PATH
		_group_cleanup() {
			local c
			for c in "${G_CLEANUPS[@]}"; do eval "$c" >/dev/null 2>&1; done
		}
		trap _group_cleanup EXIT
		for ((i = first; i <= last; i++)); do
			for f in ${B_NEEDS[i]}; do
				if ! "fixture_$f" >"$G_DIR/fixture.log" 2>&1; then
					echo "fixture '$f' failed:"
					cat "$G_DIR/fixture.log"
					exit 3
				fi
			done
			[ -n "${B_TYPE[i]}" ] && read -ra words <<<"${B_TYPE[i]}"
		done
		if [ ${#words[@]} -gt 0 ]; then
			python3 "$PTY_TYPE" "$BLOCK_TIMEOUT" "$G_DIR/output" "${words[@]}" -- \
				bash "$G_DIR/script.sh" </dev/null >/dev/null 2>&1
			rc=$?
		else
			# timeout makes its own process group: its id is timeout's PID.
			timeout -k 5 "$BLOCK_TIMEOUT" bash "$G_DIR/script.sh" </dev/null >"$G_DIR/output" 2>&1 &
			pid=$!
			wait "$pid"
			rc=$?
			kill -KILL -- "-$pid" 2>/dev/null
		fi
		cat "$G_DIR/output"
		exit "$rc"
	) >"$G_DIR/result" 2>&1
	rc=$?
	local where="$README_NAME line $start"
	[ "$last" != "$first" ] && where="$where (and the blocks after it up to line ${B_LAST[last]})"
	if [ "$rc" = 0 ]; then
		PASSED=$((PASSED + last - first + 1))
		echo "ok:   $where"
		return
	fi
	FAILED=$((FAILED + 1))
	local detail="exit $rc"
	[ "$rc" = 124 ] && detail="timed out after $BLOCK_TIMEOUT s"
	if [ -s "$G_DIR/failed-at" ]; then
		read -r fl frc <"$G_DIR/failed-at"
		detail="the command at line $fl exited $frc"
	fi
	FAILED_BLOCKS+=("$where: $detail")
	echo "FAIL: $where: $detail"
	tail -n 40 "$G_DIR/result" | sed 's/^/    /'
}

parse
if [ ${#ERRORS[@]} -gt 0 ]; then
	printf '%s\n' "${ERRORS[@]}"
	exit 1
fi
if [ ${#B_FENCE[@]} -eq 0 ]; then
	echo "no \`\`\`sh block in $README_FILE"
	exit 1
fi

i=0
while [ "$i" -lt ${#B_FENCE[@]} ]; do
	if [ -n "${B_SKIP[i]}" ]; then
		SKIPPED=$((SKIPPED + 1))
		echo "skip: $README_NAME line ${B_FIRST[i]}: ${B_SKIP[i]}"
		i=$((i + 1))
		continue
	fi
	j=$i
	while [ $((j + 1)) -lt ${#B_FENCE[@]} ] && [ "${B_CONT[j + 1]}" = 1 ]; do j=$((j + 1)); done
	run_group "$i" "$j"
	i=$((j + 1))
done

echo "$(basename "$0" .sh): $PASSED blocks passed, $SKIPPED skipped, $FAILED failed"
if [ "$FAILED" -ne 0 ]; then
	printf '  - %s\n' "${FAILED_BLOCKS[@]}"
	exit 1
fi
exit 0
