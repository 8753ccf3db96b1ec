#!/usr/bin/env bash
# make bench-rollout (and the Rollout section of make bench): how soon `nara rollout
# wait` sees a threshold reached, with 10,000 naras in view. Prints the result as JSON on
# stdout and writes bench/results/rollout.md; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

make --no-print-directory build >/dev/null
cargo build --quiet --release --locked --example rollout_reaction
python3 bench/rollout.py target/release/nara target/release/examples/rollout_reaction "${ROLLOUT_TRIALS:-20}"
