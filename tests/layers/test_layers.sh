#!/usr/bin/env bash
# scripts/check-layers.sh proves itself: on a copy of src/ and include/ it
# passes, and each kind of bad include put into a copy fails it (exit 1) with
# one line naming FILE:LINE and the include.
. "$(dirname "$0")/../lib/common.sh"
t_need_source_dir
t_tmp layers
CHECK=$QSJWT_SOURCE_DIR/scripts/check-layers.sh
ORDER='platform < util < pkcs11 < keys < jose < pool < serve < cli'
FAILED="check-layers: FAILED: a layer includes only its own headers and those of the layers below it ($ORDER; docs/design.md)"

# fresh: a copy of the tree in $T_TMP/tree.
fresh() {
	rm -rf "$T_TMP/tree"
	mkdir "$T_TMP/tree"
	cp -R "$QSJWT_SOURCE_DIR/src" "$QSJWT_SOURCE_DIR/include" "$T_TMP/tree/"
}

# put_line FILE N TEXT: TEXT becomes line N of the copy's FILE.
put_line() {
	sed -i "$2i\\
$3" "$T_TMP/tree/$1"
}

check() {
	bash "$CHECK" "$T_TMP/tree" >"$OUT" 2>"$ERR"
	RC=$?
}

# assert_refused LINE...: exit 1, and stdout exactly the LINEs and the verdict.
assert_refused() {
	assert_rc 1 || return 1
	printf '%s\n' "$@" "$FAILED" >"$T_TMP/want"
	assert_file_eq "$T_TMP/want" "$OUT"
}

assert_passes() {
	assert_rc 0 || return 1
	assert_eq "check-layers: every include follows the layers ($ORDER)" "$(cat "$OUT")" "verdict"
}

begin "the tree as it is: passes"
fresh
check
assert_passes

begin "util including cli/: refused, naming the file, line and include"
fresh
put_line src/util/strbuf.c 3 '#include "cli/cli.h"'
check
assert_refused "src/util/strbuf.c:3: #include \"cli/cli.h\": layer util includes cli, a layer above it ($ORDER)"

begin "pkcs11 including keys/ (the secret-file reader's old place): refused"
fresh
put_line src/pkcs11/login.c 5 '#include "keys/signer_pkcs11.h"'
check
assert_refused "src/pkcs11/login.c:5: #include \"keys/signer_pkcs11.h\": layer pkcs11 includes keys, a layer above it ($ORDER)"

begin "a header including upwards, in angle brackets and indented: refused"
fresh
put_line src/keys/pubkey.h 2 '  #  include <jose/json.h>'
check
assert_refused "src/keys/pubkey.h:2: #include <jose/json.h>: layer keys includes jose, a layer above it ($ORDER)"

begin "two bad includes: both named, in file order"
fresh
put_line src/jose/b64url.c 2 '#include "pool/pool.h"'
put_line src/serve/audit.c 2 '#include "cli/cli.h"'
check
assert_refused "src/jose/b64url.c:2: #include \"pool/pool.h\": layer jose includes pool, a layer above it ($ORDER)" \
	"src/serve/audit.c:2: #include \"cli/cli.h\": layer serve includes cli, a layer above it ($ORDER)"

begin "platform including cli/: refused for posix.c, allowed for wmain.c (an entry point: cli layer)"
fresh
put_line src/platform/posix.c 2 '#include "cli/stop.h"'
put_line src/platform/wmain.c 2 '#include "cli/cli.h"'
check
assert_refused "src/platform/posix.c:2: #include \"cli/stop.h\": layer platform includes cli, a layer above it ($ORDER)"

begin "downwards and the public header: allowed everywhere"
fresh
put_line src/cli/main.c 2 '#include "platform/platform.h"'
put_line src/platform/posix.c 2 '#include <qsjwt/qsjwt.h>'
put_line src/util/log.c 2 '#include <openssl/evp.h>'
check
assert_passes

begin "the public header including a source header: refused"
fresh
put_line include/qsjwt/qsjwt.h 2 '#include "util/log.h"'
check
assert_refused "include/qsjwt/qsjwt.h:2: #include \"util/log.h\": the public header includes only system headers and qsjwt/ (it is part of the ABI)"

begin "a quoted include without its layer's folder: refused"
fresh
put_line src/util/strbuf.c 3 '#include "log.h"'
check
assert_refused "src/util/strbuf.c:3: #include \"log.h\": name its layer's folder (\"layer/log.h\")"

begin "a folder of src/ in no layer: refused"
fresh
mkdir "$T_TMP/tree/src/extra"
echo '#include "cli/cli.h"' >"$T_TMP/tree/src/extra/x.c"
check
assert_refused "src/extra/: a folder that is in no layer; add it to LAYERS in scripts/check-layers.sh and to docs/design.md"

begin "a temporary exception listed in the script: allowed, and said so on stderr"
fresh
put_line src/pkcs11/login.c 5 '#include "keys/signer_pkcs11.h"'
sed 's/^declare -A TEMPORARY=()$/declare -A TEMPORARY=([src\/pkcs11\/login.c|keys\/signer_pkcs11.h]="goes away with X")/' \
	"$CHECK" >"$T_TMP/check.sh"
grep -q 'goes away with X' "$T_TMP/check.sh" || fail "the TEMPORARY line of check-layers.sh changed; update this test"
bash "$T_TMP/check.sh" "$T_TMP/tree" >"$OUT" 2>"$ERR"
# shellcheck disable=SC2034 # read by assert_rc
RC=$?
assert_passes
assert_eq "src/pkcs11/login.c:5: #include \"keys/signer_pkcs11.h\": allowed for now (goes away with X)" \
	"$(cat "$ERR")" "stderr"

begin "no src/ at all: exit 2"
rm -rf "$T_TMP/tree" && mkdir "$T_TMP/tree"
check
assert_rc 2

finish
