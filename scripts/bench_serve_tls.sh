# shellcheck shell=bash
# The TLS, overload and soak sections of scripts/bench.sh (sourced by it; it
# uses its helpers: log, die, row, met, calc, per_s, ms, mb, x, $WORK,
# $QSJWT, $PINF, $SOFTHSM_MODULE). The load comes from tests/bench/
# serve_load.c: wrk and hey cannot present a client certificate.
#
#   bench_serve_tls       tokens/s over TLS (keep-alive, client certificate)
#                         next to plain HTTP on loopback, file key and
#                         SoftHSM2, 1 and 2 workers. Goal: TLS >= 0.90x.
#   bench_serve_overload  5x the measured maximum offered: the share shed
#                         (503), latency of the 200s and of the 503s, the
#                         service's memory, recovery once it stops.
#   bench_serve_soak      (scripts/bench.sh soak) 10 minutes at 70 % of the
#                         maximum: failures, RSS, open fds, p99, first and
#                         last minute.

# A test PKI and the service's files, once.
serve_tls_setup() {
	[ -n "${SERVE_PKI:-}" ] && return 0
	SERVE_PKI=$WORK/pki
	mkdir -p "$SERVE_PKI"
	local n
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$SERVE_PKI/ca.key" -out "$SERVE_PKI/ca.pem" -days 30 -subj /CN=bench-ca \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null ||
		die "cannot make the bench CA"
	for n in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$SERVE_PKI/$n.key" \
			-out "$SERVE_PKI/$n.csr" -subj "/CN=bench-$n" 2>/dev/null
		if [ $n = server ]; then
			printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$SERVE_PKI/$n.ext"
		else
			printf 'extendedKeyUsage=clientAuth\n' >"$SERVE_PKI/$n.ext"
		fi
		openssl x509 -req -in "$SERVE_PKI/$n.csr" -CA "$SERVE_PKI/ca.pem" -CAkey "$SERVE_PKI/ca.key" \
			-CAcreateserial -out "$SERVE_PKI/$n.pem" -days 30 -extfile "$SERVE_PKI/$n.ext" 2>/dev/null ||
			die "cannot make the bench certificate $n"
	done
	cat >"$WORK/serve-policy.json" <<'EOP'
{"clients": [
  {"name": "tls", "match": {"cert_subject": "CN=bench-client"},
   "allow": {"userdir": ["*"], "userid": ["*"], "audience": ["*"], "groups": ["*"]}},
  {"name": "lo", "match": {"loopback": true},
   "allow": {"userdir": ["*"], "userid": ["*"], "audience": ["*"], "groups": ["*"]}}]}
EOP
	printf '%s' '{"userid":"user00001","userdir":"ACME","username":"User 00001","useremail":"user00001@example.com","groups":["Sales","Finance"],"expires":"60m","audience":"qlik-aud"}' \
		>"$WORK/serve-body.json"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# serve_up KEY JOBS: qs-jwt serve with KEY (file|token) and JOBS workers on
# a plain loopback port ($PLAIN_PORT) and a TLS one ($TLS_PORT); $SERVE_PID.
serve_up() {
	local key=(--cert-privatekey-file "$WORK/k2048.pem") i
	[ "$1" = token ] && key=(--pkcs11-uri "pkcs11:token=bench;object=bench?module-path=$SOFTHSM_MODULE" --pkcs11-pin-file "$PINF")
	PLAIN_PORT=$(free_port)
	TLS_PORT=$(free_port)
	# Created by the service (0600); emptied in place between runs.
	rm -f "$WORK/serve-audit.jsonl"
	"$QSJWT" serve --listen "tcp:127.0.0.1:$PLAIN_PORT" --listen "https:127.0.0.1:$TLS_PORT" \
		--tls-cert "$SERVE_PKI/server.pem" --tls-key "$SERVE_PKI/server.key" \
		--tls-client-ca "$SERVE_PKI/ca.pem" --policy "$WORK/serve-policy.json" \
		--audit-log "$WORK/serve-audit.jsonl" --jobs "$2" "${key[@]}" --loglevel warn \
		>/dev/null 2>"$WORK/serve.log" </dev/null &
	SERVE_PID=$!
	for i in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$PLAIN_PORT/healthz" && return 0
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	die "qs-jwt serve did not start: $(head -c 600 "$WORK/serve.log")"
}

serve_down() {
	kill "$SERVE_PID" 2>/dev/null || true
	wait "$SERVE_PID" 2>/dev/null || true
	SERVE_PID=
}

# load tls|plain CONNECTIONS SECONDS [RATE]: serve_load's key=value line.
load() {
	local how=(--tcp "127.0.0.1:$PLAIN_PORT")
	[ "$1" = tls ] && how=(--tls "127.0.0.1:$TLS_PORT" --cacert "$SERVE_PKI/ca.pem"
		--cert "$SERVE_PKI/client.pem" --key "$SERVE_PKI/client.key")
	"$SERVE_LOAD" "${how[@]}" --body "$WORK/serve-body.json" --connections "$2" \
		--seconds "$3" ${4:+--rate "$4"}
	# The audit log grows by a line a request: emptied between runs.
	: >"$WORK/serve-audit.jsonl"
}

# field LINE NAME: a value of serve_load's line.
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

bench_serve_tls() {
	local key jobs conns round plain tls p t pr tr r secs=$LOOP_SECONDS
	serve_tls_setup
	log "serve: TLS against plain HTTP, keep-alive ($secs s a run, 3 rounds)"
	for key in file token; do
		for jobs in 1 2; do
			serve_up "$key" "$jobs"
			# Two connections per worker keep every worker busy.
			conns=$((jobs * 2))
			load plain "$conns" 1 >/dev/null
			pr=0 tr=0
			# Alternating rounds: a change in machine load hits both.
			for round in 1 2 3; do
				p=$(load plain "$conns" "$secs")
				t=$(load tls "$conns" "$secs")
				pr=$(calc "$pr + $(field "$p" ok_rps) / 3")
				tr=$(calc "$tr + $(field "$t" ok_rps) / 3")
				plain=$p tls=$t
			done
			serve_down
			r=$(calc "$tr / $pr")
			row "serve over TLS ($key key, --jobs $jobs, $conns keep-alive connections, client certificate; baseline: plain HTTP on loopback); last round p50/p99: TLS $(field "$tls" p50_ms)/$(field "$tls" p99_ms) ms, plain $(field "$plain" p50_ms)/$(field "$plain" p99_ms) ms" \
				"$(per_s "$tr")" "$(per_s "$pr")" "$(x "$r")" ">= 0.90x" "$(met "$r" '>=' 0.90)"
			if [ "$key" = file ] && [ "$jobs" = 2 ]; then SERVE_MAX=$tr; fi
			log "$key key, --jobs $jobs: TLS $tr /s, plain $pr /s"
		done
	done
}

bench_serve_overload() {
	local max conns out rss0 rss_peak=0 rss1 t0 t1 rec i secs=$LOOP_SECONDS pid shed
	serve_tls_setup
	serve_up file 2
	if [ -z "${SERVE_MAX:-}" ]; then
		load tls 4 1 >/dev/null
		SERVE_MAX=$(field "$(load tls 4 "$secs")" ok_rps)
	fi
	max=$SERVE_MAX
	conns=40
	log "serve: overload, 5 x $max /s offered over $conns TLS connections for $secs s (--jobs 2, --queue 8: the default)"
	rss0=$(rss_kb "$SERVE_PID")
	load tls "$conns" "$secs" "$(calc "$max * 5")" >"$WORK/overload.out" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		i=$(rss_kb "$SERVE_PID")
		[ "$i" -gt "$rss_peak" ] && rss_peak=$i
		sleep 0.2
	done
	wait "$pid"
	out=$(cat "$WORK/overload.out")
	log "overload: $out"
	# Recovery: from the end of the load to the first 200 (one request
	# after another, each timed).
	t0=$(date +%s.%N)
	for i in $(seq 1 100); do
		rec=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$SERVE_PKI/ca.pem" \
			--cert "$SERVE_PKI/client.pem" --key "$SERVE_PKI/client.key" -H 'Content-Type: application/json' \
			--data-binary @"$WORK/serve-body.json" "https://127.0.0.1:$TLS_PORT/v1/qseow")
		[ "$rec" = 200 ] && break
	done
	t1=$(date +%s.%N)
	rss1=$(rss_kb "$SERVE_PID")
	serve_down
	shed=$(calc "100 * $(field "$out" s503) / $(field "$out" requests)")
	row "serve overload: 5x the maximum offered ($(per_s "$(calc "$max * 5")") over $conns TLS connections, $secs s, file key, --jobs 2 --queue 8): answered $(per_s "$(field "$out" rps)"), $(per_s "$(field "$out" ok_rps)") of them 200; shed (503, Retry-After: 1): $(printf '%.1f' "$shed") %; 429: $(field "$out" s429), errors: $(field "$out" errors); p50/p99 from when due: 200s $(field "$out" ok_p50_ms)/$(field "$out" ok_p99_ms) ms, 503s $(field "$out" s503_p50_ms)/$(field "$out" s503_p99_ms) ms; RSS $(mb "$rss0") before, $(mb "$rss_peak") peak, $(mb "$rss1") after" \
		"first 200 after: $(ms "$(calc "$t1 - $t0")") ($i request(s))" "-" "-" "sheds, recovers < 1 s" \
		"$(if [ "$rec" = 200 ] && [ "$(field "$out" s503)" -gt 0 ]; then met "$(calc "$t1 - $t0")" '<' 1; else echo '**no**'; fi)"
}

bench_serve_soak() {
	local minutes=${BENCH_SOAK_MINUTES:-10} max rate out m fails=0 first last m_line
	serve_tls_setup
	serve_up file 2
	load tls 4 1 >/dev/null
	max=$(field "$(load tls 4 5)" ok_rps)
	rate=$(calc "$max * 0.7")
	log "serve: soak, $minutes min at 70 % of $max /s ($rate /s) over TLS"
	for ((m = 1; m <= minutes; m++)); do
		out=$(load tls 4 60 "$rate")
		fails=$((fails + $(field "$out" errors) + $(field "$out" s429) + $(field "$out" s503) + $(field "$out" other)))
		m_line="minute $m: $(field "$out" ok_rps) ok/s, p99 $(field "$out" p99_ms) ms, RSS $(mb "$(rss_kb "$SERVE_PID")"), fds $(fds "$SERVE_PID")"
		log "$m_line"
		[ "$m" = 1 ] && first=$m_line
		last=$m_line
	done
	serve_down
	row "serve soak over TLS, $minutes min at 70 % of the maximum ($(per_s "$rate"), file key, --jobs 2): $first; $last" \
		"failed: $fails" "-" "-" "0 failed, RSS and fds flat" "$(met "$fails" '==' 0)"
}
