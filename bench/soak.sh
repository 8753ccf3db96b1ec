#!/usr/bin/env bash
# make soak: naras joining and leaving a real mosquitto for SOAK_SECONDS (default 600)
# while an observer nara watches; its resident memory is sampled every 5 s and must not
# grow past the warm-up level (+25 %, +2 MiB). A pool of 20 names churns: each round a
# few naras start, and a few stop (half with SIGTERM, so they say chau; half with
# SIGKILL, so they go MISSING). Writes bench/results/soak.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_TOTAL=${SOAK_SECONDS:-600}
BIN=target/release/nara
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nara-soak.XXXXXX")
declare -A RUNNING=()
MAIN_SHELL=$BASHPID
say() { printf 'soak: %s\n' "$*" >&2; }
cleanup() {
	# A forked child that takes a signal before it execs nara would run this trap too;
	# only the main shell may clean up.
	if [ "$BASHPID" != "$MAIN_SHELL" ]; then return; fi
	for pid in "${RUNNING[@]}" ${OBSERVER:-} ${BROKER:-}; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

make --no-print-directory build >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

BROKER_PORT=$(free_port)
printf 'persistence false\nuser root\nlog_dest none\nallow_anonymous true\nlistener %s 127.0.0.1\n' "$BROKER_PORT" >"$WORK/mosquitto.conf"
"$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$WORK/mosquitto.conf" &
BROKER=$!
sleep 0.5
URL="mqtt://127.0.0.1:$BROKER_PORT"
PLAZA=(--mqtt-url "$URL" --plaza-announce-jitter 0s --plaza-newspaper-interval 1s --plaza-missing-after 3s --log-level error)

OBSERVER_PORT=$(free_port)
"$BIN" --http-addr "127.0.0.1:$OBSERVER_PORT" --name observer "${PLAZA[@]}" &
OBSERVER=$!
sleep 1

start_one() {
	local name=$1
	"$BIN" --http-addr 127.0.0.1:0 --name "$name" "${PLAZA[@]}" &
	RUNNING[$name]=$!
}
stop_one() {
	local name=$1 signal=$2
	kill "-$signal" "${RUNNING[$name]}" 2>/dev/null || true
	wait "${RUNNING[$name]}" 2>/dev/null || true
	unset "RUNNING[$name]"
}

say "churning 20 names for $SECONDS_TOTAL s; observer on :$OBSERVER_PORT"
samples=()
began=$(date +%s)
round=0
next_sample=$began
while [ $(($(date +%s) - began)) -lt "$SECONDS_TOTAL" ]; do
	round=$((round + 1))
	for _ in 1 2 3; do
		name="soaker-$((RANDOM % 20))"
		if [ -n "${RUNNING[$name]:-}" ]; then
			if [ $((RANDOM % 2)) = 0 ]; then stop_one "$name" TERM; else stop_one "$name" KILL; fi
		else
			start_one "$name"
		fi
	done
	sleep 1
	if [ "$(date +%s)" -ge "$next_sample" ]; then
		kib=$(rss "$OBSERVER")
		samples+=("$kib")
		say "$(($(date +%s) - began)) s: observer ${kib} KiB, ${#RUNNING[@]} naras running, round $round"
		next_sample=$(($(date +%s) + 5))
	fi
done

curl -fs "http://127.0.0.1:$OBSERVER_PORT/healthz" >/dev/null || { say "the observer stopped answering"; exit 1; }
python3 - "${samples[@]}" <<'PY'
import sys
samples = [int(s) for s in sys.argv[1:]]
warm = samples[min(len(samples) - 1, max(1, len(samples) // 5))]
tail = samples[len(samples) // 2:]
limit = warm * 1.25 + 2048
peak = max(tail)
ok = peak <= limit
lines = [
    "# Plaza soak",
    "",
    f"{len(samples)} samples, 5 s apart; 20 names churning against one observer.",
    "",
    f"- observer memory after warm-up: {warm / 1024:.2f} MiB",
    f"- highest in the second half: {peak / 1024:.2f} MiB (limit {limit / 1024:.2f} MiB)",
    f"- result: {'no growth' if ok else 'GROWTH'}",
    "",
]
open("bench/results/soak.md", "w").write("\n".join(lines))
print("\n".join(lines))
sys.exit(0 if ok else 1)
PY
