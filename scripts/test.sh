#!/usr/bin/env bash
# Check the layers' includes (scripts/check-layers.sh), install what is
# missing, build with warnings as errors, and run every test:
# once on a normal build, once under AddressSanitizer + UBSan; the CLI and
# SoftHSM2 suites once more under valgrind; then a short run of every fuzz
# target; last, the Windows build and its suite under wine (scripts/windows.sh).
# Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

# First, as it needs nothing installed and takes a second.
echo "== layers: no source file includes a header of a layer above its own"
scripts/check-layers.sh

scripts/install-deps.sh
jobs=$(nproc)
# The PKCS#11 modules that must not be installed (they would register with
# p11-kit for the whole machine), unpacked for tests/tokens.
scripts/tokens.sh fetch build/tokens
scripts/tokens.sh fetch build-asan/tokens
scripts/tokens.sh fetch build-vg/tokens

echo "== build (warnings are errors)"
cmake -S . -B build -DQSJWT_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
echo "== tests"
(cd build && ctest --output-on-failure -j "$jobs")

echo "== build with AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DQSJWT_WERROR=ON -DQSJWT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j "$jobs"
echo "== tests under the sanitizers"
# libfaketime is preloaded by some tests and ends up before libasan:
# harmless, but ASan checks the order unless told not to.
(cd build-asan &&
	ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:abort_on_error=1 \
	LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --output-on-failure -j "$jobs")
echo "== valgrind: the CLI and SoftHSM2 suites (memory errors and leaks exit 99)"
cmake -S . -B build-vg -DQSJWT_WERROR=ON -DQSJWT_VALGRIND=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-vg -j "$jobs"
(cd build-vg && ctest -L 'cli|softhsm' --output-on-failure -j "$jobs")

echo "== fuzzing: every parser of outside input for 10 s (scripts/fuzz.sh for long runs)"
FUZZ_SECONDS=10 scripts/fuzz.sh

echo "== Windows: qs-jwt.exe cross-built with mingw-w64, its suite under wine64"
scripts/windows.sh test
echo "== all tests passed"
