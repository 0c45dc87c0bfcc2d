#!/bin/sh
# The public header marks calls whose result must be read: ignoring the
# result of qsjwt_jwt_verify (or any call returning a qsjwt_err) is a
# compiler diagnostic. Usage: test_must_use.sh CC INCLUDE_DIR
set -u
cc=$1
inc=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qsjwt-mustuse.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0

cat >"$tmp/used.c" <<'C'
#include <qsjwt/qsjwt.h>
int f(const qsjwt_jwt *t, const qsjwt_pubkey *k, const qsjwt_verify_opts *o,
      qsjwt_verify_result *r)
{
	return qsjwt_jwt_verify(t, k, o, r) == QSJWT_OK && r->valid;
}
C
cat >"$tmp/ignored.c" <<'C'
#include <qsjwt/qsjwt.h>
int f(const qsjwt_jwt *t, const qsjwt_pubkey *k, const qsjwt_verify_opts *o,
      qsjwt_verify_result *r)
{
	qsjwt_jwt_verify(t, k, o, r);
	return r->valid;
}
C
cat >"$tmp/ignored2.c" <<'C'
#include <qsjwt/qsjwt.h>
void f(qsjwt_signer *s, char **tok)
{
	qsjwt_jwt_sign(s, QSJWT_RS256, "{}", 2, tok);
}
C
for std in c11 c99; do
	if ! "$cc" -std=$std -Wall -Werror -c -o "$tmp/o.o" -I "$inc" "$tmp/used.c" 2>"$tmp/err"; then
		echo "FAIL: a call whose result is used does not compile (-std=$std):"
		cat "$tmp/err"
		fails=$((fails + 1))
	fi
	for f in ignored ignored2; do
		if "$cc" -std=$std -Werror -c -o "$tmp/o.o" -I "$inc" "$tmp/$f.c" 2>"$tmp/err"; then
			echo "FAIL: $f.c (-std=$std) compiles although a qsjwt_err result is ignored"
			fails=$((fails + 1))
		elif ! grep -q "unused-result\|warn_unused_result\|nodiscard" "$tmp/err"; then
			echo "FAIL: $f.c (-std=$std) fails for another reason:"
			cat "$tmp/err"
			fails=$((fails + 1))
		fi
	done
done
[ "$fails" = 0 ] && echo "test_must_use: all cases passed"
exit $((fails != 0))
