#!/usr/bin/env bash
# make bench-fleet (and the Fleet section of make bench): a plaza of real naras on one
# mosquitto, measured for the binary before the fleet-scale work and for this tree's, one
# after the other in one run (bench/fleet.py says what and how). The "before" binary is
# built once from FLEET_BEFORE_REV into target/bench-before/ (or given as FLEET_BEFORE);
# FLEET_AFTER replaces this tree's release build. Then the after binary again, as the
# observers of FLEET_SIM_N (1,000; 0: none) members of one simulator process
# (examples/fleet_sim.rs, built in release here, or FLEET_SIM). FLEET_NARAS (200),
# FLEET_OBSERVERS (16) and FLEET_DEADLINE (150 s, how long faults are watched at most)
# shape the run, and FLEET_BROKER_CONF names a file of more mosquitto.conf lines (an ACL
# a protocol needs).
# Writes bench/results/fleet.md and fleet.json, prints the JSON on stdout; progress goes
# to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

REV=${FLEET_BEFORE_REV:-a9733ca973035416abbe3538382f269558d52bdb}
BEFORE=${FLEET_BEFORE:-target/bench-before/$REV/nara}
say() { printf 'bench: %s\n' "$*" >&2; }

if [ ! -x "$BEFORE" ]; then
	say "fleet: building the binary before the fleet-scale work ($REV) once, into target/bench-before/"
	bench/build-before.sh "$REV" "$BEFORE"
fi
if [ -z "${FLEET_AFTER:-}" ]; then
	make --no-print-directory build >/dev/null
fi
if [ -z "${FLEET_SIM:-}" ] && [ "${FLEET_SIM_N:-1000}" != 0 ]; then
	cargo build --quiet --release --locked --example fleet_sim
fi
args=(--naras "${FLEET_NARAS:-200}" --observers "${FLEET_OBSERVERS:-16}" --deadline "${FLEET_DEADLINE:-150}"
	--sim "${FLEET_SIM_N:-1000}")
[ -z "${FLEET_BROKER_CONF:-}" ] || args+=(--broker-conf "$FLEET_BROKER_CONF")
python3 bench/fleet.py "${args[@]}" "before=$BEFORE" "after=${FLEET_AFTER:-target/release/nara}"
