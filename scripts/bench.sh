#!/usr/bin/env bash
# Benchmark qs-jwt on this machine against what it is built from: OpenSSL
# (openssl dgst, openssl speed, openssl genpkey) and a raw PKCS#11 signing
# loop (tests/bench/p11_sign_loop.c), every baseline measured in the same run
# so the goals, given as ratios, hold on any machine. Prints machine info and
# a markdown table on stdout; progress goes to stderr.
#
# Usage: scripts/bench.sh [soak]
#   BENCH_QUICK=1 scripts/bench.sh   few runs, small batches: a smoke test of
#                                    the script, not a measurement
#   BENCH_ONLY='one batch-file' ...  only these sections (one, batch-file,
#                                    batch-token, rss, cert, serve,
#                                    serve-tls, overload): to measure a noisy
#                                    row again
#   scripts/bench.sh soak            only the 10-minute soak of qs-jwt serve
#                                    over TLS (BENCH_SOAK_MINUTES=N: N minutes)
#
# Everything happens in a temporary directory, removed on exit (the p11-kit
# server too). It installs nothing but what scripts/install-deps.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# ---- settings ----------------------------------------------------------------------

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RUNS=5           # hyperfine runs per command and round (one token per process)
	ROUNDS=1         # rounds of hyperfine over all one-token commands
	WARMUP=1
	RSS_RUNS=3       # runs whose peak RSS is taken (median)
	SPEED_SECONDS=1  # openssl speed -seconds
	LOOP_SECONDS=1   # p11_sign_loop seconds
	BATCH_SECONDS=1  # a batch must run at least this long
	RSS_LINES=2000   # the "100,000-line" batch
	CERT_RUNS=3      # --cert-create / genpkey runs
	SERVE_SECONDS=2  # wrk -d per serve row
	SERVE_RSS_REQS=5000 # the "100,000 requests" of the serve RSS row
else
	# >= 30 runs for medians of short processes; 5 rounds of 20 (100 in
	# all) so a change in machine load while they run hits every command
	# alike, not the one that happened to run then.
	RUNS=20
	ROUNDS=5
	WARMUP=5
	RSS_RUNS=11
	SPEED_SECONDS=5
	LOOP_SECONDS=5
	BATCH_SECONDS=5
	RSS_LINES=100000
	SERVE_SECONDS=5
	SERVE_RSS_REQS=100000
	# RSA key generation time varies several-fold from run to run (the
	# search for primes): the median needs many runs.
	CERT_RUNS=21
fi

PIN=bench-$$-$RANDOM
CLIENT_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
GNU_TIME=/usr/bin/time
CLAIMS_EXPIRES=(--expires 60m --audience qlik-aud)

# ---- temp dir, cleanup ----------------------------------------------------------------

WORK=$(mktemp -d /tmp/qs-jwt-bench.XXXXXX)
P11_KIT_SERVER_PID=

cleanup() {
	stop_serve
	# The server daemonises and forks one child per client connection: stop
	# those first, then the server, by process id only.
	if [ -n "$P11_KIT_SERVER_PID" ]; then
		pkill -P "$P11_KIT_SERVER_PID" 2>/dev/null || true
		kill "$P11_KIT_SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
# A signal ends the script through the EXIT trap above.
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '== %s\n' "$*" >&2; }
die() {
	printf 'bench.sh: %s\n' "$*" >&2
	exit 1
}

# ---- building ---------------------------------------------------------------------------

build() {
	log "installing what is missing, building (release)"
	# The benchmark's tools (hyperfine, cmocka for the tests-on build below);
	# build.sh then builds build-release/ and prints the binary: the qs-jwt
	# users install is the one measured.
	scripts/install-deps.sh
	QSJWT=$(scripts/build.sh)
	# The raw signing loop lives among the tests (it is no part of qs-jwt);
	# a separate build dir so the release build stays tests-free.
	cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DQSJWT_TESTS=ON >/dev/null
	cmake --build "$ROOT/build-bench" -j "$(nproc)" --target p11_sign_loop serve_load >/dev/null
	SIGN_LOOP=$ROOT/build-bench/tests/bench/p11_sign_loop
	SERVE_LOAD=$ROOT/build-bench/tests/bench/serve_load
	if [ ! -x "$QSJWT" ] || [ ! -x "$SIGN_LOOP" ] || [ ! -x "$SERVE_LOAD" ]; then
		die "build failed"
	fi
}

# ---- helpers ----------------------------------------------------------------------------

# A command line for hyperfine -N (no shell: it splits words itself), each
# argument quoted.
cmdline() {
	local out='' a
	for a in "$@"; do
		out+=" $(printf '%q' "$a")"
	done
	printf '%s' "${out# }"
}

