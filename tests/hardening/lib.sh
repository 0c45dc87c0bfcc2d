# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Shared helpers for the hardening tests (secret hygiene, injected faults,
# limits). They build on the SoftHSM2 helpers (tests/softhsm/lib.sh: begin,
# fail, finish, run, with_env, hsm_*, assert_*), and add what faults need:
# stdout on /dev/full or a closed pipe, usage errors of any command, file
# listings before and after a run, and leak checks over 16-character windows.
#
#   . "$(dirname "$0")/lib.sh"
#   begin "what this case checks"
#   full_run create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$KEY"
#   assert_fails 1 "cannot write to standard output: No space left on device"
#   finish
#
# Environment: QSJWT_BIN, QSJWT_SOURCE_DIR (as tests/softhsm/lib.sh),
# QSJWT_TEST_DATA (tests/data), BAD_INIT_MODULE and BAD_NOSYM_MODULE (the
# test modules built from bad_init.c and bad_no_symbol.c; only the fault
# script needs them).

# shellcheck source=../softhsm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../softhsm/lib.sh"

# The markers: recognizable in any log, any file, any core.
PASS_MARK='MARKER-pass-7f3a'
PIN_MARK='MARKER-pin-9c1d'

# ---- running with a broken stdout -----------------------------------------------------

# full_run ARGS...: qs-jwt ARGS with stdout on /dev/full (stderr to $ERR,
# $OUT emptied: nothing can arrive there).
full_run() {
	: >"$OUT"
	timeout -k 5 "$(_run_timeout)" env "${RUN_ENV[@]}" "$QSJWT_BIN" "$@" >/dev/full 2>"$ERR" </dev/null
	RC=$?
	_after_run
}

# pipe_run ARGS...: qs-jwt ARGS with stdout on a pipe whose reader is gone
# and SIGPIPE at its default action (as from an ordinary shell): the write
# fails with EPIPE only if qs-jwt ignores SIGPIPE, else it dies (141).
pipe_run() {
	local fifo=$T_TMP/closed.fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	exec 7<>"$fifo" # a reader, so that opening for writing does not block
	exec 8>"$fifo"
	exec 7<&- # no reader left
	: >"$OUT"
	timeout -k 5 "$(_run_timeout)" env --default-signal=PIPE "${RUN_ENV[@]}" "$QSJWT_BIN" "$@" >&8 \
		2>"$ERR" </dev/null
	RC=$?
	exec 8>&-
	rm -f "$fifo"
	_after_run
}

# qsrun ARGS...: qs-jwt ARGS (any command), as `run`.
qsrun() { run "$QSJWT_BIN" "$@"; }

# ---- assertions ------------------------------------------------------------------------

# assert_stderr_log_lines: every stderr line is 'TIMESTAMP LEVEL: message',
# and no byte of stderr is a control character other than the newline.
assert_stderr_log_lines() {
	local bad
	bad=$(grep -avE "$LOG_STAMP_RE (ERROR|WARN|INFO|VERBOSE|DEBUG): " "$ERR" | head -2)
	if [ -n "$bad" ]; then
		fail "stderr lines that are not 'TIMESTAMP LEVEL: message': $(printf '%s' "$bad" | cat -v | head -c 300)"
		return 1
	fi
	if LC_ALL=C grep -aq '[[:cntrl:]]' <(tr -d '\n' <"$ERR"); then
		fail "stderr holds raw control bytes: $(LC_ALL=C grep -a '[[:cntrl:]]' "$ERR" | cat -v | head -c 300)"
		return 1
	fi
}

# assert_not_killed: the last run ended by itself (not SIGPIPE 141, not the
# timeout 124/137).
assert_not_killed() {
	case $RC in
	141) fail "killed by SIGPIPE (exit 141)" ;;
	124 | 137) fail "hung: stopped by the timeout (exit $RC)" ;;
	*) return 0 ;;
	esac
	return 1
}

# ---- leaks -------------------------------------------------------------------------------

# windows16 < TEXT: every 16-character window of each input line, one a line
# (lines shorter than 16 characters are left out).
windows16() {
	awk '{ for (i = 1; i + 15 <= length($0); i++) print substr($0, i, 16) }'
}

# pem_windows PEM...: every 16-character window of the base64 body of each
# PEM, line by line and across line ends; and every 32-digit window of the
# hex of the body (a hex dump of 16 bytes).
pem_windows() {
	local pem
	for pem in "$@"; do
		grep -vE '^-----|^[A-Za-z-]+:|^$' "$pem" | tr -d '\r' >"$T_TMP/pem.body"
		windows16 <"$T_TMP/pem.body"
		tr -d '\n' <"$T_TMP/pem.body" | windows16
		base64 -d <"$T_TMP/pem.body" 2>/dev/null | od -An -v -tx1 | tr -d ' \n' |
			awk '{ for (i = 1; i + 31 <= length($0); i += 2) print substr($0, i, 32) }'
	done | LC_ALL=C sort -u
}

# assert_no_window FILE PATTERNS WHAT: FILE holds none of the fixed strings of
# the file PATTERNS (case-insensitive: hex may be upper case).
assert_no_window() {
	local hit
	if [ ! -s "$2" ]; then
		fail "no patterns for $3 (the check would be empty)"
		return 1
	fi
	hit=$(grep -aiF -f "$2" -- "$1" | head -1 | head -c 200)
	if [ -n "$hit" ]; then
		fail "$(basename "$1") leaks $3: $(printf '%s' "$hit" | cat -v)"
		return 1
	fi
}

# token_patterns TOKEN...: what of each token must never be logged: the whole
# token, its signature and every 16-character window of the signature.
token_patterns() {
	local t
	for t in "$@"; do
		printf '%s\n' "$t" "${t##*.}"
		printf '%s\n' "${t##*.}" | windows16
	done | LC_ALL=C sort -u
}

# ---- file listings ------------------------------------------------------------------------

# listing DIR...: every entry under each DIR with type, size, mode and
# modification time (ns), sorted: two equal listings mean nothing was
# created, removed, rewritten or touched.
listing() {
	local d
	for d in "$@"; do
		find "$d" -mindepth 1 -printf "$d/%P %y %s %m %T@\n"
	done | LC_ALL=C sort
}

# listing_names DIR...: the names only (for checks of what was added).
listing_names() {
	local d
	for d in "$@"; do
		find "$d" -mindepth 1 -printf "$d/%P\n"
	done | LC_ALL=C sort
}

# token_store_objects: the object files of the current SoftHSM2 store with
# their contents' hashes. SoftHSM2 rewrites its own token.object, generation
# and lock files on every login; those say nothing about what qs-jwt did and
# are left out.
token_store_objects() {
	find "$HSM_DIR/tokens" -type f ! -name token.object ! -name generation ! -name '*.lock' \
		-exec sha256sum {} + 2>/dev/null | awk '{ print $2, $1 }' | LC_ALL=C sort
}

# ptool_objects: the objects of the current token as pkcs11-tool lists them
# after a login (class, label, id, usage ...), one block a line, sorted.
ptool_objects() {
	ptool --list-objects 2>/dev/null | awk '
		/^[^ \t]/ { if (b != "") print b; b = $0; next }
		{ gsub(/^[ \t]+/, ""); b = b " | " $0 }
		END { if (b != "") print b }' | LC_ALL=C sort
}
