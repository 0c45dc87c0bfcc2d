#!/usr/bin/env bash
# qs-jwt for Windows x86-64, cross-built on Debian 12 from Debian's own source
# packages and tested under wine64.
#
# Usage: scripts/windows.sh build   build the zip, print its absolute path last
#        scripts/windows.sh test    build when needed (and the cmocka unit tests),
#                                   run tests/windows/run.sh
#
# Everything goes under build-win/: the source packages are fetched with a
# private apt configuration (build-win/apt/, deb-src lines of its own), never
# touching the machine's; each cross-built dependency lives in a prefix
# build-win/deps/NAME-<hash>, the hash taken over its source version and its
# recipe (see dep_key), so an unchanged recipe reuses it and a changed one
# rebuilds it.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
top=$PWD
bw=$top/build-win
host=x86_64-w64-mingw32
wine=/usr/lib/wine/wine64
jobs=$(nproc)
[ "$jobs" -gt 2 ] || jobs=2

say() { printf '== %s\n' "$*" >&2; }
die() {
	printf 'windows.sh: %s\n' "$*" >&2
	exit 1
}

# ---- tools ---------------------------------------------------------------------
# The cross toolchain, wine and the build tools, from the machine's own apt.
install_tools() {
	local want=(gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine64 wine meson ninja-build
		zip unzip cmake pkg-config dpkg-dev xz-utils perl make faketime openssl python3)
	local missing=() p
	for p in "${want[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing ${missing[*]}"
		[ "$(id -u)" = 0 ] || die "run as root to install: ${missing[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

# ---- source packages -------------------------------------------------------------
# bookworm for OpenSSL 3.0.x and cJSON 1.7.15; trixie or sid for p11-kit 0.25/0.26,
# because the mirror lacks bookworm's p11-kit_0.24.1.orig.tar.xz (404); SoftHSM2
# 2.6.1 from whichever release has it whole.
aptdir=$bw/apt
apt_opts=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root)

apt_setup() {
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$bw/src"
	cat >"$aptdir/sources.list" <<-'EOF'
		deb-src http://deb.debian.org/debian bookworm main
		deb-src http://deb.debian.org/debian bookworm-updates main
		deb-src http://deb.debian.org/debian-security bookworm-security main
		deb-src http://deb.debian.org/debian trixie main
		deb-src http://deb.debian.org/debian sid main
	EOF
	# A day-old index is fresh enough; the versions it gives key the cache.
	if [ -z "$(find "$aptdir/lists" -maxdepth 1 -name '*Sources*' -mmin -1440 2>/dev/null)" ]; then
		say "apt-get update (private lists in $aptdir)"
		apt-get "${apt_opts[@]}" update -qq >/dev/null
	fi
}

# The versions of source package $1 matching the regex $2, highest first.
src_versions() {
	apt-cache "${apt_opts[@]}" showsrc "$1" | sed -n 's/^Version: //p' | grep -E "$2" |
		sort -u | while read -r v; do
		# rank with dpkg's ordering: count the versions it is greater than
		n=0
		for w in $(apt-cache "${apt_opts[@]}" showsrc "$1" | sed -n 's/^Version: //p' |
			grep -E "$2" | sort -u); do
			if dpkg --compare-versions "$v" gt "$w"; then n=$((n + 1)); fi
		done
		printf '%d %s\n' "$n" "$v"
	done | sort -rn | cut -d' ' -f2
}

# Fetches the highest version of source package $1 matching regex $2 that the
# mirror has whole (some .dsc and .orig files are missing there: 404), unpacks
# it into build-win/src/$1-VERSION with dpkg-source (Debian's patches applied),
# and sets src_dir and src_ver.
fetch_src() {
	local pkg=$1 dl=$bw/src/dl v
	mkdir -p "$dl"
	for v in $(src_versions "$pkg" "$2"); do
		src_ver=$v
		src_dir=$bw/src/$pkg-$v
		[ -f "$src_dir/.unpacked" ] && return 0
		if (cd "$dl" && apt-get "${apt_opts[@]}" source --download-only -qq "$pkg=$v" \
			>/dev/null 2>&1); then
			rm -rf "$src_dir"
			dpkg-source --no-check -x "$dl/${pkg}_${v#*:}.dsc" "$src_dir" >/dev/null
			touch "$src_dir/.unpacked"
			return 0
		fi
		say "$pkg $v: not (wholly) on the mirror, trying an older version"
	done
	die "no version of source package $pkg matching $2 could be fetched"
}

