#!/usr/bin/env bash
# bench/build-before.sh REV DEST: nara's release binary as it was at the git revision
# REV, built once into DEST, for the sections of make bench that compare a "before" with
# this tree (bench/streams.sh, bench/fleet.sh). REV's web bundle is built with this tree's
# npm packages; the build shares target/bench-before/build, so a second revision builds
# only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=$1 dest=$2
[ -x "$dest" ] && exit 0
src=$(mktemp -d "${TMPDIR:-/tmp}/nara-before.XXXXXX")
trap 'rm -rf "$src"' EXIT
git archive "$rev" | tar -x -C "$src"
ln -s "$PWD/web/node_modules" "$src/web/node_modules"
(cd "$src" && node web/build.mjs >/dev/null)
CARGO_TARGET_DIR=$PWD/target/bench-before/build cargo build --quiet --release --locked \
	--manifest-path "$src/Cargo.toml" --bin nara
mkdir -p "$(dirname "$dest")"
cp target/bench-before/build/release/nara "$dest"
