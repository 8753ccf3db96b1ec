#!/usr/bin/env bash
# make ab OLD=BIN NEW=BIN: two nara binaries head to head, to see what a change costs.
# Both run side by side on core 0 with wrk on core 1; each row is ROUNDS rounds of 3 s
# that alternate which binary goes first, so a slow spell of a shared machine falls on
# both alike. Prints each run, then per row the medians, the median new/old ratio of
# requests/s (lowest and highest round in brackets) and each binary's CPU per request.
#
#   bench/ab.sh OLD NEW [ROUNDS]     AB_PATHS ("/healthz /") and AB_CONNS ("16 256")
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bench/ab.sh OLD_BIN NEW_BIN [ROUNDS]" >&2; exit 2; }
OLD=$1 NEW=$2 ROUNDS=${3:-6}
RUNS=$(mktemp)
PIDS=
trap 'kill $PIDS 2>/dev/null || true; rm -f "$RUNS"' EXIT

free_port() { python3 "$(dirname "$0")/loopback.py"; }
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
start() {
	local port
	port=$(free_port)
	taskset -c 0 "$1" --http-addr "127.0.0.1:$port" --log-level warn --name ab >/dev/null 2>&1 &
	PIDS+=" $!"
	echo "$! $port"
}
read -r OLD_PID OLD_PORT < <(start "$OLD")
read -r NEW_PID NEW_PORT < <(start "$NEW")
PIDS="$OLD_PID $NEW_PID"
sleep 1
for port in "$OLD_PORT" "$NEW_PORT"; do taskset -c 1 wrk -t1 -c16 -d1s "http://127.0.0.1:$port/healthz" >/dev/null; done

for path in ${AB_PATHS:-/healthz /}; do
	for conns in ${AB_CONNS:-16 256}; do
		for round in $(seq "$ROUNDS"); do
			order="old new"
			[ $((round % 2)) = 0 ] && order="new old"
			for who in $order; do
				if [ "$who" = old ]; then pid=$OLD_PID port=$OLD_PORT; else pid=$NEW_PID port=$NEW_PORT; fi
				before=$(ticks "$pid")
				out=$(taskset -c 1 wrk -t1 -c"$conns" -d3s "http://127.0.0.1:$port$path")
				after=$(ticks "$pid")
				rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
				requests=$(awk '/requests in/ {print $1}' <<<"$out")
				cpu_us=$(python3 -c "print(($after - $before) / $(getconf CLK_TCK) / $requests * 1e6)")
				echo "$path $conns $round $who $rps $cpu_us" | tee -a "$RUNS"
			done
		done
	done
done

python3 - "$RUNS" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(lambda: collections.defaultdict(dict))
for line in open(sys.argv[1]):
    path, conns, rnd, who, rps, cpu = line.split()
    rows[(path, int(conns))][int(rnd)][who] = (float(rps), float(cpu))
print("\npath conns: old req/s, new req/s, new/old (range), CPU per request old / new")
for (path, conns), rounds in rows.items():
    ratios = [r["new"][0] / r["old"][0] for r in rounds.values()]
    med = lambda who, i: statistics.median(r[who][i] for r in rounds.values())
    print(f"{path} {conns}: {med('old', 0):,.0f}, {med('new', 0):,.0f}, {statistics.median(ratios):.2f} "
          f"({min(ratios):.2f}-{max(ratios):.2f}), {med('old', 1):.2f} / {med('new', 1):.2f} us")
PY
