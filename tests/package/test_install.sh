#!/usr/bin/env bash
# `cmake --install` of the build tree into a temporary prefix: the installed
# tree, the shared library's SONAME and exports, and a program outside the
# project built against the INSTALLED library twice (pkg-config, and CMake's
# find_package) that must sign the reference token byte for byte.
. "$(dirname "$0")/lib.sh"

for tool in cmake cc pkg-config readelf nm ldd openssl; do
	command -v "$tool" >/dev/null || fatal "missing tool: $tool"
done

PREFIX=$T_TMP/prefix
# The directories were fixed when the build tree was configured.
LIBDIR=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' "$QSJWT_BUILD_DIR/CMakeCache.txt")
CONF_PREFIX=$(sed -n 's/^CMAKE_INSTALL_PREFIX:[A-Z]*=//p' "$QSJWT_BUILD_DIR/CMakeCache.txt")
MULTIARCH=$(cc -print-multiarch 2>/dev/null || true)

begin "version and library directory of the build tree"
[ -n "$VERSION" ] || fatal "no project version in $QSJWT_SOURCE_DIR/CMakeLists.txt"
case $LIBDIR in
lib | "lib/$MULTIARCH") ;;
*) fatal "CMAKE_INSTALL_LIBDIR is '$LIBDIR', expected lib or lib/$MULTIARCH" ;;
esac
L=$PREFIX/$LIBDIR

begin "cmake --install into a temporary prefix"
run cmake --install "$QSJWT_BUILD_DIR" --prefix "$PREFIX"
assert_rc 0 || fatal "cmake --install failed"

begin "the command"
if [ -x "$PREFIX/bin/qs-jwt" ]; then
	run "$PREFIX/bin/qs-jwt" --version
	assert_rc 0
	assert_eq "qs-jwt $VERSION" "$(head -n 1 "$OUT")" "first line of qs-jwt --version"
	# It links libqsjwt statically: it runs wherever it is copied.
	if readelf -d "$PREFIX/bin/qs-jwt" | grep -q 'NEEDED.*libqsjwt'; then
		fail "bin/qs-jwt needs libqsjwt.so; it should link the static library"
	fi
else
	fail "missing executable: $PREFIX/bin/qs-jwt"
fi

LIBEXEC=$(sed -n 's/^CMAKE_INSTALL_LIBEXECDIR:[A-Z]*=//p' "$QSJWT_BUILD_DIR/CMakeCache.txt")
SERVE=$PREFIX/$LIBEXEC/qs-jwt/qs-jwt-serve
begin "the service program: $LIBEXEC/qs-jwt/qs-jwt-serve; only it links libmicrohttpd, GnuTLS and libsystemd"
assert_file "$SERVE"
[ -x "$SERVE" ] || fail "$SERVE is not executable"
for lib in libmicrohttpd libgnutls libsystemd; do
	readelf -d "$PREFIX/bin/qs-jwt" | grep -q "NEEDED.*$lib" && fail "bin/qs-jwt needs $lib: every command would load it"
	readelf -d "$SERVE" | grep -q "NEEDED.*$lib" || fail "qs-jwt-serve does not need $lib"
done

begin "qs-jwt serve in the installed tree runs the installed qs-jwt-serve (under any prefix)"
run "$PREFIX/bin/qs-jwt" serve --help
assert_rc 0
assert_contains "$OUT" "Usage: qs-jwt serve --listen <where> [options]"
run "$PREFIX/bin/qs-jwt" help serve
assert_rc 0
assert_contains "$OUT" "Usage: qs-jwt serve --listen <where> [options]"

begin "qs-jwt copied alone, with no qs-jwt-serve to find: serve fails with exit 1 and says what it looked for"
mkdir -p "$T_TMP/lone"
cp "$PREFIX/bin/qs-jwt" "$T_TMP/lone/qs-jwt"
if [ -e "$CONF_PREFIX/$LIBEXEC/qs-jwt/qs-jwt-serve" ]; then
	echo "   ($CONF_PREFIX/$LIBEXEC/qs-jwt/qs-jwt-serve exists on this machine: case not run)"
else
	run "$T_TMP/lone/qs-jwt" serve --help
	assert_rc 1
	assert_empty_stdout
	assert_contains "$ERR" "ERROR: serve: cannot start the service program '$CONF_PREFIX/$LIBEXEC/qs-jwt/qs-jwt-serve': No such file or directory"
