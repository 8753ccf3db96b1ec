#!/usr/bin/env bash
# make bench-streams (and the Streams section of make bench): the event-stream attack
# against the binary before the stream bounds and this one, in one run. The "before"
# binary is built once from STREAMS_BEFORE_REV into target/bench-before/ (or given as
# STREAMS_BEFORE). Prints the results as JSON on stdout; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

REV=${STREAMS_BEFORE_REV:-7ed379a78a2195b9c8c9973d1c16cb59131acacc}
BEFORE=${STREAMS_BEFORE:-target/bench-before/$REV/nara}
say() { printf 'bench: %s\n' "$*" >&2; }

if [ ! -x "$BEFORE" ]; then
	say "streams: building the binary before the stream bounds ($REV) once, into target/bench-before/"
	bench/build-before.sh "$REV" "$BEFORE"
fi
make --no-print-directory build >/dev/null
cargo build --quiet --release --locked --example streams_attack
read -ra counts <<<"${STREAMS_CLIENTS:-300 1000}"
python3 bench/streams.py "$BEFORE" target/release/nara target/release/examples/streams_attack "${counts[@]}"