# hyperfine_medians JSON...: the median of each command over the runs of
# all the exports (the same commands in each), in seconds, one a line.
hyperfine_medians() {
	python3 -c 'import json, statistics, sys
runs = {}
for path in sys.argv[1:]:
    for i, r in enumerate(json.load(open(path))["results"]):
        runs.setdefault(i, []).extend(r["times"])
for i in sorted(runs):
    print(statistics.median(runs[i]))' "$@"
}

# calc EXPR: a float expression (awk), printed with %.6g.
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }

# peak_rss_kb RUNS CMD...: median peak RSS (KiB) of RUNS runs of CMD, stdout
# to /dev/null. Fails when CMD fails.
peak_rss_kb() {
	local runs=$1 i
	shift
	for ((i = 0; i < runs; i++)); do
		"$GNU_TIME" -f %M -o "$WORK/time.out" "$@" >/dev/null 2>>"$WORK/rss.err" ||
			die "failed: $* (see below)$(printf '\n')$(tail -5 "$WORK/rss.err")"
		cat "$WORK/time.out"
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# speed_sign BITS JOBS: openssl speed's RSA sign/s (all processes together).
# -elapsed: per second of wall time, as the batch is measured; by default
# openssl speed divides by its CPU time, which a loaded machine does not
# slow down.
speed_sign() {
	local bits=$1 jobs=$2 multi=()
	[ "$jobs" -gt 1 ] && multi=(-multi "$jobs")
	openssl speed -elapsed -seconds "$SPEED_SECONDS" "${multi[@]}" "rsa$bits" 2>>"$WORK/speed.err" |
		awk -v b="$bits" '$1 == "rsa" && $2 == b && $3 == "bits" { v = $6 } END { print v }'
}

# batch_input N FILE: N JSON lines, each the same size as the one-token claims
# (user ids zero-padded), so every signing input is as long as INPUT's.
batch_input() {
	awk -v n="$1" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "{\"userid\":\"user%05d\",\"userdir\":\"ACME\",\"username\":\"User %05d\",\"useremail\":\"user%05d@example.com\",\"groups\":[\"Sales\",\"Finance\"]}\n", i % 100000, i % 100000, i % 100000
	}' >"$2"
}

# run_batch LINES JOBS KEY_OPTS...: one whole batch process; sets BATCH_WALL
# (s) and BATCH_RSS (KiB). The exit code is 0 only when every line was issued.
run_batch() {
	local lines=$1 jobs=$2
	shift 2
	[ -s "$WORK/batch-$lines.jsonl" ] || batch_input "$lines" "$WORK/batch-$lines.jsonl"
	# env (BATCH_ENV: the remote token's client side) costs one exec.
	"$GNU_TIME" -f '%e %M' -o "$WORK/time.out" env "${BATCH_ENV[@]}" \
		"$QSJWT" create-qseow --batch "$WORK/batch-$lines.jsonl" --jobs "$jobs" \
		"${CLAIMS_EXPIRES[@]}" --minimal-output "$@" >/dev/null 2>"$WORK/batch.err" ||
		die "batch failed: $(tail -3 "$WORK/batch.err")"
	read -r BATCH_WALL BATCH_RSS <"$WORK/time.out"
}

# batch_rate EXPECTED_RATE JOBS KEY_OPTS...: tokens/s of a batch sized, from
# the baseline's rate, to run at least BATCH_SECONDS (whole process); resized
# and run again when it was quicker than that. Sets RATE.
batch_rate() {
	local expect=$1 jobs=$2 lines
	shift 2
	lines=$(awk -v r="$expect" -v s="$BATCH_SECONDS" 'BEGIN { n = int(r * s * 1.2) + 1; print n < 200 ? 200 : n }')
	for _ in 1 2 3; do
		run_batch "$lines" "$jobs" "$@"
		if awk -v w="$BATCH_WALL" -v s="$BATCH_SECONDS" 'BEGIN { exit !(w >= s) }'; then
			RATE=$(calc "$lines / $BATCH_WALL")
			log "  $lines lines in $BATCH_WALL s: $RATE tokens/s"
			return 0
		fi
		lines=$(awk -v n="$lines" -v w="$BATCH_WALL" -v s="$BATCH_SECONDS" \
			'BEGIN { w = w < 0.01 ? 0.01 : w; print int(n * s * 1.3 / w) + 1 }')
	done
	die "a batch never ran $BATCH_SECONDS s"
}

