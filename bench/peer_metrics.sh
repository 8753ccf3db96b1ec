#!/usr/bin/env bash
# make bench-peer-metrics (and the Fleet metrics section of make bench): /metrics/peers of the
# release binary with 10,000 naras in view, and /metrics beside it (bench/peer_metrics.py).
# Prints the results as JSON on stdout; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

make --no-print-directory build >/dev/null
cargo build --quiet --release --locked --example plaza_crowd
python3 bench/peer_metrics.py target/release/nara target/release/examples/plaza_crowd