# ---- the dependency prefixes ------------------------------------------------------
# Each dependency is installed into its own prefix build-win/deps/NAME-KEY, KEY
# hashing its source version, its recipe (the shell functions that build it),
# the toolchain file, its patches and the keys of what it links: unchanged, it is
# reused; changed, rebuilt.
dep_key() { # name version build-function extra...
	local name=$1 ver=$2 fn=$3
	shift 3
	{
		printf '%s\n' "$name" "$ver" "$@"
		declare -f "$fn" cmake_dep meson_cross apply_patches
		cat cmake/mingw-w64-x86_64.cmake
		cat $(find scripts/windows/patches -name "$name-*.patch" | LC_ALL=C sort) /dev/null
	} | sha256sum | cut -c1-12
}

# Applies our patches for package $1 (scripts/windows/patches/$1-*.patch) to $2.
apply_patches() {
	local p
	for p in "$top"/scripts/windows/patches/"$1"-*.patch; do
		[ -f "$p" ] || continue
		patch -d "$2" -p1 -s -N <"$p" || die "patch $p does not apply"
	done
}

meson_cross() {
	cat >"$1" <<-EOF
		[binaries]
		c = '$host-gcc-posix'
		cpp = '$host-g++-posix'
		ar = '$host-gcc-ar-posix'
		strip = '$host-strip'
		windres = '$host-windres'
		pkg-config = 'pkg-config'
		[properties]
		needs_exe_wrapper = true
		[host_machine]
		system = 'windows'
		cpu_family = 'x86_64'
		cpu = 'x86_64'
		endian = 'little'
	EOF
}

# Runs a CMake project's configure, build and install: name src build args...
cmake_dep() {
	local name=$1 src=$2 b=$3
	shift 3
	(cmake -S "$src" -B "$b" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$top/cmake/mingw-w64-x86_64.cmake" \
		-DCMAKE_FIND_ROOT_PATH="$find_root" -DCMAKE_INSTALL_PREFIX="$out" \
		-DCMAKE_BUILD_TYPE=Release "$@" >"$log" 2>&1 &&
		cmake --build "$b" -j "$jobs" >>"$log" 2>&1 &&
		DESTDIR=$dest cmake --install "$b" >>"$log" 2>&1) || die "$name failed: see $log"
}

# Each build_X function gets the unpacked source $1, a scratch folder $work,
# the prefix to install into $out, a staging folder $dest to install into
# (DESTDIR) and a log file $log.
build_openssl() {
	cp -a "$1" "$work/src"
	(cd "$work/src" && ./Configure mingw64 no-shared no-tests \
		--cross-compile-prefix=$host- --prefix="$out" --libdir=lib \
		CC=gcc-posix AR=gcc-ar-posix RANLIB=gcc-ranlib-posix >"$log" 2>&1 &&
		make -j"$jobs" build_sw >>"$log" 2>&1 &&
		make DESTDIR="$dest" install_sw >>"$log" 2>&1) || die "OpenSSL failed: see $log"
}

build_cjson() {
	# Static, and its symbols never dllexported from qs-jwt (CJSON_HIDE_SYMBOLS).
	cmake_dep cjson "$1" "$work/b" -DBUILD_SHARED_LIBS=OFF -DENABLE_CJSON_TEST=OFF \
		-DENABLE_CJSON_UTILS=OFF -DENABLE_CUSTOM_COMPILER_FLAGS=OFF \
		-DCMAKE_C_FLAGS=-DCJSON_HIDE_SYMBOLS
}

