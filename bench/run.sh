#!/usr/bin/env bash
# make bench: nara measured against nginx on the same precompressed files, with the
# server pinned to core 0 and wrk to core 1; then start-up, memory, size, the plaza and
# the event streams under attack (bench/streams.sh), the fleet metrics
# (bench/peer_metrics.sh), a fleet of 200 naras and one of 1,000 simulated (bench/fleet.sh), the rollout
# gate's reaction (bench/rollout.sh) and ten minutes of brief link cuts (bench/fleet_soak.py).
# Writes bench/results/latest.json and latest.md. Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-3s}
ROUNDS=${BENCH_ROUNDS:-4}
CONNECTIONS=${BENCH_CONNECTIONS:-16 64 256}
BIN=target/release/nara
DIST=$PWD/web/dist
OUT=bench/results
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nara-bench.XXXXXX")
SERVER_PIDS=
BROKER_PID=
say() { printf 'bench: %s\n' "$*" >&2; }
cleanup() {
	for pid in $SERVER_PIDS $BROKER_PID; do kill "$pid" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=scripts/debian-packages.sh
source scripts/debian-packages.sh
ensure_debian_packages bench wrk:wrk nginx:nginx-light \
	/usr/lib/nginx/modules/ngx_http_brotli_static_module.so:libnginx-mod-http-brotli-static
if [[ " ${DEBIAN_INSTALLED[*]} " == *" nginx-light "* ]]; then
	# Debian starts the packaged nginx; the benchmark runs its own.
	service nginx stop >/dev/null 2>&1 || true
fi
[ "$(nproc)" -ge 2 ] || { say "needs two cores: the server on one, wrk on the other"; exit 1; }

say "building the release binary"
make --no-print-directory build >/dev/null
script=$(sed -n 's|.*src="\(/assets/[^"]*\.js\)".*|\1|p' "$DIST/index.html" | head -n 1)

free_port() { python3 "$(dirname "$0")/loopback.py"; }
wait_http() { for _ in $(seq 200); do curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# CPU seconds (user + system, all threads) a process has used, in clock ticks.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# Both servers run side by side on core 0; only the one under load uses it.
start_nginx() {
	NGINX_PORT=$(free_port)
	cat >"$WORK/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log stderr warn;
load_module /usr/lib/nginx/modules/ngx_http_brotli_static_module.so;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  gzip_static on;
  brotli_static on;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $DIST;
    location = /healthz { return 200 "ok\n"; }
  }
}
CONF
	taskset -c 0 nginx -p "$WORK" -c "$WORK/nginx.conf" &
	local master=$!
	SERVER_PIDS+=" $master"
	wait_http "$NGINX_PORT"
	# The master only supervises; the one worker answers every request.
	NGINX_WORKER=$(pgrep -P "$master" | head -n 1)
}

# NARA_SOFT_NOFILE, when set, is the soft open-file limit nara starts with.
start_nara() {
	NARA_PORT=$(free_port)
	(
		[ -z "${NARA_SOFT_NOFILE:-}" ] || ulimit -Sn "$NARA_SOFT_NOFILE"
		exec taskset -c 0 "$BIN" --http-addr "127.0.0.1:$NARA_PORT" --log-level warn --name bench "$@"
	) &
	NARA_PID=$!
	SERVER_PIDS+=" $NARA_PID"
	wait_http "$NARA_PORT"
}

stop_servers() {
	for pid in $SERVER_PIDS; do kill "$pid" 2>/dev/null || true; done
	for pid in $SERVER_PIDS; do wait "$pid" 2>/dev/null || true; done
	SERVER_PIDS=
}

# run_wrk SERVER NAME PATH CONNS ROUND [header]: one line of JSON per run into
# $WORK/http.jsonl, with the CPU the server used per request.
run_wrk() {
	local server=$1 name=$2 path=$3 conns=$4 round=$5 header=${6:-} port pid
	if [ "$server" = nara ]; then port=$NARA_PORT pid=$NARA_PID; else port=$NGINX_PORT pid=$NGINX_WORKER; fi
	local args=(-t1 -c"$conns" -d"$DURATION" --latency)
	[ -n "$header" ] && args+=(-H "$header")
	RUN=$((RUN + 1))
	say "[$RUN/$RUNS] $server $name at $conns connections, round $round of $ROUNDS"
	local before after
	before=$(cpu_ticks "$pid")
	taskset -c 1 wrk "${args[@]}" "http://127.0.0.1:$port$path" >"$WORK/wrk.txt"
	after=$(cpu_ticks "$pid")
	python3 bench/wrk_to_json.py "$server" "$name" "$conns" "$round" $((after - before)) "$(getconf CLK_TCK)" \
		<"$WORK/wrk.txt" >>"$WORK/http.jsonl"
}

# Rounds alternate which server goes first, so a slow spell of this shared machine
# falls on both alike; the report pairs each round's runs.
http_row() {
	local name=$1 path=$2 conns=$3 header=${4:-} round order server
	for round in $(seq "$ROUNDS"); do
		order="nara nginx"
		[ $((round % 2)) = 0 ] && order="nginx nara"
		for server in $order; do
			run_wrk "$server" "$name" "$path" "$conns" "$round" "$header"
		done
	done
}

