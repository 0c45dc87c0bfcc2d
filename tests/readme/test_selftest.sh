#!/usr/bin/env bash
# test_readme.sh can fail: it runs tests/readme/selftest.md and must report
# the skip, the passes and the failure by their line numbers, run a group in
# one shell, stop what the blocks started, and refuse bad markup
# (selftest-bad.md). Environment: as test_readme.sh.
set -u
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
fails=0
check() { # check DESCRIPTION COMMAND...
	if "${@:2}"; then echo "ok:   $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}
has() { grep -qxF -- "$1" "$out"; }
# alive PIDFILE: the process runs (a killed one may stay a zombie a while).
alive() {
	local s
	[ -s "$1" ] && s=$(ps -o stat= -p "$(cat "$1")") && [ "${s#Z}" = "$s" ]
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qsjwt-readme-self.XXXXXX")
trap 'for f in "$tmp"/out/*.pid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; rm -rf "$tmp"' EXIT
mkdir "$tmp/out"
out=$tmp/report

SELFTEST_OUT=$tmp/out README_FILE=$here/selftest.md bash "$here/test_readme.sh" >"$out" 2>&1
rc=$?
sed 's/^/  | /' "$out"
check "exit 1: a block failed" [ "$rc" = 1 ]
check "the skip and its reason" has "skip: selftest.md line 5: shows the skip reason"
check "the passing block" has "ok:   selftest.md line 11"
check "the failing block, by its line and the failing command's" \
	has "FAIL: selftest.md line 19: the command at line 21 exited 3"
check "the failing block's output" has "    before the failure"
check "nothing after the failure ran" eval '! grep -q "never reached" "$out"'
check "the group ran in one shell" has "ok:   selftest.md line 30 (and the blocks after it up to line 39)"
check "the group's on-exit ran" grep -qx stopped "$tmp/out/on-exit"
check "the group's service is stopped" eval '[ -s "$tmp/out/service.pid" ] && ! alive "$tmp/out/service.pid"'
check "the forgotten process is killed" eval '[ -s "$tmp/out/forgotten.pid" ] && ! alive "$tmp/out/forgotten.pid"'
check "the typed word" has "ok:   selftest.md line 51"
check "fixture pem" has "ok:   selftest.md line 57"
check "fixture token" has "ok:   selftest.md line 63"
check "the summary" has "test_readme: 7 blocks passed, 1 skipped, 1 failed"

README_FILE=$here/selftest-bad.md bash "$here/test_readme.sh" >"$out" 2>&1
rc=$?
sed 's/^/  | /' "$out"
check "bad markup: exit 1" [ "$rc" = 1 ]
check "a bash fence" has "selftest-bad.md:3: fence '\`\`\`bash': shell examples are \`\`\`sh, marked with <!-- readme-test: ... --> comments"
check "an unknown directive" has "selftest-bad.md:7: unknown directive 'frobnicate' (skip (REASON), needs FIXTURE, type WORD..., continues, on-exit COMMAND)"
check "an unknown fixture" has "selftest-bad.md:12: unknown fixture 'nosuchfixture' (fixtures are the fixture_* functions of tests/readme/test_readme.sh)"
check "nothing ran" eval '! grep -q "^ok:" "$out"'

if [ "$fails" -ne 0 ]; then
	echo "test_selftest: $fails checks FAILED"
	exit 1
fi
echo "test_selftest: all checks passed"