# measure_pair BASE_FN QS_FN: the baseline (BASE_FN prints a rate) right
# before and right after qs-jwt (QS_FN EXPECTED_RATE sets RATE), so a change
# in the machine's load shows. Sets BASE (the mean of the two) and NOISY (""
# or a note). A baseline that moved over 10% during the row: the row is
# measured once more.
measure_pair() {
	local base_fn=$1 qs_fn=$2 b1 b2
	for _ in 1 2; do
		b1=$("$base_fn") || die "baseline $base_fn failed (see $WORK/*.err)"
		[ -n "$b1" ] || die "baseline $base_fn printed no rate"
		"$qs_fn" "$b1"
		b2=$("$base_fn") || die "baseline $base_fn failed (see $WORK/*.err)"
		[ -n "$b2" ] || die "baseline $base_fn printed no rate"
		BASE=$(calc "($b1 + $b2) / 2")
		NOISY=
		if awk -v a="$b1" -v b="$b2" 'BEGIN { d = a > b ? a - b : b - a; exit !(d <= 0.10 * (a + b) / 2) }'; then
			return 0
		fi
		NOISY=", noisy: baseline $(per_s "$b1") before, $(per_s "$b2") after"
		log "  the baseline moved from $b1 to $b2 during the row: measuring it again"
	done
}

# ---- the table ------------------------------------------------------------------------

ROWS=()
MISSED=()
BATCH_ENV=()

# row MEASUREMENT QSJWT BASELINE RATIO GOAL MET
row() {
	ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 |")
	case $6 in
	yes*) ;;
	*) MISSED+=("$1") ;;
	esac
}

# met VALUE OP LIMIT: "yes" or "**no**".
met() {
	if awk -v v="$1" -v l="$3" "BEGIN { exit !(v $2 l) }"; then echo yes; else echo '**no**'; fi
}

ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
per_s() { awk -v r="$1" 'BEGIN { printf "%.0f /s", r }'; }
x() { awk -v r="$1" 'BEGIN { printf "%.2fx", r }'; }

# ---- setting up -------------------------------------------------------------------------