# The unit tests' framework, as a DLL (its .pc names -lcmocka).
build_cmocka() {
	cmake_dep cmocka "$1" "$work/b" -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
		-DWITH_STATIC_LIB=OFF
}

# The module registry on Windows: C:\ProgramData\p11-kit\modules\*.module
# (the compiled-in default would be this build's own prefix).
build_p11kit() {
	cp -a "$1" "$work/src"
	apply_patches p11-kit "$work/src"
	meson_cross "$work/cross.ini"
	(meson setup "$work/b" "$work/src" --cross-file "$work/cross.ini" --prefix "$out" \
		--libdir lib --buildtype release -Dlibffi=disabled -Dtrust_module=disabled \
		-Dsystemd=disabled -Dnls=false -Dbash_completion=disabled -Dzsh_completion=disabled \
		-Dgtk_doc=false -Dman=false -Dtest=false \
		-Dsystem_config=C:/ProgramData/p11-kit -Dmodule_config=C:/ProgramData/p11-kit/modules \
		-Dmodule_path='C:/Program Files/p11-kit/pkcs11' >"$log" 2>&1 &&
		ninja -C "$work/b" -j "$jobs" >>"$log" 2>&1 &&
		DESTDIR=$dest ninja -C "$work/b" install >>"$log" 2>&1) || die "p11-kit failed: see $log"
}

build_softhsm2() {
	cp -a "$1" "$work/src"
	apply_patches softhsm2 "$work/src"
	# Nothing outside the prefix: without ENABLE_P11_KIT=OFF and a
	# SYSCONFDIR of its own, its install writes the machine's
	# /usr/share/p11-kit/modules/softhsm2.module and /etc/softhsm2.conf.
	# Its configure checks run test programs (try_run): under wine. The
	# patch adds the MSVC build's compat sources (src/lib/win32) and the
	# static libcrypto's system libraries.
	# The module DLL links the C++ runtime (libstdc++-6.dll, libgcc_s_seh-1.dll,
	# libwinpthread-1.dll) as DLLs, installed beside it only: like Yubico's
	# libykcs11.dll, it needs DLLs of its own found in its folder, which the
	# tests check qs-jwt does without PATH changes. The programs stay static.
	WINEPREFIX=$bw/wine-build WINEDEBUG=-all \
		cmake_dep softhsm2 "$work/src" "$work/b" -DWITH_CRYPTO_BACKEND=openssl \
		-DCMAKE_CROSSCOMPILING_EMULATOR="$wine" -DBUILD_TESTS=OFF -DWITH_MIGRATE=OFF \
		-DENABLE_P11_KIT=OFF -DCMAKE_INSTALL_SYSCONFDIR="$out/etc" \
		-DCMAKE_INSTALL_LOCALSTATEDIR="$out/var" \
		-DWITH_OBJECTSTORE_BACKEND_DB=OFF -DENABLE_GOST=OFF -DENABLE_EDDSA=ON \
		-DHAVE_PTHREAD_H=OFF -DOPENSSL_USE_STATIC_LIBS=ON -DOPENSSL_ROOT_DIR="$p_openssl" \
		-DCMAKE_EXE_LINKER_FLAGS=-static
	WINEPREFIX=$bw/wine-build wineserver -k 2>/dev/null || true
	local mod=$dest$out/lib/softhsm/libsofthsm2.dll dll
	# softhsm2-util.exe loads the module with LoadLibraryA: the DLLs beside
	# the program too.
	for dll in $(dlls_needed "$mod"); do
		cp "$(find_dll "$dll")" "$dest$out/lib/softhsm/"
		cp "$(find_dll "$dll")" "$dest$out/bin/"
	done
	[ -f "$dest$out/lib/softhsm/libstdc++-6.dll" ] ||
		die "softhsm2: libsofthsm2.dll does not link libstdc++-6.dll"
}

