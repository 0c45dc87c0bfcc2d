#!/usr/bin/env bash
# The Debian package: scripts/package.sh builds it (in build-pkg/); its control
# fields and files; installed into a throwaway dpkg root, its qs-jwt signs the
# reference token byte for byte; removed, it leaves nothing behind.
. "$(dirname "$0")/lib.sh"

for tool in dpkg dpkg-deb faketime openssl cc; do
	command -v "$tool" >/dev/null || fatal "missing tool: $tool"
done

ARCH=$(dpkg --print-architecture)
MULTIARCH=$(cc -print-multiarch)
[ -n "$MULTIARCH" ] || fatal "cc -print-multiarch gave nothing"

begin "scripts/package.sh builds the .deb and prints its path"
[ -n "$VERSION" ] || fatal "no project version in $QSJWT_SOURCE_DIR/CMakeLists.txt"
run "$QSJWT_SOURCE_DIR/scripts/package.sh"
assert_rc 0 || fatal "scripts/package.sh failed"
DEB=$(tail -n 1 "$OUT")
assert_eq "$QSJWT_SOURCE_DIR/build-pkg/qs-jwt_${VERSION}_$ARCH.deb" "$DEB" "the path package.sh printed"
[ -f "$DEB" ] || fatal "no package at '$DEB'"
# Later cases read a copy: another run of package.sh may replace build-pkg/.
cp "$DEB" "$T_TMP/qs-jwt.deb"
DEB=$T_TMP/qs-jwt.deb

field() { dpkg-deb -f "$DEB" "$1"; }

begin "control: package, version, architecture, section"
assert_eq qs-jwt "$(field Package)" "Package"
assert_eq "$VERSION" "$(field Version)" "Version"
assert_eq "$ARCH" "$(field Architecture)" "Architecture"
assert_eq utils "$(field Section)" "Section"
assert_eq optional "$(field Priority)" "Priority"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"

begin "control: dependencies from the libraries qs-jwt links"
deps=$(field Depends)
for d in libc6 libssl3 libp11-kit0 libcjson1; do
	[[ ", $deps," =~ ,\ $d(\ \([^\)]*\))?, ]] || fail "Depends '$deps' has no $d"
done
assert_eq "softhsm2, opensc, p11-kit" "$(field Recommends)" "Recommends"

begin "control: a short and a long description"
desc=$(field Description)
short=$(head -n 1 <<<"$desc")
long=$(tail -n +2 <<<"$desc")
if [ -z "$short" ] || [ "${#short}" -gt 80 ]; then
	fail "short description '$short' is empty or over 80 characters"
fi
[ "$(grep -c . <<<"$long")" -ge 3 ] || fail "long description has fewer than 3 lines: '$long'"
grep -q '^ \.$' <<<"$long" || fail "long description has no paragraph break (' .')"
assert_text_contains "$long" "PKCS#11" "long description"

begin "contents: the installed tree under ./usr/"
dpkg-deb -c "$DEB" | awk '{ p = $6; if ($1 ~ /^l/) p = p " -> " $8; print p }' | sort >"$T_TMP/contents"
L=./usr/lib/$MULTIARCH
for f in ./usr/bin/qs-jwt ./usr/libexec/qs-jwt/qs-jwt-serve "$L/libqsjwt.so.$VERSION" "$L/libqsjwt.a" ./usr/include/qsjwt/qsjwt.h \
	"$L/pkgconfig/qsjwt.pc" "$L/cmake/qsjwt/qsjwtConfig.cmake" \
	"$L/cmake/qsjwt/qsjwtConfigVersion.cmake" "$L/cmake/qsjwt/qsjwtTargets.cmake" \
	./usr/share/man/man1/qs-jwt.1.gz ./usr/share/man/man1/qs-jwt-create-qseow.1.gz \
	./usr/share/man/man1/qs-jwt-create-qscloud.1.gz ./usr/share/man/man1/qs-jwt-decode.1.gz \
	./usr/share/man/man1/qs-jwt-pkcs11.1.gz ./usr/share/man/man1/qs-jwt-serve.1.gz \
	./usr/share/bash-completion/completions/qs-jwt \
	./usr/share/zsh/vendor-completions/_qs-jwt ./usr/share/doc/qs-jwt/copyright \
	./usr/lib/systemd/system/qs-jwt.service ./usr/lib/systemd/system/qs-jwt.socket \
	./usr/lib/systemd/system/qs-jwt-https.socket; do
	grep -qxF -- "$f" "$T_TMP/contents" || fail "the package has no $f"
done
for l in "$L/libqsjwt.so.$SOVERSION -> libqsjwt.so.$VERSION" "$L/libqsjwt.so -> libqsjwt.so.$SOVERSION"; do
	grep -qxF -- "$l" "$T_TMP/contents" || fail "the package has no link $l"
done
assert_eq 6 "$(grep -c '^\./usr/share/man/man1/qs-jwt.*\.1\.gz$' "$T_TMP/contents")" "number of man pages"
outside=$(grep -v '^\./usr/' "$T_TMP/contents" | grep -vx '\./' | tr '\n' ' ')
assert_eq "" "$outside" "files outside ./usr/"