: >"$WORK/http.jsonl"
RUN=0
RUNS=$((3 * $(wc -w <<<"$CONNECTIONS") * ROUNDS * 2))
start_nara
sleep 1
say "memory: nara idle, just started"
idle_kib=$(rss "$NARA_PID")
start_nginx
for port in "$NARA_PORT" "$NGINX_PORT"; do
	taskset -c 1 wrk -t1 -c16 -d1s "http://127.0.0.1:$port/" >/dev/null # warm-up
done
for conns in $CONNECTIONS; do
	http_row index.html / "$conns"
	http_row "js (br, gzip)" "$script" "$conns" "Accept-Encoding: br, gzip"
	http_row healthz /healthz "$conns"
done
say "memory: nara under 256 connections, after the runs above"
taskset -c 1 wrk -t1 -c256 -d"$DURATION" "http://127.0.0.1:$NARA_PORT/" >/dev/null &
load=$!
peak_kib=$idle_kib
while kill -0 "$load" 2>/dev/null; do
	now=$(rss "$NARA_PID")
	[ "$now" -gt "$peak_kib" ] && peak_kib=$now
	sleep 0.1
done
stop_servers

say "connections: memory per idle keep-alive connection, fresh nara and nginx, 2,000 each"
start_nara
start_nginx
nara_idle=$(taskset -c 1 python3 bench/crowd.py "$NARA_PORT" "$NARA_PID" 2000)
nginx_idle=$(taskset -c 1 python3 bench/crowd.py "$NGINX_PORT" "$NGINX_WORKER" 2000)
stop_servers

say "connections: 3,000 at once, nara started under a soft open-file limit of 1,024"
NARA_SOFT_NOFILE=1024 start_nara
crowd_3000=$(taskset -c 1 python3 bench/crowd.py "$NARA_PORT" "$NARA_PID" 3000)
stop_servers

say "start-up: exec to the first 200 from /healthz, 50 runs"
startup_ms=$(python3 bench/startup.py "$BIN" 50)

say "plaza: verification, 10,000 naras, /api/peers"
plaza=$(cargo run --quiet --release --example plaza_bench)

say "plaza: 20,000 signed messages through mosquitto into one nara"
BROKER_PORT=$(free_port)
printf 'persistence false\nuser root\nallow_anonymous true\nmax_queued_messages 100000\nlistener %s 127.0.0.1\n' "$BROKER_PORT" >"$WORK/mosquitto.conf"
taskset -c 1 "$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$WORK/mosquitto.conf" 2>"$WORK/mosquitto.log" &
BROKER_PID=$!
sleep 0.5
start_nara --mqtt-url "mqtt://127.0.0.1:$BROKER_PORT" --plaza-announce-jitter 0s
sleep 0.5
broker_flood=$(taskset -c 1 cargo run --quiet --release --example plaza_flood -- \
	"mqtt://127.0.0.1:$BROKER_PORT" "http://127.0.0.1:$NARA_PORT" 20000) || {
	say "the flood through mosquitto failed; the broker's log:"
	cat "$WORK/mosquitto.log" >&2
	exit 1
}
stop_servers
kill "$BROKER_PID" 2>/dev/null || true
wait "$BROKER_PID" 2>/dev/null || true
BROKER_PID=

say "streams: the event-stream attack, the binary before the stream bounds and this one"
streams=$(bench/streams.sh)

say "fleet metrics: /metrics/peers and /metrics at 10,000 naras"
peer_metrics=$(bench/peer_metrics.sh)

say "fleet: 200 naras on one mosquitto, the binary before the fleet-scale work and this one; then 1,000 simulated with 16 real observers"
fleet=$(bench/fleet.sh)

say "rollout: how soon nara rollout wait sees the threshold reached"
rollout=$(bench/rollout.sh)

say "soak: ten minutes of brief link cuts under 50 naras, every MISSING false"
# It exits 1 when it saw a false MISSING: the report marks that target missed.
soak_cuts=$(python3 bench/fleet_soak.py "$BIN") || [ -n "$soak_cuts" ]

size_bytes=$(stat -c %s "$BIN")
python3 bench/report.py "$WORK/http.jsonl" "$OUT" <<JSON
{"idle_kib": $idle_kib, "loaded_kib": $peak_kib, "startup_ms": $startup_ms, "binary_bytes": $size_bytes,
 "plaza": $plaza, "broker": $broker_flood, "streams": $streams, "peer_metrics": $peer_metrics, "fleet": $fleet, "rollout": $rollout, "soak_cuts": $soak_cuts,
 "idle_connections": {"nara": $nara_idle, "nginx": $nginx_idle}, "crowd_under_1024": $crowd_3000, "duration": "$DURATION", "rounds": $ROUNDS, "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"}
JSON
say "wrote $OUT/latest.md and $OUT/latest.json"
