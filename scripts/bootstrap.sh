#!/usr/bin/env bash
# Installs what building and testing nara needs and the machine lacks: the tools of
# nix/commands.toml (its [tools] table says where each comes from) and the npm packages.
#
#   scripts/bootstrap.sh          everything `make test` uses: every tool the table can
#                                 install from Debian, crates.io or PyPI, and the npm
#                                 packages of the web build and the browser tests
#   scripts/bootstrap.sh build    only what `make build` and `make run` need: the tools
#                                 the table marks for `build` (Node.js, mdBook) and the
#                                 web build's npm packages
#
# Idempotent and quiet when everything is present; as root it installs, otherwise it
# names what is missing and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

scope=${1:-all}
case $scope in all | build) ;; *)
	printf 'bootstrap: unknown scope %q (all or build)\n' "$scope" >&2
	exit 2
	;;
esac

say() { printf 'bootstrap: %s\n' "$*" >&2; }

# tools SOURCE: the tools of the table this scope installs from SOURCE (debian, crate or
# pypi), one a line: the command that proves it is installed, the version it must print
# (- for any), nightly or -, the package, then its cargo install arguments. Nothing is
# built yet, so Python reads the table (tomllib, in Python 3.11 and later).
tools() {
	python3 - "$scope" "$1" <<'EOF'
import sys, tomllib
scope, source = sys.argv[1:]
with open("nix/commands.toml", "rb") as table:
    tools = tomllib.load(table)["tools"]
for tool in tools.values():
    if source in tool and (scope == "all" or "build" in tool.get("make", [])):
        needs = "nightly" if tool.get("nightly") else "-"
        print(tool["commands"][0], tool.get("version", "-"), needs, tool[source], *tool.get("cargo-args", []))
EOF
}

# has COMMAND VERSION: the command is there and, unless VERSION is -, says so in --version.
has() {
	command -v "$1" >/dev/null 2>&1 && { [ "$2" = - ] || "$1" --version 2>/dev/null | grep -qF -- "$2"; }
}

# shellcheck source=scripts/debian-packages.sh
source scripts/debian-packages.sh
debian=()
while read -r probe _ _ package; do debian+=("$probe:$package"); done < <(tools debian)
ensure_debian_packages bootstrap "${debian[@]}"

mapfile -t crates < <(tools crate)
for line in "${crates[@]}"; do
	read -r probe version needs package args <<<"$line"
	has "$probe" "$version" && continue
	# cargo-fuzz drives the nightly toolchain; without it `make fuzz-smoke` says so.
	if [ "$needs" = nightly ] && ! rustup run nightly rustc --version >/dev/null 2>&1; then continue; fi
	pinned=()
	[ "$version" = - ] || pinned=(--version "$version")
	say "installing $package ${version#-} from crates.io (minutes, once)"
	# shellcheck disable=SC2086 # args are the table's words, one each
	cargo install "$package" "${pinned[@]}" --locked $args
done

wanted=()
while read -r probe version _ package; do
	has "$probe" "$version" || wanted+=("$package==$version")
done < <(tools pypi)
if [ ${#wanted[@]} -gt 0 ]; then
	say "installing ${wanted[*]} from PyPI"
	python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${wanted[@]}"
	# Under pyenv, new console scripts reach PATH only through regenerated shims.
	if command -v pyenv >/dev/null; then pyenv rehash; fi
	hash -r
fi

if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
	say "installing the web build's npm packages (npm ci)"
	(cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

[ "$scope" = build ] && exit 0

if [ ! -f web/e2e/node_modules/.package-lock.json ] || [ web/e2e/package-lock.json -nt web/e2e/node_modules/.package-lock.json ]; then
	say "installing the browser tests' npm packages (npm ci)"
	(cd web/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