begin "contents: the files are the project's (completions, header, copyright)"
dpkg-deb -x "$DEB" "$T_TMP/x" || fail "dpkg-deb -x failed"
assert_file_eq "$QSJWT_SOURCE_DIR/completions/qs-jwt.bash" "$T_TMP/x/usr/share/bash-completion/completions/qs-jwt"
assert_file_eq "$QSJWT_SOURCE_DIR/completions/_qs-jwt" "$T_TMP/x/usr/share/zsh/vendor-completions/_qs-jwt"
assert_file_eq "$QSJWT_SOURCE_DIR/include/qsjwt/qsjwt.h" "$T_TMP/x/usr/include/qsjwt/qsjwt.h"
assert_file_eq "$QSJWT_SOURCE_DIR/LICENSE" "$T_TMP/x/usr/share/doc/qs-jwt/copyright"
assert_file_eq "$QSJWT_SOURCE_DIR/contrib/systemd/qs-jwt.socket" "$T_TMP/x/usr/lib/systemd/system/qs-jwt.socket"
assert_eq "ExecStart=/usr/bin/qs-jwt serve --listen systemd \\" \
	"$(grep '^ExecStart=' "$T_TMP/x/usr/lib/systemd/system/qs-jwt.service")" "ExecStart of the packaged unit"
pc_prefix=$(PKG_CONFIG_PATH="$T_TMP/x/usr/lib/$MULTIARCH/pkgconfig" pkg-config --variable=prefix qsjwt)
assert_eq "$T_TMP/x/usr" "$(realpath "$pc_prefix")" "prefix of the packaged qsjwt.pc (relative to the file)"
soname=$(readelf -d "$T_TMP/x/usr/lib/$MULTIARCH/libqsjwt.so.$VERSION" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
assert_eq "libqsjwt.so.$SOVERSION" "$soname" "SONAME of the packaged library"

# ---- install into a throwaway root --------------------------------------------

ROOT=$T_TMP/root
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates"
: >"$ROOT/var/lib/dpkg/status"
# The maintainer scripts run ldconfig. With --force-script-chrootless they run
# outside the root (which has no shell to chroot into): a stand-in ldconfig
# first in PATH records the calls, and the system's cache is left alone.
mkdir -p "$T_TMP/bin"
cat >"$T_TMP/bin/ldconfig" <<EOF
#!/bin/sh
echo "ldconfig \$* root=\$DPKG_ROOT" >>"$T_TMP/ldconfig.log"
EOF
chmod +x "$T_TMP/bin/ldconfig"
: >"$T_TMP/ldconfig.log"
DPKG=(env PATH="$T_TMP/bin:$PATH" dpkg --root="$ROOT" --force-script-chrootless --force-depends)
[ "$(id -u)" = 0 ] || DPKG+=(--force-not-root)

begin "dpkg -i into a throwaway root"
run "${DPKG[@]}" -i "$DEB"
assert_rc 0
assert_eq "install ok installed" "$(dpkg --root="$ROOT" -s qs-jwt 2>/dev/null | sed -n 's/^Status: //p')" \
	"status after dpkg -i"
assert_eq "ldconfig  root=$ROOT" "$(cat "$T_TMP/ldconfig.log")" "ldconfig calls of postinst"
dpkg --root="$ROOT" -L qs-jwt >"$T_TMP/listed" 2>&1
for f in /usr/bin/qs-jwt "/usr/lib/$MULTIARCH/libqsjwt.so.$VERSION" /usr/share/man/man1/qs-jwt.1.gz; do
	grep -qxF "$f" "$T_TMP/listed" || fail "dpkg -L does not list $f"
	[ -e "$ROOT$f" ] || fail "not installed: $ROOT$f"
done

begin "the installed qs-jwt runs and signs the reference token"
run "$ROOT/usr/bin/qs-jwt" --version
assert_rc 0
assert_eq "qs-jwt $VERSION" "$(head -n 1 "$OUT")" "first line of --version"
eval "set -- $(cat "$VEC/all-claims.cmd")"
assert_eq create-qseow "$1" "first word of all-claims.cmd"
run env -C "$VEC" TZ=UTC faketime -f "$PINNED" "$ROOT/usr/bin/qs-jwt" "$@"
assert_rc 0
assert_reference_token "$OUT"

begin "the installed man page and completion are the ones of the package"
assert_file_eq "$T_TMP/x/usr/share/man/man1/qs-jwt-create-qseow.1.gz" "$ROOT/usr/share/man/man1/qs-jwt-create-qseow.1.gz"
assert_file_eq "$QSJWT_SOURCE_DIR/completions/qs-jwt.bash" "$ROOT/usr/share/bash-completion/completions/qs-jwt"

begin "dpkg -r removes every file"
: >"$T_TMP/ldconfig.log"
run "${DPKG[@]}" -r qs-jwt
assert_rc 0
assert_eq "ldconfig  root=$ROOT" "$(cat "$T_TMP/ldconfig.log")" "ldconfig calls of postrm"
while read -r f; do
	[ -d "$ROOT$f" ] && [ ! -L "$ROOT$f" ] && continue
	assert_not_exists "$ROOT$f"
done <"$T_TMP/listed"
left=$(cd "$ROOT" && find . -mindepth 1 -not -path './var' -not -path './var/lib' \
	-not -path './var/lib/dpkg' -not -path './var/lib/dpkg/*' | sort | tr '\n' ' ')
assert_eq "" "$left" "what dpkg -r left in the root"
run "${DPKG[@]}" -P qs-jwt
assert_rc 0
status=$(dpkg --root="$ROOT" -s qs-jwt 2>/dev/null | sed -n 's/^Status: //p')
case $status in
"" | "unknown ok not-installed" | "purge ok not-installed") ;;
*) fail "status after dpkg -P: '$status'" ;;
esac

finish