# Builds (or reuses) dependency $1 from source $2 version $3 with function $4;
# the remaining arguments go into its key. Sets dep_out.
build_dep() {
	local name=$1 src=$2 ver=$3 fn=$4
	shift 4
	local key
	key=$(dep_key "$name" "$ver" "$fn" "$@")
	dep_out=$bw/deps/$name-$key
	if [ -f "$dep_out/.done" ]; then
		say "$name $ver: reusing $dep_out"
		return
	fi
	say "$name $ver: building into $dep_out"
	local t0=$SECONDS
	out=$dep_out work=$bw/deps/work-$name log=$bw/deps/$name.log dest=$bw/deps/work-$name/dest
	rm -rf "$out" "$work" && mkdir -p "$work"
	"$fn" "$src"
	# Installed through DESTDIR, so that a file a recipe would put outside
	# its prefix (/etc, /usr/share/p11-kit/modules, /var) is caught here
	# instead of landing on the machine.
	local stray
	stray=$(cd "$dest" && find . -mindepth 1 \( -type f -o -type l \) | grep -v "^\.$out/" || true)
	[ -z "$stray" ] || die "$name would install outside its prefix: $(echo "$stray" | head -5)"
	mkdir -p "$(dirname "$out")"
	mv "$dest$out" "$out"
	rm -rf "$work"
	touch "$out/.done"
	say "$name: $((SECONDS - t0)) s"
}

build_deps() {
	apt_setup
	local s_openssl s_cjson s_p11kit s_softhsm s_cmocka
	local v_openssl v_cjson v_p11kit v_softhsm v_cmocka
	fetch_src openssl '^3\.0\.' && s_openssl=$src_dir v_openssl=$src_ver
	fetch_src cjson '^1\.7\.15' && s_cjson=$src_dir v_cjson=$src_ver
	fetch_src p11-kit '^0\.2[56]\.' && s_p11kit=$src_dir v_p11kit=$src_ver
	fetch_src softhsm2 '^2\.6\.1-' && s_softhsm=$src_dir v_softhsm=$src_ver
	fetch_src cmocka '^1\.1\.5-' && s_cmocka=$src_dir v_cmocka=$src_ver
	find_root=
	build_dep openssl "$s_openssl" "$v_openssl" build_openssl
	p_openssl=$dep_out
	build_dep cjson "$s_cjson" "$v_cjson" build_cjson
	p_cjson=$dep_out
	build_dep p11-kit "$s_p11kit" "$v_p11kit" build_p11kit
	p_p11kit=$dep_out
	find_root=$p_openssl
	build_dep softhsm2 "$s_softhsm" "$v_softhsm" build_softhsm2 "$p_openssl" \
		"$(declare -f find_dll dlls_needed)"
	p_softhsm=$dep_out
	build_dep cmocka "$s_cmocka" "$v_cmocka" build_cmocka
	p_cmocka=$dep_out
	prefixes="$p_openssl;$p_cjson;$p_p11kit"
	pkg_path=$p_openssl/lib/pkgconfig:$p_cjson/lib/pkgconfig:$p_p11kit/lib/pkgconfig
}

# ---- qs-jwt ---------------------------------------------------------------------------
# A build folder configured against other dependency prefixes is started
# afresh: CMake keeps pkg-config's answers, which name the old prefixes.
fresh_build_dir() { # folder prefixes
	[ "$(cat "$1/.prefixes" 2>/dev/null)" = "$2" ] || rm -rf "$1"
	mkdir -p "$1"
	printf '%s\n' "$2" >"$1/.prefixes"
}

