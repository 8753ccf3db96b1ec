# nara: build, run and test. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CARGO ?= cargo
BIN ?= target/release/nara
ARGS ?=
BUNDLE := web/dist/.nara/manifest.json
# Everything the web bundle is built from (the roots in web/bundle-inputs.txt).
WEB_SOURCES := $(shell find $$(grep -v '^\#' web/bundle-inputs.txt) -type f 2>/dev/null)
SCRIPTS := checks/oracle.sh checks/oci-config.sh scripts/bootstrap.sh scripts/debian-packages.sh .ci/run bench/run.sh bench/soak.sh bench/ab.sh bench/streams.sh bench/peer_metrics.sh bench/fleet.sh bench/build-before.sh bench/rollout.sh
NIX_FILES := $(shell find . -name '*.nix' -not -path './target/*' -not -path '*/node_modules/*' -not -path './xtask/target/*' | sort)

K8S_RESOURCES := $(filter-out deploy/kubernetes/kustomization.yaml,$(wildcard deploy/kubernetes/*.yaml))

FUZZ_TARGETS := plaza_message http_request
FUZZ_SECONDS ?= 60

.PHONY: help bootstrap web web-unit alert-rules build run test lint unit twins e2e fuzz fuzz-smoke bench bench-streams bench-peer-metrics bench-fleet bench-rollout ab first-contact hooks-latency soak soak-cuts oracle nix-check deploy-check clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## Install what the build and tests need (nix/commands.toml's tools from Debian, crates.io and PyPI; npm ci)
	@scripts/bootstrap.sh

web: $(BUNDLE) ## Build the web bundle (SPA + book, precompressed) into web/dist

# On a fresh machine this installs what the web build needs first (Node.js, mdBook, the
# npm packages), so `make run` works without `make bootstrap`.
$(BUNDLE): $(WEB_SOURCES) web/package-lock.json
	@scripts/bootstrap.sh build
	node web/build.mjs

build: web ## Build the release binary at target/release/nara
	$(CARGO) build --release --locked

run: build ## Build and run nara on :8080 (pass flags with ARGS="--name x")
	target/release/nara $(ARGS)

# The checks' command lines live in nix/commands.toml, which the flake and its twins read
# too; `cargo xtask local` runs them here, printing each.
lint: web web-unit ## The flake's fmt, clippy -D warnings (with Cargo.toml's [lints]) and cargo doc commands here, shellcheck, the page's unit tests
	$(CARGO) xtask local fmt clippy doc
	$(CARGO) xtask local fmt clippy --manifest-path xtask/Cargo.toml
	$(CARGO) xtask local fmt --manifest-path fuzz/Cargo.toml
	@# The fuzz crate runs only with a nightly toolchain; here its lock file is kept current
	@# and its targets checked on stable, so a change to nara's types cannot break them unseen.
	$(CARGO) check --locked --manifest-path fuzz/Cargo.toml
	shellcheck $(SCRIPTS)

web-unit: ## The page's pure logic (versions, rollout, paging, throttling) under node --test, in milliseconds (checks.web-unit)
	$(CARGO) xtask local web-unit

alert-rules: ## The shipped Prometheus alert rules (deploy/prometheus/): promtool check rules, and promtool test rules firing and clearing each alert (checks.alert-rules)
	$(CARGO) xtask local alert-rules

nix-check: ## Offline checks of the Nix layer (parse, alejandra, deadnix, statix, flake.lock, lib eval)
	@for f in $(NIX_FILES); do nix-instantiate --parse "$$f" >/dev/null || { echo "nix-check: $$f does not parse"; exit 1; }; done
	@echo "nix-check: $(words $(NIX_FILES)) files parse"
	$(CARGO) xtask nix-fmt --check
	deadnix --fail $(NIX_FILES)
	@if command -v statix >/dev/null; then statix check --config statix.toml .; \
	else echo "nix-check: statix is not installed (it is on no registry this machine reaches); nix flake check runs it"; fi
	$(CARGO) test --locked --quiet --manifest-path xtask/Cargo.toml
	$(CARGO) xtask flake-lock
	@if [ -n "$${NIXPKGS_LIB:-}" ]; then $(CARGO) xtask nix-eval; \
	else echo "nix-check: NIXPKGS_LIB is unset, so the lib-only evaluation is skipped (see README)"; fi

unit: web ## Unit and integration tests (cargo nextest) in this checkout
	$(CARGO) xtask local nextest

twins: ## The flake's checks offline, each as Nix runs it: its file set, tools, profile, no network (TWINS= to pick)
	$(CARGO) xtask twin $(TWINS)

web/e2e/node_modules/.package-lock.json: web/e2e/package-lock.json
	cd web/e2e && npm ci --no-audit --no-fund --loglevel=error

e2e: web web/e2e/node_modules/.package-lock.json ## Browser tests: Chromium via playwright-core, real naras, an older release played by an example, and mosquitto
	$(CARGO) build --locked --bin nara --example plaza_old_release --example plaza_crowd
	cd web/e2e && NARA_BIN=$(CURDIR)/target/debug/nara node --test --test-concurrency=1
	@echo "e2e: screenshots in web/e2e/artifacts/ (cp web/e2e/artifacts/rollout-before.png docs/screenshot.png, from a committed tree, refreshes the README's)"

fuzz: web ## Fuzz the plaza decoder and the HTTP resolver, FUZZ_SECONDS (60) each (nightly, cargo-fuzz)
	@for target in $(FUZZ_TARGETS); do \
		echo "fuzz: $$target for $(FUZZ_SECONDS) s"; \
		out=$$($(CARGO) +nightly fuzz run $$target -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 2>&1) \
			|| { printf '%s\n' "$$out" | tail -n 40; exit 1; }; \
		printf '%s\n' "$$out" | grep -E "^(Done|stat::number_of_executed_units)|panicked|ERROR|SUMMARY"; \
	done

fuzz-smoke: ## A short fuzz run of each target (part of make test when the nightly toolchain is there)
	@if rustup run nightly rustc --version >/dev/null 2>&1; then $(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10; \
	else echo "fuzz-smoke: no nightly toolchain on this machine (cargo-fuzz needs it), so fuzzing is skipped"; fi

bench: web ## Benchmarks: nara vs nginx, start-up, memory, size, plaza, streams, fleet metrics, fleet, rollout gate, a soak of link cuts (writes bench/results/latest.md)
	bench/run.sh

bench-streams: web ## Only the Streams section: stalled /api/events clients at 10,000 naras, before and after (bench/results/streams.md)
	bench/streams.sh >/dev/null

bench-peer-metrics: web ## Only the Fleet metrics section: /metrics/peers and /metrics at 10,000 naras (bench/results/peer-metrics.md)
	bench/peer_metrics.sh >/dev/null

bench-fleet: web ## Only the Fleet section: 200 real naras, then 1,000 simulated, on one mosquitto: joins, crashes, cuts, restarts, before and after (bench/results/fleet.md)
	bench/fleet.sh >/dev/null

bench-rollout: web ## Only the Rollout section: how soon nara rollout wait sees the threshold, 10,000 naras in view (bench/results/rollout.md)
	bench/rollout.sh >/dev/null

ab: ## Two nara binaries head to head (make ab OLD=path/to/nara NEW=path/to/nara; AB_ROUNDS=6)
	bench/ab.sh $(OLD) $(NEW) $${AB_ROUNDS:-6}

first-contact: build ## How long a joining nara takes to see the plaza (FIRST_CONTACT_BINS, default the release build)
	python3 bench/first_contact.py $${FIRST_CONTACT_BINS:-$(BIN)}

hooks-latency: build ## How soon after a killed nara's confirmed MISSING its observer's event hook starts (HOOKS_BIN, default the release build)
	python3 bench/hooks.py $${HOOKS_BIN:-$(BIN)}

soak: ## Plaza soak: naras joining and leaving for SOAK_SECONDS (600), memory must not grow
	bench/soak.sh

soak-cuts: build ## Soak of brief link cuts: SOAK_NARAS (50) real naras, a cut a second healing within 1.5 s, for SOAK_SECONDS (600); no false MISSING (bench/results/soak-cuts.md)
	python3 bench/fleet_soak.py --naras $${SOAK_NARAS:-50} --seconds $${SOAK_SECONDS:-600} $(BIN)

oracle: ## Run the test oracle against BIN (default target/release/nara)
	checks/oracle.sh $(BIN)

deploy-check: web ## Deployments agree (port, probes, grace) and validate: Fly, nixpacks, Kubernetes, CI, systemd
	$(CARGO) build --locked
	$(CARGO) xtask deploy-check target/debug/nara
	$(CARGO) xtask unit-score
	kubernetes-validate --strict $(K8S_RESOURCES)
	kubernetes-validate --strict --kubernetes-version 1.30.0 $(K8S_RESOURCES)
	actionlint .github/workflows/*.yml

# The flake's checks run last, as their twins: the tests run there, on the file set and
# with the tools `nix flake check` gives them, against the bundle built the Nix way.
test: bootstrap lint alert-rules nix-check deploy-check ## Everything: bootstrap, lint, the alert rules, Nix and deploy checks, browser tests, fuzzing, then the flake's checks as twins
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory fuzz-smoke
	$(CARGO) xtask twin

clean: ## Remove build outputs (target/, web/dist)
	$(CARGO) clean
	rm -rf web/dist web/dist.partial
