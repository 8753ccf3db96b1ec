#!/usr/bin/env bash
# make soak: builds the release binary, then runs bench/soak.py (see there). Python
# drives the churn because its subprocesses start nara without a shell in between.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory build >/dev/null
exec python3 bench/soak.py