setup_keys() {
	log "keys, SoftHSM2 token, signing input"
	# shellcheck source=scripts/softhsm.sh
	. scripts/softhsm.sh
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/k2048.pem" 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$WORK/k4096.pem" 2>/dev/null
	openssl pkey -in "$WORK/k2048.pem" -pubout -out "$WORK/k2048.pub" 2>/dev/null

	# The same RSA-2048 key on a fresh token, so the openssl comparison
	# signs with the identical key. The PIN reaches pkcs11-tool through
	# the environment, not its arguments.
	softhsm_new "$WORK/hsm" bench "$PIN"
	local t
	for t in privkey:k2048.pem pubkey:k2048.pub; do
		BENCH_PIN=$PIN pkcs11-tool --module "$SOFTHSM_MODULE" --token-label bench \
			--login --pin env:BENCH_PIN --write-object "$WORK/${t#*:}" \
			--type "${t%%:*}" --label bench --id 01 >/dev/null 2>&1 ||
			die "cannot import ${t#*:} into the SoftHSM2 token"
	done
	PINF=$WORK/hsm/pin

	# The signing input (header.payload) of a real token with the claims
	# every benchmark uses.
	CLAIMS=(--userdir ACME --userid user00001 --username 'User 00001'
		--useremail user00001@example.com --groups Sales Finance "${CLAIMS_EXPIRES[@]}")
	local tok
	tok=$("$QSJWT" create-qseow "${CLAIMS[@]}" --cert-privatekey-file "$WORK/k2048.pem" \
		--minimal-output)
	printf '%s' "${tok%.*}" >"$WORK/input"
	# The batch lines must give the same input size (run_batch).
	batch_input 1 "$WORK/one.jsonl"
	local btok
	btok=$("$QSJWT" create-qseow --batch "$WORK/one.jsonl" --jobs 1 "${CLAIMS_EXPIRES[@]}" \
		--cert-privatekey-file "$WORK/k2048.pem" --minimal-output |
		sed 's/.*"token":"\([^"]*\)".*/\1/')
	btok=${btok%.*}
	[ ${#btok} -eq "$(wc -c <"$WORK/input")" ] ||
		die "batch signing input (${#btok} bytes) differs in size from the one-token input"
}

machine_info() {
	local cpu
	cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "## qs-jwt benchmark"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "- nproc: $(nproc)"
	echo "- CPU: ${cpu:-unknown}"
	echo "- OpenSSL: $(openssl version)"
	echo "- kernel: $(uname -sr)"
	echo "- SoftHSM2: $(dpkg-query -W -f='${Version}' softhsm2 2>/dev/null || echo '?'), p11-kit: $(dpkg-query -W -f='${Version}' p11-kit 2>/dev/null || echo '?')"
	echo "- qs-jwt: $("$QSJWT" --version 2>&1 | head -1) ($QSJWT)"
	echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	[ "${BENCH_QUICK:-0}" = 1 ] && echo "- **BENCH_QUICK=1: a smoke test, the numbers mean nothing**"
	echo
}

# ---- the measurements -------------------------------------------------------------------

bench_one_token() {
	log "one token per process ($ROUNDS rounds of $RUNS runs each)"
	local base file reg mpath mname loop round
	base=(openssl dgst -sha256 -sign "$WORK/k2048.pem" -out /dev/null "$WORK/input")
	file=(create-qseow "${CLAIMS[@]}" --minimal-output --cert-privatekey-file "$WORK/k2048.pem")
	# No module option: the registry is what users get.
	reg=(create-qseow "${CLAIMS[@]}" --minimal-output
		--pkcs11-uri 'pkcs11:token=bench;object=bench' --pkcs11-pin-file "$PINF")
	mpath=(create-qseow "${CLAIMS[@]}" --minimal-output
		--pkcs11-uri "pkcs11:token=bench;object=bench?module-path=$SOFTHSM_MODULE"
		--pkcs11-pin-file "$PINF")
	# The registered module by name: only it is initialised.
	mname=(create-qseow "${CLAIMS[@]}" --minimal-output
		--pkcs11-uri "pkcs11:token=bench;object=bench?module-name=softhsm2"
		--pkcs11-pin-file "$PINF")
	# What SoftHSM2 itself costs: load, C_Initialize, login, one signature.
	loop=("$SIGN_LOOP" "$SOFTHSM_MODULE" bench bench "$PINF" "$WORK/input" 1 0.000001)
	# hyperfine sends each command's stdout to /dev/null.
	for ((round = 1; round <= ROUNDS; round++)); do
		hyperfine -N --style none --warmup "$WARMUP" --runs "$RUNS" \
			--export-json "$WORK/one-$round.json" "$(cmdline "${base[@]}")" \
			"$(cmdline "$QSJWT" "${file[@]}")" "$(cmdline "$QSJWT" "${reg[@]}")" \
			"$(cmdline "$QSJWT" "${mpath[@]}")" "$(cmdline "${loop[@]}")" \
			"$(cmdline "$QSJWT" "${mname[@]}")" \
			>"$WORK/hyperfine.log" 2>&1 || die "hyperfine failed: $(tail -5 "$WORK/hyperfine.log")"
	done
	local t
	mapfile -t t < <(hyperfine_medians "$WORK"/one-*.json)
	local r_file r_reg r_mpath r_mname
	r_mname=$(calc "${t[5]} / ${t[0]}")
	r_file=$(calc "${t[1]} / ${t[0]}")
	r_reg=$(calc "${t[2]} / ${t[0]}")
	r_mpath=$(calc "${t[3]} / ${t[0]}")
	row "one token, RSA-2048 file key: median wall (baseline: openssl dgst -sha256 -sign, same key and input size)" \
		"$(ms "${t[1]}")" "$(ms "${t[0]}")" "$(x "$r_file")" "<= 1.10x" "$(met "$r_file" '<=' 1.10)"
	row "one token, SoftHSM2 key via p11-kit registry: median wall (baseline: openssl dgst, same key; p11_sign_loop, one signature: $(ms "${t[4]}"))" \
		"$(ms "${t[2]}")" "$(ms "${t[0]}")" "$(x "$r_reg")" "<= 1.40x" "$(met "$r_reg" '<=' 1.40)"
	row "one token, SoftHSM2 key, URI ?module-path=: median wall (for comparison)" \
		"$(ms "${t[3]}")" "$(ms "${t[0]}")" "$(x "$r_mpath")" "<= 1.40x" "$(met "$r_mpath" '<=' 1.40)"
	row "one token, SoftHSM2 key, URI ?module-name=softhsm2: median wall" \
		"$(ms "${t[5]}")" "$(ms "${t[0]}")" "$(x "$r_mname")" "<= 1.40x" "$(met "$r_mname" '<=' 1.40)"

	log "one token per process: peak RSS ($RSS_RUNS runs each)"
	local k_base k_file k_reg k_mpath k_mname k_loop
	k_base=$(peak_rss_kb "$RSS_RUNS" "${base[@]}")
	k_file=$(peak_rss_kb "$RSS_RUNS" "$QSJWT" "${file[@]}")
	k_reg=$(peak_rss_kb "$RSS_RUNS" "$QSJWT" "${reg[@]}")
	k_mpath=$(peak_rss_kb "$RSS_RUNS" "$QSJWT" "${mpath[@]}")
	k_mname=$(peak_rss_kb "$RSS_RUNS" "$QSJWT" "${mname[@]}")
	k_loop=$(peak_rss_kb "$RSS_RUNS" "${loop[@]}")
	row "one token, RSA-2048 file key: peak RSS (baseline: openssl dgst)" \
		"$(mb "$k_file")" "$(mb "$k_base")" "$(x "$(calc "$k_file / $k_base")")" "<= 8 MB" \
		"$(met "$k_file" '<=' 8192)"
	row "one token, SoftHSM2 key via p11-kit registry: peak RSS (p11_sign_loop on SoftHSM2, one signature: $(mb "$k_loop"))" \
		"$(mb "$k_reg")" "$(mb "$k_base")" "$(x "$(calc "$k_reg / $k_base")")" "<= 8 MB" \
		"$(met "$k_reg" '<=' 8192)"
	row "one token, SoftHSM2 key, ?module-path=: peak RSS (p11_sign_loop: $(mb "$k_loop"))" \
		"$(mb "$k_mpath")" "$(mb "$k_base")" "$(x "$(calc "$k_mpath / $k_base")")" "<= 8 MB" \
		"$(met "$k_mpath" '<=' 8192)"
	row "one token, SoftHSM2 key, ?module-name=softhsm2: peak RSS" \
		"$(mb "$k_mname")" "$(mb "$k_base")" "$(x "$(calc "$k_mname / $k_base")")" "<= 8 MB" \
		"$(met "$k_mname" '<=' 8192)"
}

bench_batch_file() {
	local bits jobs r multi
	# Called by measure_pair; bits and jobs are this function's.
	_speed() { speed_sign "$bits" "$jobs"; }
	_qs_file() { batch_rate "$1" "$jobs" --cert-privatekey-file "$WORK/k$bits.pem"; }
	for bits in 2048 4096; do
		for jobs in 1 2; do
			log "batch, RSA-$bits file key, --jobs $jobs: openssl speed, qs-jwt, openssl speed"
			measure_pair _speed _qs_file
			r=$(calc "$RATE / $BASE")
			multi=
			[ "$jobs" -gt 1 ] && multi=", -multi $jobs"
			row "batch, RSA-$bits file key, --jobs $jobs: tokens/s (baseline: openssl speed -elapsed rsa$bits sign/s$multi)" \
				"$(per_s "$RATE")" "$(per_s "$BASE")" "$(x "$r")" ">= 0.90" "$(met "$r" '>=' 0.90)$NOISY"
		done
	done
}

# bench_batch_p11 NAME MODULE URI [ENV...]: the batch on a token key against
# p11_sign_loop on MODULE, --jobs 1 and 2. ENV: for both, the client side of
# the remote token.
bench_batch_p11() {
	local name=$1 module=$2 uri=$3 jobs r
	shift 3
	BATCH_ENV=("$@")
	# Called by measure_pair; module and jobs are this function's.
	_loop() {
		env "${BATCH_ENV[@]}" "$SIGN_LOOP" "$module" bench bench "$PINF" "$WORK/input" \
			"$jobs" "$LOOP_SECONDS" 2>>"$WORK/loop.err"
	}
	_qs_p11() { batch_rate "$1" "$jobs" --pkcs11-uri "$uri" --pkcs11-pin-file "$PINF"; }
	for jobs in 1 2; do
		log "batch, $name, --jobs $jobs: p11_sign_loop, qs-jwt, p11_sign_loop"
		measure_pair _loop _qs_p11
		r=$(calc "$RATE / $BASE")
		row "batch, $name, --jobs $jobs: tokens/s (baseline: p11_sign_loop, $jobs thread$([ "$jobs" -gt 1 ] && echo s))" \
			"$(per_s "$RATE")" "$(per_s "$BASE")" "$(x "$r")" ">= 0.90" "$(met "$r" '>=' 0.90)$NOISY"
	done
	BATCH_ENV=()
}

start_p11_kit_server() {
	log "starting p11-kit server for token 'bench'"
	[ -e "$CLIENT_MODULE" ] || die "missing $CLIENT_MODULE"
	local envs
	# It daemonises and prints the settings for its clients (sh syntax).
	envs=$(p11-kit server --provider "$SOFTHSM_MODULE" --name "$WORK/p11.sock" 'pkcs11:token=bench') ||
		die "p11-kit server did not start"
	eval "$envs"
	if [ -z "${P11_KIT_SERVER_PID:-}" ] || [ -z "${P11_KIT_SERVER_ADDRESS:-}" ]; then
		die "p11-kit server printed no address: $envs"
	fi
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$WORK/p11.sock" ] && return 0
		sleep 0.05
	done
	die "p11-kit server made no socket"
}

bench_batch_tokens() {
	bench_batch_p11 "SoftHSM2 key (p11-kit registry)" "$SOFTHSM_MODULE" \
		'pkcs11:token=bench;object=bench'
	start_p11_kit_server
	# The client side sees no local SoftHSM2 store: whatever signs is
	# behind the server.
	bench_batch_p11 "SoftHSM2 key through p11-kit server" "$CLIENT_MODULE" \
		"pkcs11:token=bench;object=bench?module-path=$CLIENT_MODULE" \
		"P11_KIT_SERVER_ADDRESS=$P11_KIT_SERVER_ADDRESS" "SOFTHSM2_CONF=$WORK/none/softhsm2.conf"
}

bench_batch_rss() {
	log "peak RSS of a $RSS_LINES-line batch (RSA-2048 file key, --jobs 2)"
	run_batch "$RSS_LINES" 2 --cert-privatekey-file "$WORK/k2048.pem"
	row "batch of $RSS_LINES lines, RSA-2048 file key, --jobs 2: peak RSS ($BATCH_WALL s, $(per_s "$(calc "$RSS_LINES / $BATCH_WALL")"))" \
		"$(mb "$BATCH_RSS")" "-" "-" "<= 16 MB" "$(met "$BATCH_RSS" '<=' 16384)"
}

bench_cert_create() {
	log "--cert-create RSA-4096 vs openssl genpkey ($CERT_RUNS runs each, interleaved)"
	local dir=$WORK/cert qs base json=$WORK/cert.json
	mkdir "$dir"
	# A new prefix each run ({i}): nothing to remove between runs, and no
	# --force path. One untimed run of each first (cold caches).
	qs=$(cmdline "$QSJWT" create-qseow "${CLAIMS[@]}" --minimal-output --cert-create true \
		--cert-create-key-bits 4096 --cert-create-expires-days 365)
	base=$(cmdline openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096)
	"$QSJWT" create-qseow "${CLAIMS[@]}" --minimal-output --cert-create true \
		--cert-create-key-bits 4096 --cert-create-expires-days 365 \
		--cert-file-prefix "$dir/warm-" >/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$dir/warm.pem" 2>/dev/null
	# --parameter-scan with one run per value alternates the two commands,
	# so a change in machine load hits both alike.
	hyperfine -N --style none --runs 1 --parameter-scan i 1 "$CERT_RUNS" --export-json "$json" \
		"$qs --cert-file-prefix $dir/q{i}-" "$base -out $dir/o{i}.pem" \
		>"$WORK/hyperfine-cert.log" 2>&1 ||
		die "hyperfine failed: $(tail -5 "$WORK/hyperfine-cert.log")"
	local t
	mapfile -t t < <(python3 -c 'import json, statistics, sys
q, o = [], []
for r in json.load(open(sys.argv[1]))["results"]:
    (o if "genpkey" in r["command"] else q).extend(r["times"])
print(statistics.median(q)); print(statistics.median(o))' "$json")
	local r
	r=$(calc "${t[0]} / ${t[1]}")
	row "--cert-create RSA-4096 (key, certificate, 3 files, a token): median wall of $CERT_RUNS (baseline: openssl genpkey rsa_keygen_bits:4096)" \
		"$(ms "${t[0]}")" "$(ms "${t[1]}")" "$(x "$r")" "<= 1.10x" "$(met "$r" '<=' 1.10)"
}

# ---- qs-jwt serve ---------------------------------------------------------------------

SERVE_PID=
stop_serve() {
	[ -n "$SERVE_PID" ] || return 0
	kill "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID" 2>/dev/null
	SERVE_PID=
}

# start_serve JOBS KEY_OPTS...: the service on loopback TCP (port in
# SERVE_PORT) and a unix socket ($WORK/serve.sock), a policy that lets both
# callers ask for anything, an audit log in $WORK.
start_serve() {
	local jobs=$1 i
	shift
	printf '{"clients":[{"name":"bench","match":{"loopback":true},"allow":{"userdir":["*"],"userid":["*"],"audience":["*"],"groups":["*"]}},{"name":"me","match":{"uid":%s},"allow":{"userdir":["*"],"userid":["*"],"audience":["*"],"groups":["*"]}}]}\n' \
		"$(id -u)" >"$WORK/serve-policy.json"
	rm -f "$WORK/serve.sock" "$WORK/serve-audit.jsonl"
	"$QSJWT" serve --listen tcp:127.0.0.1:0 --listen "unix:$WORK/serve.sock" --jobs "$jobs" \
		--policy "$WORK/serve-policy.json" --audit-log "$WORK/serve-audit.jsonl" "$@" \
		2>"$WORK/serve.log" &
	SERVE_PID=$!
	for ((i = 0; i < 200; i++)); do
		grep -q 'INFO: ready' "$WORK/serve.log" && break
		sleep 0.05
	done
	SERVE_PORT=$(sed -n 's/.*listening on tcp:127.0.0.1:\([0-9]*\) .*/\1/p' "$WORK/serve.log")
	grep -q 'INFO: ready' "$WORK/serve.log" && [ -n "$SERVE_PORT" ] ||
		die "qs-jwt serve did not start: $(cat "$WORK/serve.log")"
}

# The request every serve benchmark sends: the claims of the one-token rows.
serve_body() {
	printf '{"userid":"user00001","userdir":"ACME","username":"User 00001","useremail":"user00001@example.com","groups":["Sales","Finance"],"expires":"60m","audience":"qlik-aud"}'
}

# wrk_run CONNECTIONS SECONDS: keep-alive POSTs; sets WRK_RATE (req/s),
# WRK_P50 and WRK_P99 (s); every answer must be 200.
wrk_run() {
	local c=$1 secs=$2 out=$WORK/wrk.out
	cat >"$WORK/post.lua" <<EOF_LUA
wrk.method = "POST"
wrk.body = '$(serve_body)'
wrk.headers["Content-Type"] = "application/json"
non200 = 0
response = function(status, headers, body) if status ~= 200 then non200 = non200 + 1 end end
done = function(summary, latency, requests) io.write(string.format("p50 %d\\np99 %d\\nerrors %d\\n", latency:percentile(50), latency:percentile(99), summary.errors.status)) end
EOF_LUA
	wrk -t "$c" -c "$c" -d "${secs}s" -s "$WORK/post.lua" "http://127.0.0.1:$SERVE_PORT/v1/qseow" >"$out" 2>&1 ||
		die "wrk failed: $(cat "$out"); the service: $(kill -0 "$SERVE_PID" 2>/dev/null && echo running || echo gone), $(tail -5 "$WORK/serve.log")"
	WRK_RATE=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	WRK_P50=$(awk '/^p50 / { print $2 / 1e6 }' "$out")
	WRK_P99=$(awk '/^p99 / { print $2 / 1e6 }' "$out")
	[ "$(awk '/^errors / { print $2 }' "$out")" = 0 ] || die "wrk saw answers other than 200: $(cat "$out")"
	grep -q 'Non-2xx' "$out" && die "wrk saw non-2xx answers: $(cat "$out")"
	[ -n "$WRK_RATE" ] || die "wrk printed no rate: $(cat "$out")"
}

# curl_par N PARALLEL: N requests with curl over the unix socket, PARALLEL at
# a time (a process per request); prints requests/s.
curl_par() {
	local n=$1 par=$2 t0 t1
	serve_body >"$WORK/body.json"
	t0=$(date +%s.%N)
	seq "$n" | xargs -P "$par" -I{} curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$WORK/serve.sock" \
		-H 'Content-Type: application/json' --data-binary "@$WORK/body.json" http://qs-jwt/v1/qseow >"$WORK/curl.codes"
	t1=$(date +%s.%N)
	[ "$(grep -c '^200$' "$WORK/curl.codes")" = "$n" ] || die "curl: not every answer was 200"
	calc "$n / ($t1 - $t0)"
}

# bench_serve_key NAME BASE_FN(JOBS) KEY_OPTS...: tokens/s with wrk (2
# connections per worker) against the baseline at the same parallelism, the
# latency of one request at a time against one raw signature, and curl.
bench_serve_key() {
	local name=$1 base_fn=$2 jobs r base one b1 b2
	shift 2
	for jobs in 1 2; do
		log "serve, $name, --jobs $jobs: baseline, wrk, baseline"
		start_serve "$jobs" "$@"
		wrk_run 1 1 # warm up
		b1=$("$base_fn" "$jobs")
		wrk_run $((jobs * 2)) "$SERVE_SECONDS"
		b2=$("$base_fn" "$jobs")
		base=$(calc "($b1 + $b2) / 2")
		r=$(calc "$WRK_RATE / $base")
		row "serve, $name, --jobs $jobs, wrk keep-alive over loopback TCP, $((jobs * 2)) connections: tokens/s (p50 $(ms "$WRK_P50"), p99 $(ms "$WRK_P99"); baseline: $($base_fn name) at $jobs)" \
			"$(per_s "$WRK_RATE")" "$(per_s "$base")" "$(x "$r")" ">= 0.85" "$(met "$r" '>=' 0.85)"
		if [ "$jobs" = 1 ]; then
			wrk_run 1 "$SERVE_SECONDS"
			one=$(calc "1 / $base")
			r=$(calc "$WRK_P50 / $one")
			row "serve, $name: one request at a time, p50 latency (p99 $(ms "$WRK_P99"); baseline: one raw signature, 1 / $($base_fn name))" \
				"$(ms "$WRK_P50")" "$(ms "$one")" "$(x "$r")" "<= 1.5x" "$(met "$r" '<=' 1.5)"
		fi
		r=$(curl_par $((${BENCH_QUICK:-0} == 1 ? 100 : 1000)) $((jobs * 2)))
		row "serve, $name, --jobs $jobs, curl over the unix socket, $((jobs * 2)) in parallel (a process per request): tokens/s" \
			"$(per_s "$r")" "-" "-" "-" "yes (no goal)"
		stop_serve
	done
}

_speed_base() {
	[ "$1" = name ] && { echo "openssl speed -elapsed rsa2048 sign/s"; return; }
	speed_sign 2048 "$1"
}
_loop_base() {
	[ "$1" = name ] && { echo "p11_sign_loop"; return; }
	"$SIGN_LOOP" "$SOFTHSM_MODULE" bench bench "$PINF" "$WORK/input" "$1" "$LOOP_SECONDS" 2>>"$WORK/loop.err"
}

rss_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# bench_serve_rss: RSS after 1,000 requests and after SERVE_RSS_REQS.
bench_serve_rss() {
	local n k1 k2
	log "serve RSS after 1,000 and $SERVE_RSS_REQS requests (RSA-2048 file key, --jobs 2)"
	start_serve 2 --cert-privatekey-file "$WORK/k2048.pem"
	until [ "$(wc -l <"$WORK/serve-audit.jsonl")" -ge 1000 ]; do wrk_run 4 1; done
	k1=$(rss_of "$SERVE_PID")
	n=$(wc -l <"$WORK/serve-audit.jsonl")
	until [ "$(wc -l <"$WORK/serve-audit.jsonl")" -ge "$SERVE_RSS_REQS" ]; do wrk_run 4 "$SERVE_SECONDS"; done
	k2=$(rss_of "$SERVE_PID")
	local r
	r=$(calc "$k2 / $k1")
	row "serve, RSS after $(wc -l <"$WORK/serve-audit.jsonl") requests (baseline: after $n)" \
		"$(mb "$k2")" "$(mb "$k1")" "$(x "$r")" "<= 1.05x (no growth)" "$(met "$r" '<=' 1.05)"
	stop_serve
}

bench_serve() {
	command -v wrk >/dev/null || die "missing wrk (scripts/install-deps.sh)"
	bench_serve_key "RSA-2048 file key" _speed_base --cert-privatekey-file "$WORK/k2048.pem"
	bench_serve_key "SoftHSM2 key" _loop_base --pkcs11-uri 'pkcs11:token=bench;object=bench' \
		--pkcs11-pin-file "$PINF"
	bench_serve_rss
}

print_table() {
	echo "| measurement | qs-jwt | baseline | ratio | goal | met? |"
	echo "| --- | --- | --- | --- | --- | --- |"
	printf '%s\n' "${ROWS[@]}"
	echo
	echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg) (on $(nproc) CPUs; other work on the machine makes the numbers noisy)"
	if [ ${#MISSED[@]} -eq 0 ]; then
		echo "- every goal met"
	else
		echo "- goals missed: ${#MISSED[@]}"
	fi
}

# only SECTION: true when BENCH_ONLY is unset or names SECTION.
only() {
	[ -z "${BENCH_ONLY:-}" ] && return 0
	case " $BENCH_ONLY " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# shellcheck source=scripts/bench_serve_tls.sh
. "$ROOT/scripts/bench_serve_tls.sh"

main() {
	build
	setup_keys
	# Machine info first, table last: stdout holds only the report.
	machine_info
	if [ "${1:-}" = soak ]; then
		bench_serve_soak
		print_table
		return
	fi
	if only one; then bench_one_token; fi
	if only batch-file; then bench_batch_file; fi
	if only batch-token; then bench_batch_tokens; fi
	if only rss; then bench_batch_rss; fi
	if only cert; then bench_cert_create; fi
	if only serve; then bench_serve; fi
	if only serve-tls; then bench_serve_tls; fi
	if only overload; then bench_serve_overload; fi
	print_table
}

main "$@"
