#!/usr/bin/env bash
# Build the libFuzzer targets (clang, with ASan + UBSan) and run each for
# FUZZ_SECONDS seconds (default 60), FUZZ_JOBS at a time (default: the number
# of CPUs). Fails on any crash, leak or timeout, naming the input that caused
# it (kept under build-fuzz/crashes/<target>/: add it to the seed corpus
# tests/fuzz/corpus/<target>/ once fixed, as a regression case).
# New inputs the fuzzer finds go to build-fuzz/corpus/<target>/, so longer
# runs build on earlier ones; the committed seed corpus is never modified.
# Usage: [FUZZ_SECONDS=600] [FUZZ_TARGETS="jwt keys"] [FUZZ_JOBS=2] scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"b64url jwt timespan uri keys batch_line pin_file request policy p11conf"}
jobs=${FUZZ_JOBS:-$(nproc)}

scripts/install-deps.sh
CC=clang cmake -S . -B build-fuzz -DQSJWT_FUZZ=ON -DQSJWT_WERROR=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null
out=$top/build-fuzz

# One target: its own corpus (seeds + what earlier runs found), a 10 s limit
# per input, 2 GiB of memory; the CPU seconds it used go to a report file.
run_one() {
	local t=$1 work=$out/corpus/$1 crashes=$out/crashes/$1/ log=$out/logs/$1.log
	mkdir -p "$work" "$crashes" "$out/logs"
	if /usr/bin/time -f '%U %S' -o "$out/logs/$t.time" \
		"$out/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes" \
		"$work" "$top/tests/fuzz/corpus/$t" >"$log" 2>&1; then
		echo "ok"
	else
		echo "FAILED"
	fi >"$out/logs/$t.result"
}

rm -rf "$out/logs"
running=0
for t in $targets; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait

status=0
printf '| target | CPU seconds | executions | corpus | result |\n|---|---:|---:|---:|---|\n'
for t in $targets; do
	# (GNU time puts "Command exited with non-zero status" first on failure)
	cpu=$(tail -n 1 "$out/logs/$t.time" | awk '{printf "%.0f", $1 + $2}')
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$t.log" | tail -n 1)
	files=$(find "$out/corpus/$t" -type f | wc -l)
	result=$(cat "$out/logs/$t.result")
	printf '| %s | %s | %s | %s | %s |\n' "$t" "$cpu" "${execs:-?}" "$files" "$result"
	if [ "$result" != ok ]; then
		status=1
		echo "--- fuzz_$t failed; the end of its log ($out/logs/$t.log):" >&2
		tail -n 30 "$out/logs/$t.log" >&2
		ls "$out/crashes/$t/" >&2 || true
	fi
done
exit $status