fi

begin "a qs-jwt-serve beside it that cannot be run (not executable): exit 1 naming it, no other is tried"
printf '#!/bin/sh\necho should not run\n' >"$T_TMP/lone/qs-jwt-serve"
chmod 0644 "$T_TMP/lone/qs-jwt-serve"
run "$T_TMP/lone/qs-jwt" serve --help
assert_rc 1
assert_empty_stdout
assert_contains "$ERR" "ERROR: serve: cannot start the service program '$T_TMP/lone/qs-jwt-serve': Permission denied"

begin "the shared library, its links and SONAME"
assert_file "$L/libqsjwt.so.$VERSION"
assert_symlink "$L/libqsjwt.so.$SOVERSION" "libqsjwt.so.$VERSION"
assert_symlink "$L/libqsjwt.so" "libqsjwt.so.$SOVERSION"
soname=$(readelf -d "$L/libqsjwt.so.$VERSION" 2>/dev/null |
	sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
assert_eq "libqsjwt.so.$SOVERSION" "$soname" "SONAME (readelf -d)"
if readelf -d "$L/libqsjwt.so.$VERSION" | grep -qE 'R(UN)?PATH'; then
	fail "the installed libqsjwt.so has an RPATH/RUNPATH: $(readelf -d "$L/libqsjwt.so.$VERSION" | grep -E 'R(UN)?PATH')"
fi

begin "the shared library exports exactly the functions of qsjwt.h"
nm -D --defined-only "$L/libqsjwt.so.$VERSION" >"$T_TMP/nm" 2>&1 || fail "nm -D failed: $(cat "$T_TMP/nm")"
# The version node of src/qsjwt.map is an absolute symbol; everything else
# must be public API.
awk '!($2 == "A" && $3 ~ /^QSJWT_[0-9]+$/) { print $3 }' "$T_TMP/nm" | sort >"$T_TMP/versioned"
grep -vE '^qsjwt_[a-z0-9_]+@@QSJWT_[0-9]+$' "$T_TMP/versioned" >"$T_TMP/foreign"
if [ -s "$T_TMP/foreign" ]; then
	fail "exported symbols other than qsjwt_*@@QSJWT_N: $(tr '\n' ' ' <"$T_TMP/foreign")"
fi
sed 's/@@.*//' "$T_TMP/versioned" | sort -u >"$T_TMP/exported"
# Function declarations of the public header, comments removed.
perl -0pe 's{/\*.*?\*/}{}gs' "$QSJWT_SOURCE_DIR/include/qsjwt/qsjwt.h" |
	grep -oE '(^|[ *])qsjwt_[a-z0-9_]+\(' | grep -oE 'qsjwt_[a-z0-9_]+' | sort -u >"$T_TMP/declared"
[ "$(wc -l <"$T_TMP/declared")" -ge 20 ] || fail "found only $(wc -l <"$T_TMP/declared") functions in qsjwt.h"
missing=$(comm -23 "$T_TMP/declared" "$T_TMP/exported" | tr '\n' ' ')
extra=$(comm -13 "$T_TMP/declared" "$T_TMP/exported" | tr '\n' ' ')
assert_eq "" "$missing" "functions of qsjwt.h not exported"
assert_eq "" "$extra" "exported functions not in qsjwt.h"

begin "the static library"
assert_file "$L/libqsjwt.a"
if ! nm --defined-only "$L/libqsjwt.a" 2>/dev/null | grep -qE ' T qsjwt_jwt_sign$'; then
	fail "libqsjwt.a does not define qsjwt_jwt_sign"
fi

begin "header, pkg-config and CMake files"
assert_file "$PREFIX/include/qsjwt/qsjwt.h" &&
	assert_file_eq "$QSJWT_SOURCE_DIR/include/qsjwt/qsjwt.h" "$PREFIX/include/qsjwt/qsjwt.h"
assert_file "$L/pkgconfig/qsjwt.pc"
for f in qsjwtConfig.cmake qsjwtConfigVersion.cmake qsjwtTargets.cmake; do
	assert_file "$L/cmake/qsjwt/$f"
done

begin "man pages: one per doc/*.1.scd, six in all"
want=$(cd "$QSJWT_SOURCE_DIR/doc" && ls -- *.1.scd | sed 's/\.scd$/.gz/' | sort | tr '\n' ' ')
got=$( (cd "$PREFIX/share/man/man1" 2>/dev/null && ls -- qs-jwt*.1.gz) | sort | tr '\n' ' ')
assert_eq "qs-jwt-create-qscloud.1.gz qs-jwt-create-qseow.1.gz qs-jwt-decode.1.gz qs-jwt-pkcs11.1.gz qs-jwt-serve.1.gz qs-jwt.1.gz " \
	"$got" "installed man pages"
assert_eq "$want" "$got" "man pages against doc/*.1.scd"
for p in $got; do
	assert_nonempty_file "$PREFIX/share/man/man1/$p"
	gzip -dc "$PREFIX/share/man/man1/$p" | head -c 200 | grep -q 'scdoc' || fail "$p is not a gzipped scdoc page"
done

begin "shell completions"
assert_nonempty_file "$PREFIX/share/bash-completion/completions/qs-jwt" &&
	assert_file_eq "$QSJWT_SOURCE_DIR/completions/qs-jwt.bash" \
		"$PREFIX/share/bash-completion/completions/qs-jwt"
assert_nonempty_file "$PREFIX/share/zsh/site-functions/_qs-jwt" &&
	assert_file_eq "$QSJWT_SOURCE_DIR/completions/_qs-jwt" "$PREFIX/share/zsh/site-functions/_qs-jwt"

begin "systemd units: installed, ExecStart under the prefix, accepted by systemd-analyze verify"
UNITS=$PREFIX/lib/systemd/system
for u in qs-jwt.service qs-jwt.socket qs-jwt-https.socket; do
	assert_nonempty_file "$UNITS/$u"
done
assert_file_eq "$QSJWT_SOURCE_DIR/contrib/systemd/qs-jwt.socket" "$UNITS/qs-jwt.socket"
assert_file_eq "$QSJWT_SOURCE_DIR/contrib/systemd/qs-jwt-https.socket" "$UNITS/qs-jwt-https.socket"
assert_eq "ExecStart=$PREFIX/bin/qs-jwt serve --listen systemd \\" \
	"$(grep '^ExecStart=' "$UNITS/qs-jwt.service")" "ExecStart of the installed unit"
for key in Type=notify DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes \
	MemoryDenyWriteExecute=yes "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
	"LoadCredential=pin:/etc/qs-jwt/pin"; do
	grep -qxF -- "$key" "$UNITS/qs-jwt.service" || fail "qs-jwt.service has no line $key"
done
if command -v systemd-analyze >/dev/null; then
	# The man page named in Documentation= is checked when it is installed.
	man=(--man=no)
	[ -e "$PREFIX/share/man/man1/qs-jwt-serve.1.gz" ] && man=()
	run env MANPATH="$PREFIX/share/man" systemd-analyze verify "${man[@]}" "$UNITS/qs-jwt.service" \
		"$UNITS/qs-jwt.socket" "$UNITS/qs-jwt-https.socket"
	assert_rc 0
	[ -s "$ERR" ] && fail "systemd-analyze verify complains: $(head -c 600 "$ERR")"
	# It can fail: a unit whose binary is missing.
	sed "s|$PREFIX/bin/qs-jwt|$PREFIX/bin/missing|" "$UNITS/qs-jwt.service" >"$T_TMP/qs-jwt.service"
	cp "$UNITS/qs-jwt.socket" "$T_TMP/"
	run systemd-analyze verify --man=no "$T_TMP/qs-jwt.service"
	assert_rc 1
	assert_text_contains "$(cat "$ERR")" "Command $PREFIX/bin/missing is not executable" "systemd-analyze verify of a broken unit"
else
	fail "missing tool: systemd-analyze (package systemd)"
fi

begin "nothing of the build or source tree leaks into the installed files"
# The text files: pkg-config and CMake files, man pages, completions.
leaks=$(grep -rlF -e "$QSJWT_BUILD_DIR" -e "$QSJWT_SOURCE_DIR/" "$L/pkgconfig" "$L/cmake" \
	"$PREFIX/include" "$PREFIX/share" 2>/dev/null | tr '\n' ' ')
assert_eq "" "$leaks" "installed text files naming the build or source tree"

# ---- a program that uses the installed library ---------------------------------

# check_consumer NAME BINARY: runs and signs the reference token, with
# libqsjwt.so.N from the prefix.
check_consumer() {
	local name=$1 bin=$2 so
	if [ ! -x "$bin" ]; then
		fail "$name: no binary"
		return
	fi
	so=$(LD_LIBRARY_PATH=$L ldd "$bin" | awk -v l="libqsjwt.so.$SOVERSION" '$1 == l { print $3 }')
	assert_eq "$L/libqsjwt.so.$SOVERSION" "$so" "$name: libqsjwt.so.$SOVERSION in ldd"
	run env LD_LIBRARY_PATH="$L" "$bin" "$VEC/privatekey.pem" "$PINNED_IAT" "$PINNED_EXP"
	assert_rc 0
	assert_reference_token "$OUT"
}

begin "the openssl check can fail: a changed payload does not verify"
tok=$(cat "$VEC/all-claims.jwt")
jwt_verifies "$tok" "$VEC/publickey.pem" || fail "the reference token does not verify"
h=${tok%%.*} rest=${tok#*.}
bad="$h.$(printf '%s' '{"userId":"root"}' | base64 | tr '+/' '-_' | tr -d '=\n').${rest#*.}"
if jwt_verifies "$bad" "$VEC/publickey.pem"; then
	fail "openssl verified a token with a changed payload"
fi

begin "consumer built with pkg-config against the installed library"
PCDIR=$L/pkgconfig
# qsjwt.pc finds its prefix from its own location: the temporary prefix
# works as it is, without --define-variable.
pc_prefix=$(PKG_CONFIG_PATH=$PCDIR pkg-config --variable=prefix qsjwt)
assert_eq "$(realpath "$PREFIX")" "$(realpath "$pc_prefix")" "prefix of qsjwt.pc"
assert_eq "$VERSION" "$(PKG_CONFIG_PATH=$PCDIR pkg-config --modversion qsjwt)" "pkg-config --modversion"
pc=(env PKG_CONFIG_PATH="$PCDIR" pkg-config)
flags=$("${pc[@]}" --cflags --libs qsjwt) || fail "pkg-config --cflags --libs qsjwt failed"
# The .pc file's paths go through its own directory (${pcfiledir}/../..).
assert_eq "$(realpath "$PREFIX/include")" "$(realpath "$("${pc[@]}" --variable=includedir qsjwt)")" \
	"pkg-config includedir"
assert_eq "$(realpath "$L")" "$(realpath "$("${pc[@]}" --variable=libdir qsjwt)")" "pkg-config libdir"
assert_text_contains " $flags " " -I$("${pc[@]}" --variable=includedir qsjwt) " "pkg-config --cflags"
assert_text_contains " $flags " " -L$("${pc[@]}" --variable=libdir qsjwt) " "pkg-config --libs"
assert_text_contains " $flags " " -lqsjwt " "pkg-config --libs"
# shellcheck disable=SC2086 # the flags are words
run cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$T_TMP/consumer-pc" \
	"$PKG_DIR/consumer.c" $flags
assert_rc 0 && check_consumer pkg-config "$T_TMP/consumer-pc"

begin "consumer built with CMake find_package(qsjwt) and qsjwt::qsjwt_shared"
run cmake -S "$PKG_DIR/consumer" -B "$T_TMP/consumer-cmake" -DCMAKE_PREFIX_PATH="$PREFIX" \
	-DCMAKE_BUILD_TYPE=Release
if assert_rc 0; then
	qsjwt_dir=$(sed -n 's/^qsjwt_DIR:[A-Z]*=//p' "$T_TMP/consumer-cmake/CMakeCache.txt")
	assert_eq "$L/cmake/qsjwt" "$qsjwt_dir" "qsjwt_DIR found by find_package"
	run cmake --build "$T_TMP/consumer-cmake"
	assert_rc 0 && check_consumer cmake "$T_TMP/consumer-cmake/app"
fi

begin "consumer built with CMake and qsjwt::qsjwt (the static library)"
bin=$T_TMP/consumer-cmake/app_static
if [ -x "$bin" ]; then
	if readelf -d "$bin" | grep -q 'NEEDED.*libqsjwt'; then
		fail "app_static needs libqsjwt.so; qsjwt::qsjwt should be the static library"
	fi
	run "$bin" "$VEC/privatekey.pem" "$PINNED_IAT" "$PINNED_EXP"
	assert_rc 0
	assert_reference_token "$OUT"
else
	fail "no app_static was built"
fi

finish