build_qsjwt() {
	local b=$bw/qs-jwt
	say "building qs-jwt.exe"
	fresh_build_dir "$b" "$prefixes"
	PKG_CONFIG_LIBDIR=$pkg_path cmake -S . -B "$b" -G Ninja \
		-DCMAKE_TOOLCHAIN_FILE="$top/cmake/mingw-w64-x86_64.cmake" \
		-DCMAKE_FIND_ROOT_PATH="$prefixes" -DCMAKE_BUILD_TYPE=Release \
		-DQSJWT_WERROR=ON -DQSJWT_TESTS=OFF >/dev/null
	cmake --build "$b" -j "$jobs" >"$bw/qs-jwt.log" 2>&1 || die "qs-jwt failed: see $bw/qs-jwt.log"
	version=$(sed -n 's/^project(qsjwt VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
	local name=qs-jwt-$version-windows-x86_64 stage=$bw/stage
	rm -rf "$stage" && mkdir -p "$stage/$name"
	cp "$b/qs-jwt.exe" "$stage/$name/"
	$host-strip "$stage/$name/qs-jwt.exe"
	# Beside the program, every DLL it loads that Windows does not ship.
	local dll
	for dll in $(dlls_needed "$b/qs-jwt.exe"); do
		cp "$(find_dll "$dll")" "$stage/$name/"
		$host-strip "$stage/$name/$dll"
	done
	cp README.md LICENSE "$stage/$name/"
	cp docs/windows.md "$stage/$name/WINDOWS.md"
	(cd "$stage/$name" && sha256sum -- * >SHA256SUMS)
	zip_path=$bw/$name.zip
	rm -f "$zip_path"
	(cd "$stage" && zip -qrX "$zip_path" "$name")
}

# The cmocka unit tests that run on Windows (tests/unit/CMakeLists.txt), built
# against the same prefixes and copied with the DLLs they need into
# build-win/unit-bin (unit_bin), where tests/windows/run.sh runs them.
build_unit() {
	local b=$bw/unit bin=$bw/unit-bin t dll
	say "building the unit tests"
	fresh_build_dir "$b" "$prefixes;$p_cmocka"
	PKG_CONFIG_LIBDIR=$pkg_path:$p_cmocka/lib/pkgconfig cmake -S . -B "$b" -G Ninja \
		-DCMAKE_TOOLCHAIN_FILE="$top/cmake/mingw-w64-x86_64.cmake" \
		-DCMAKE_FIND_ROOT_PATH="$prefixes;$p_cmocka" -DCMAKE_BUILD_TYPE=Release \
		-DQSJWT_WERROR=ON -DQSJWT_TESTS=ON >"$bw/unit.log" 2>&1 ||
		die "unit tests: configure failed: see $bw/unit.log"
	cmake --build "$b" -j "$jobs" --target qsjwt_unit_tests >>"$bw/unit.log" 2>&1 ||
		die "unit tests failed to build: see $bw/unit.log"
	rm -rf "$bin" && mkdir -p "$bin"
	cp "$b"/tests/unit/test_*.exe "$p_cmocka"/bin/*.dll "$bin/"
	for t in "$bin"/*.exe "$bin"/*.dll; do
		for dll in $(dlls_needed "$t"); do
			[ -f "$bin/$dll" ] || cp "$(find_dll "$dll")" "$bin/"
		done
	done
	unit_bin=$bin
}

# The DLLs, not part of Windows, that $1 needs (recursively).
find_dll() {
	local d
	for d in "$p_p11kit/bin" "$bw/qs-jwt" /usr/lib/gcc/$host/*-posix /usr/$host/lib; do
		if [ -f "$d/$1" ]; then
			printf '%s\n' "$d/$1"
			return
		fi
	done
}
dlls_needed() {
	local todo=("$1") seen=" " f d
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		for d in $($host-objdump -p "$f" | sed -n 's/^\tDLL Name: //p'); do
			case $seen in *" $d "*) continue ;; esac
			seen="$seen$d "
			local path
			path=$(find_dll "$d")
			[ -n "$path" ] || continue
			printf '%s\n' "$d"
			todo+=("$path")
		done
	done
}

case ${1:-} in
build)
	install_tools
	build_deps
	build_qsjwt
	printf '%s\n' "$zip_path"
	;;
test)
	install_tools
	build_deps
	build_qsjwt
	build_unit
	QSJWT_WIN_ZIP=$zip_path QSJWT_WIN_SOFTHSM=$p_softhsm QSJWT_WIN_BUILD=$bw \
		QSJWT_WIN_UNIT=$unit_bin exec tests/windows/run.sh
	;;
*)
	echo "usage: scripts/windows.sh build|test" >&2
	exit 2
	;;
esac
